"""Which Dask worker process wrote which piece: read from the workers' own log records.

`WritePieceFn` logs "Wrote piece NAME" (or "Reused piece NAME") where it runs.
`install` (run on every worker with `client.run`) adds a handler that appends
those records, with the worker's process id, to one file per test; `read` says
which process wrote or reused each piece.
"""

from __future__ import annotations

import collections
import logging
import os

_LOGGER = "pass_tfds.pipeline.transforms"
_MARK = "_pass_tfds_piece_log"


def install(path: str) -> int:
  """Runs on a worker: from now on its piece records go to `path` (and nowhere before). Its pid."""
  logger = logging.getLogger(_LOGGER)
  for handler in [h for h in logger.handlers if getattr(h, _MARK, False)]:
    logger.removeHandler(handler)
    handler.close()
  handler = logging.FileHandler(path)
  setattr(handler, _MARK, True)
  handler.setFormatter(logging.Formatter("%(process)d %(message)s"))
  logger.addHandler(handler)
  logger.setLevel(logging.INFO)
  return os.getpid()


def read(path: str) -> dict[str, list[tuple[int, str]]]:
  """{piece name: [(worker pid, "Wrote" or "Reused"), ...]} from the records in `path`."""
  found = collections.defaultdict(list)
  if not os.path.exists(path):
    return found
  with open(path, encoding="utf-8") as f:
    for line in f:
      pid, verb, what, name, *_ = line.split()
      if what == "piece":
        found[name.rstrip(":")].append((int(pid), verb))
  return found
