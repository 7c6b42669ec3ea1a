"""The package installed as users install it: the wheel, no extras, a fresh virtual env.

Builds the wheel, installs it into a new `python -m venv` (about 5.5 minutes in all
with pip's cache warm, 1.5 of them installing; a cold cache adds a few minutes of
downloads), generates a small sample
with `pass-tfds-sample`, builds it with `beam_runner.py` and reads it with
`tfds.load`. Then installs the `jax` extra there and runs `examples/jax_grain.py`
on a small ArrayRecord build. The checkout is never on the fresh env's path. The env is
the session's `fresh_env` (conftest.py, tests/fresh_venv.py), shared with
tests/test_dataflow_staging.py.
"""

from __future__ import annotations

import os
import re

from fresh_venv import INSTALL_TIMEOUT, run

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_IMAGES = 200  # Batches of 64 for the Grain example.


def test_build_and_load_without_extras(fresh_env):
  python, bin_dir, _, work = fresh_env
  run([bin_dir / "pass-tfds-sample", "--out", "sample", "--num_images", NUM_IMAGES,
       "--image_kb", 4, "--processes", 1], work)
  built = run([python, "beam_runner.py", "--data_dir", "data", "--manual_dir", "sample",
               "--checksums", "sample/checksums.tsv"], work)
  assert f"images written: {NUM_IMAGES:,}" in built.stdout, built.stdout
  assert not [line for line in built.stderr.splitlines() if line.strip() and "INFO" not in line], (
      built.stderr[-3000:])  # No warning, error or traceback.
  loaded = run([python, "-c", (
      "import pass_tfds, tensorflow_datasets as tfds\n"
      "assert 'site-packages' in pass_tfds.__file__, pass_tfds.__file__\n"
      "print(sum(1 for _ in tfds.load('pass_dataset', data_dir='data', split='train')))\n"
  )], work)
  assert loaded.stdout.split()[-1] == str(NUM_IMAGES)
  run([bin_dir / "tfds", "build", "--help"], work)  # The `tfds` command starts.


def test_jax_extra_runs_the_grain_example(fresh_env):
  python, _, wheel, work = fresh_env
  run([python, "-m", "pip", "install", "--quiet", "--no-compile",
       f"pass_tfds[jax] @ {wheel.as_uri()}"], work,
      INSTALL_TIMEOUT)
  if not (work / "sample").exists():
    run([python, "-m", "pass_tfds.testing", "--out", "sample", "--num_images", NUM_IMAGES,
         "--image_kb", 4, "--processes", 1], work)
  run([python, "beam_runner.py", "--data_dir", "data_ar", "--manual_dir", "sample", "--checksums",
       "sample/checksums.tsv", "--file_format", "array_record"], work)
  result = run([python, os.path.join(REPO, "examples", "jax_grain.py"), "--data_dir", "data_ar"],
               work)
  # Each of the example's two Grain workers drops its last partial batch.
  assert re.search(rf"^[1-3] batches of \(64, 224, 224, 3\) float32 from {NUM_IMAGES} examples$",
                   result.stdout, re.MULTILINE), result.stdout
