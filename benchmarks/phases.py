"""Where a build's fixed time goes: runs beam_runner.py in this process and stamps its phases.

    python benchmarks/phases.py --data_dir /tmp/d --manual_dir CORPUS --checksums CORPUS/checksums.tsv

Prints, in seconds from the start of this process: the launcher's imports, the
start of TFDS's download_and_prepare, the start of the Beam pipeline, each
bundle the DirectRunner runs (the first one includes the workers' start and
the CSV lookup), the workers' shutdown, and the end. It wraps a few methods of
Beam's FnApiRunner to see them, so it is a diagnostic for this Beam version,
not part of the build.
"""

from __future__ import annotations

import functools
import os
import runpy
import sys
import time

_T0 = time.perf_counter()
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def stamp(label: str) -> None:
  print(f"[{time.perf_counter() - _T0:6.2f}] {label}", file=sys.__stdout__, flush=True)


def _wrap(cls: type, name: str) -> None:
  original = getattr(cls, name)

  @functools.wraps(original)
  def wrapper(*args, **kwargs):
    stamp(f"{cls.__name__}.{name} start")
    try:
      return original(*args, **kwargs)
    finally:
      stamp(f"{cls.__name__}.{name} end")

  setattr(cls, name, wrapper)


def main() -> None:
  stamp("python started")
  import apache_beam  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
  stamp("apache_beam imported")
  from apache_beam.runners.portability.fn_api_runner import fn_runner, worker_handlers  # pylint: disable=import-outside-toplevel
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  stamp("tensorflow_datasets imported")
  _wrap(tfds.core.DatasetBuilder, "download_and_prepare")
  _wrap(fn_runner.FnApiRunner, "run_pipeline")
  _wrap(fn_runner.FnApiRunner, "_run_bundle")
  _wrap(worker_handlers.SubprocessSdkWorkerHandler, "stop_worker")
  sys.argv = [os.path.join(REPO, "beam_runner.py")] + sys.argv[1:]
  try:
    runpy.run_path(sys.argv[0], run_name="__main__")
  finally:
    stamp("end")


if __name__ == "__main__":
  main()
