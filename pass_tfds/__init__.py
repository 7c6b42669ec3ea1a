"""PASS as a TensorFlow Datasets builder generated with Apache Beam.

`import pass_tfds` registers `pass_dataset`; the catalog's own `pass` builder
is left as it is.

Except in a Beam SDK worker process (`python -m
apache_beam.runners.worker.sdk_worker_main`: the DirectRunner's
multi_processing workers, Dataflow's workers). A worker imports this package
only because it unpickles the pipeline's functions from its modules, and none
of them needs TensorFlow Datasets or the builder: skipping the registration
there saves each worker TFDS's import. The names below still resolve there,
on first use.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from pass_tfds import beam_import

beam_import.import_beam()  # Before anything else imports Beam: see beam_import.py.

_WORKER_MAIN = "apache_beam.runners.worker.sdk_worker_main"
_PUBLIC = {"PassConfig": "pass_tfds.dataset.pass_dataset", "PassDataset": "pass_tfds.dataset.pass_dataset",
           "to_data_card": "pass_tfds.dataset.data_card"}


def _in_beam_worker() -> bool:
  """Whether this process is a Beam SDK worker (its main module is Beam's worker main)."""
  spec = getattr(sys.modules.get("__main__"), "__spec__", None)
  return getattr(spec, "name", None) == _WORKER_MAIN


if not _in_beam_worker():
  from pass_tfds.dataset.data_card import to_data_card
  from pass_tfds.dataset.pass_dataset import PassConfig, PassDataset  # Defining the class registers it.


def __getattr__(name: str) -> Any:
  if name in _PUBLIC:
    return getattr(importlib.import_module(_PUBLIC[name]), name)
  raise AttributeError(f"module 'pass_tfds' has no attribute {name!r}")


__all__ = ["PassConfig", "PassDataset", "to_data_card"]
