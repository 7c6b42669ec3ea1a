"""Runs `beam_runner.py` (as `__main__`, with its arguments) offline and saves what a
Dataflow job would ship to its workers (a test helper: tests/test_dataflow_staging.py):

* `$STAGED_DIR/`: a copy of each package Beam's stager builds from `--setup_file`
  (`python -m build --no-isolation --sdist`), i.e. what becomes workflow.tar.gz;
* `$JOB_OUT`: the translated pipeline proto (what workers unpickle their DoFns from), and
  `$JOB_OUT.json`: the pipeline's pickle library.

Every network connection is refused, so run it with `--dry_run=True`.
"""

import json
import os
import runpy
import shutil
import socket
import sys

_connect = socket.socket.connect


def _refuse(self, address, *args, **kwargs):
  if self.family == getattr(socket, "AF_UNIX", None):
    return _connect(self, address, *args, **kwargs)
  raise OSError(f"network disabled by the test: connect to {address!r}")


socket.socket.connect = _refuse
socket.socket.connect_ex = lambda self, address: _refuse(self, address)

from apache_beam.options.pipeline_options import SetupOptions  # noqa: E402
from apache_beam.runners.dataflow import dataflow_runner  # noqa: E402
from apache_beam.runners.portability import stager  # noqa: E402

_build_setup_package = stager.Stager._build_setup_package
_run_pipeline = dataflow_runner.DataflowRunner.run_pipeline


def build_setup_package(*args, **kwargs):
  path = _build_setup_package(*args, **kwargs)
  os.makedirs(os.environ["STAGED_DIR"], exist_ok=True)
  shutil.copy(path, os.environ["STAGED_DIR"])
  return path


def run_pipeline(self, pipeline, options):
  result = _run_pipeline(self, pipeline, options)
  with open(os.environ["JOB_OUT"], "wb") as out:
    out.write(result.job.proto_pipeline.SerializeToString())
  with open(os.environ["JOB_OUT"] + ".json", "w") as out:
    json.dump({"pickle_library": options.view_as(SetupOptions).pickle_library}, out)
  return result


stager.Stager._build_setup_package = staticmethod(build_setup_package)
dataflow_runner.DataflowRunner.run_pipeline = run_pipeline
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
