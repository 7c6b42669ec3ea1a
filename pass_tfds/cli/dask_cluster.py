"""The local Dask cluster a DaskRunner build starts when no cluster is named.

Beam's DaskRunner connects a `distributed.Client` to `--dask_client_address`
(or `--dask_scheduler_file`); without one it would start a default cluster of
threads it never closes. `beam_runner.py` starts a `distributed.LocalCluster`
of single-threaded worker processes instead (the DirectRunner's shape: one
process per worker, so Pillow and the tar reading run in parallel), hands its
address to the runner, and closes it, with the runner's client, when the build
ends, whichever way it ends.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Iterator


@contextlib.contextmanager
def local_cluster(workers: int) -> Iterator[str]:
  """A LocalCluster of `workers` worker processes on this machine; yields its scheduler's address."""
  from distributed import LocalCluster

  cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                         dashboard_address=None, silence_logs=logging.ERROR)
  try:
    yield cluster.scheduler_address
  finally:
    close_clients(cluster.scheduler_address)
    cluster.close()


def close_clients(address: str) -> None:
  """Closes this process's clients of the scheduler at `address` (the DaskRunner leaves its open)."""
  from distributed.client import _global_clients

  for client in list(_global_clients.values()):
    if client.scheduler is not None and client.scheduler.address == address:
      client.close()
