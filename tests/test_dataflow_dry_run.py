"""`beam_runner.py --runner=DataflowRunner --dry_run=True`: the whole build translated
into a Dataflow job, offline.

Each run goes through a small driver that (1) refuses every network connection
(and logs the attempt), and (2) wraps `DataflowRunner.run_pipeline` to save the
translated pipeline's transform names and environments, since Beam returns
from a dry run before it would write `--dataflow_job_file`. The driver then
runs `beam_runner.py` as `__main__`, exactly as `python beam_runner.py ...`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from pass_tfds import testing
from pass_tfds.dataset import sources

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEAM_RUNNER = os.path.join(REPO, "beam_runner.py")
DATAFLOW_FLAGS = (
    "--runner=DataflowRunner",
    "--project=pass-tfds-test",
    "--region=europe-west4",
    "--temp_location=gs://pass-tfds-test/tmp",
    "--dry_run=True",
)
# A user who built a worker image with pass_tfds installed passes it instead of
# letting the CLI stage the package (a legitimate Dataflow flag).
PREBUILT_IMAGE = "--sdk_container_image=europe-docker.pkg.dev/pass-tfds-test/beam/pass-tfds:3.0.0"
OUR_STEPS = (
    "BuildTrain/MetadataFile",
    "BuildTrain/BuildMetadataLookup",
    "BuildTrain/ListPieces",
    "BuildTrain/SpreadPieces",
    "BuildTrain/WritePieces",
    "BuildTrain/CollectPieces",
    "BuildTrain/FindDuplicates",
    "BuildTrain/SpreadDuplicates",
    "BuildTrain/DropDuplicates",
    "BuildTrain/Finalize",
)

DRIVER = textwrap.dedent('''
    import json, os, runpy, socket, sys

    _connect = socket.socket.connect

    def _guarded_connect(self, address, *args, **kwargs):
      if self.family == getattr(socket, "AF_UNIX", None):
        return _connect(self, address, *args, **kwargs)
      with open(os.environ["NETWORK_LOG"], "a") as log:
        log.write(repr(address) + "\\n")
      raise OSError(f"network disabled by the test: connect to {address!r}")

    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = lambda self, address: _guarded_connect(self, address)

    from apache_beam.runners.dataflow import dataflow_runner

    _run_pipeline = dataflow_runner.DataflowRunner.run_pipeline

    def run_pipeline(self, pipeline, options):
      result = _run_pipeline(self, pipeline, options)
      job = result.job
      components = job.proto_pipeline.components
      with open(os.environ["JOB_OUT"], "w") as out:
        json.dump({
            "transforms": sorted(t.unique_name for t in components.transforms.values()),
            "environments": {
                key: {
                    "payload": env.payload.decode("latin-1"),
                    "staged": [d.role_payload.decode("latin-1") for d in env.dependencies],
                }
                for key, env in components.environments.items()
            },
            "job": json.loads(job.json()),
        }, out)
      return result

    dataflow_runner.DataflowRunner.run_pipeline = run_pipeline
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
''')


@pytest.fixture(scope="module")
def manual_dir(small_sample):
  return small_sample


def dry_run(manual_dir, tmp_path, *extra):
  """Runs the dry run; returns (result, saved job or None, network attempts)."""
  driver = tmp_path / "driver.py"
  driver.write_text(DRIVER)
  job_out, network_log = tmp_path / "job.json", tmp_path / "network.log"
  data_dir = tmp_path / "data"
  env = dict(
      os.environ, TF_CPP_MIN_LOG_LEVEL="3", JOB_OUT=str(job_out), NETWORK_LOG=str(network_log),
      NO_GCE_CHECK="True",
  )
  env.pop(sources.CHECKSUMS_ENV, None)
  args = [
      sys.executable, str(driver), BEAM_RUNNER,
      "--data_dir", str(data_dir), "--manual_dir", manual_dir,
      "--checksums", os.path.join(manual_dir, testing.CHECKSUMS_FILE),
      *DATAFLOW_FLAGS, *extra,
  ]
  result = subprocess.run(
      args, capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=120, check=False
  )
  job = json.loads(job_out.read_text()) if job_out.exists() else None
  attempts = network_log.read_text().splitlines() if network_log.exists() else []
  shards = [f for _, _, files in os.walk(data_dir) for f in files if "tfrecord" in f]
  assert not shards, shards
  # "nothing was submitted or written": no plan, no TFDS folders, no downloads, no lock.
  assert not data_dir.exists(), [os.path.join(r, f) for r, ds, fs in os.walk(data_dir) for f in ds + fs]
  return result, job, attempts


def assert_translated(result, job, attempts):
  assert not attempts, f"the dry run tried to reach the network: {attempts}"
  assert result.returncode == 0, (result.stdout, result.stderr[-5000:])
  assert "Dry run: the pipeline was translated into a job" in result.stdout
  assert "--runner=DataflowRunner" in result.stdout
  assert job is not None, "DataflowRunner.run_pipeline was never called"
  names = set(job["transforms"])
  for step in OUR_STEPS:
    assert step in names, f"{step} missing from the Dataflow pipeline: {sorted(names)}"
  assert job["job"]["type"] == "JOB_TYPE_BATCH"


def test_dry_run_with_a_prebuilt_worker_image(manual_dir, tmp_path):
  """The whole pipeline translates offline when the worker image carries the package."""
  result, job, attempts = dry_run(manual_dir, tmp_path, PREBUILT_IMAGE)
  assert_translated(result, job, attempts)
  assert "--setup_file" not in result.stdout  # The CLI respects the user's packaging flag.
  (environment,) = job["environments"].values()
  assert "pass-tfds:3.0.0" in environment["payload"]
  assert "workflow.tar.gz" not in " ".join(environment["staged"])


def test_dry_run_as_documented_stages_this_package(manual_dir, tmp_path):
  """The documented command: the CLI adds --setup_file=pyproject.toml, which Beam
  builds into an sdist (`python -m build --no-isolation --sdist`) with the
  environment's own setuptools, offline."""
  result, job, attempts = dry_run(manual_dir, tmp_path)
  assert f"--setup_file={os.path.join(REPO, 'pyproject.toml')}" in result.stdout
  assert "Failed to build package from" not in result.stderr, (
      "Beam could not build pyproject.toml into an sdist for the Dataflow workers:"
      + result.stderr[-3000:]
  )
  assert_translated(result, job, attempts)
  (environment,) = job["environments"].values()
  assert "workflow.tar.gz" in " ".join(environment["staged"])  # The pass_tfds sdist.
