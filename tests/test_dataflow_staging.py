"""What `beam_runner.py` stages for Dataflow workers, installed alone into a fresh venv,
imports everything a worker imports (the classic `ModuleNotFoundError` on workers).

The documented Dataflow command runs as a dry run (offline; tests/dataflow_job_capture.py):
Beam's own stager builds the package from `--setup_file=pyproject.toml`
(`python -m build --no-isolation --sdist`, as for the workflow.tar.gz it would upload),
and the translated pipeline is saved. The sdist is then pip-installed with `--no-deps` into
a folder used by the session's fresh venv (tests/fresh_venv.py: the wheel's declared
dependencies, from the registry, no checkout on the path), as a worker's `pip install
workflow.tar.gz` would install it over its image; there tests/worker_imports.py unpickles
every DoFn, CombineFn, coder and windowing strategy of the pipeline, as an SDK worker does,
and imports what the pass_tfds modules so loaded import inside their functions.

The venv may also hold the `jax` extra (tests/test_install.py adds it): extras only add
packages, and the pipeline's modules import none of them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from pass_tfds import testing
from pass_tfds.dataset import sources

import fresh_venv

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.join(REPO, "tests")
DATAFLOW_FLAGS = (
    "--runner=DataflowRunner", "--project=pass-tfds-test", "--region=europe-west4",
    "--temp_location=gs://pass-tfds-test/tmp", "--dry_run=True",
)


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
  """(the sdist Beam built for the workers, the translated pipeline, its pickle library)."""
  work = tmp_path_factory.mktemp("staging")
  manual_dir = str(work / "manual")
  testing.write_sample(manual_dir, 20, image_kb=4, processes=1)
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", NO_GCE_CHECK="True",
             STAGED_DIR=str(work / "staged"), JOB_OUT=str(work / "pipeline.pb"))
  env.pop(sources.CHECKSUMS_ENV, None)
  result = subprocess.run(
      [sys.executable, os.path.join(HERE, "dataflow_job_capture.py"), os.path.join(REPO, "beam_runner.py"),
       "--data_dir", str(work / "data"), "--manual_dir", manual_dir,
       "--checksums", os.path.join(manual_dir, testing.CHECKSUMS_FILE), *DATAFLOW_FLAGS],
      capture_output=True, text=True, env=env, cwd=str(work), timeout=300, check=False,
  )
  assert result.returncode == 0, result.stderr[-5000:]
  assert f"--setup_file={os.path.join(REPO, 'pyproject.toml')}" in result.stdout
  (sdist,) = (work / "staged").glob("pass_tfds-*.tar.gz")
  options = json.loads((work / "pipeline.pb.json").read_text())
  return sdist, work / "pipeline.pb", options["pickle_library"]


def test_the_staged_package_alone_has_everything_a_worker_imports(staged, fresh_env, tmp_path):
  sdist, pipeline, pickle_library = staged
  target = tmp_path / "worker_site"
  fresh_venv.run([fresh_env.python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
                  "--target", target, sdist], tmp_path, fresh_venv.INSTALL_TIMEOUT)
  script = tmp_path / "worker_imports.py"  # Copied: the tests folder stays off the worker's path.
  shutil.copy(os.path.join(HERE, "worker_imports.py"), script)
  env = dict(fresh_venv.clean_env(), PYTHONPATH=str(target), TF_CPP_MIN_LOG_LEVEL="3")
  result = fresh_venv.run([fresh_env.python, script, pipeline, pickle_library, "pass_tfds"],
                          tmp_path, env=env)
  found = json.loads(result.stdout.splitlines()[-1])
  assert not found["failures"], "\n".join(found["failures"])
  assert found["package_file"].startswith(str(target)), found["package_file"]  # The staged copy.
  ours = [line for line in found["loaded"] if ": pass_tfds." in line]
  # The DoFns and FlatMap functions of ours (a beam.Map's function hides in a lambda).
  for step in ("BuildTrain/BuildMetadataLookup", "BuildTrain/WritePieces", "BuildTrain/FindDuplicates",
               "BuildTrain/DropDuplicates"):
    assert any(line.startswith(step) for line in ours), (step, found["loaded"])
  assert "pass_tfds.pipeline.transforms" in found["modules"]
  # The ArrayRecord writer is imported where a worker first writes a shard.
  assert "array_record.python" in found["function_level_imports"], found["function_level_imports"]
