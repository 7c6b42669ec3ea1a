"""What a build leaves behind outside its data dir, and what its Beam workers import.

* `$TMPDIR` after a build, good or failed: nothing but the console's log folder
  (the log file of a failed build, which its error message names).
* A Beam SDK worker process (multi_processing) unpickles the pipeline's
  functions from `pass_tfds` modules without importing TFDS or the builder
  (`tests/worker_probe` lists what each worker imported).
"""

from __future__ import annotations

import os
import subprocess
import sys

from pass_tfds import testing
from pass_tfds.cli.console import log_dir

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBE = os.path.join(REPO, "tests", "worker_probe")
LOG_FOLDER = os.path.basename(log_dir())


def _build(manual_dir, data_dir, temp_dir, probe_dir, *flags: str) -> subprocess.CompletedProcess:
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TMPDIR=str(temp_dir), PASS_TFDS_WORKER_PROBE=str(probe_dir))
  env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO, PROBE, env.get("PYTHONPATH")]))
  env.pop("PASS_TFDS_CHECKSUMS", None)
  command = [sys.executable, os.path.join(REPO, "beam_runner.py"), "--data_dir", str(data_dir),
             "--manual_dir", str(manual_dir), "--checksums", os.path.join(str(manual_dir), testing.CHECKSUMS_FILE),
             *flags]
  return subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=600)


def _left(temp_dir) -> dict[str, list[str]]:
  """Every entry of `temp_dir`, with the files each folder holds."""
  return {name: sorted(os.listdir(temp_dir / name)) if (temp_dir / name).is_dir() else []
          for name in os.listdir(temp_dir)}


def test_a_build_leaves_nothing_in_tmpdir_and_its_workers_import_no_tfds(tmp_path):
  corpus = tmp_path / "corpus"
  testing.write_sample(str(corpus), num_images=40, processes=1)
  for folder in ("tmp", "probe"):
    (tmp_path / folder).mkdir()
  # Beam's local default: a worker process per CPU, at least two here.
  result = _build(corpus, tmp_path / "data", tmp_path / "tmp", tmp_path / "probe", "--direct_num_workers=2")
  assert result.returncode == 0, result.stderr[-5000:]

  assert _left(tmp_path / "tmp") == {}  # The log of a good build is deleted, and its empty folder.
  workers = {name: (tmp_path / "probe" / name).read_text().split("\n") for name in os.listdir(tmp_path / "probe")}
  assert len(workers) == 2, workers.keys()
  for name, modules in workers.items():
    assert "pass_tfds.pipeline.transforms" in modules, name  # The probe saw the pipeline's functions unpickled.
    assert "tensorflow_datasets" not in modules and "pass_tfds.dataset.pass_dataset" not in modules, name
    assert "tensorflow" not in modules, name


def test_a_failed_build_leaves_only_its_log_in_tmpdir(quirk_corpus, tmp_path):
  corpus, _ = quirk_corpus
  for folder in ("tmp", "probe"):
    (tmp_path / folder).mkdir()
  # The quirk corpus holds unusable images: --strict fails the pipeline on the first.
  result = _build(corpus, tmp_path / "data", tmp_path / "tmp", tmp_path / "probe", "--strict",
                  "--allow_missing_metadata", "--direct_running_mode=in_memory")
  assert result.returncode == 2, result.stderr[-5000:]
  assert "error:" in result.stderr

  left = _left(tmp_path / "tmp")
  assert list(left) == [LOG_FOLDER] and len(left[LOG_FOLDER]) == 1, left
  assert left[LOG_FOLDER][0] in result.stderr  # The error names the log it leaves.
