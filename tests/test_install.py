"""The package installed as users install it: the wheel, no extras, a fresh virtual env.

Builds the wheel, installs it into a new `python -m venv` (about 5.5 minutes in all
with pip's cache warm, 1.5 of them installing; a cold cache adds a few minutes of
downloads), generates a small sample
with `pass-tfds-sample`, builds it with `pass-tfds-build` and reads it with
`tfds.load`. Then installs the `jax` extra there, builds an ArrayRecord copy with
`beam_runner.py` and runs `examples/jax_grain.py` on it. The checkout is never on
the fresh env's path. Without the `gcp` extra Beam has no BigQuery or GCS client
libraries, which changes what its import logs: each build's stdout and stderr are
checked line by line against what the README shows. The env is the session's `fresh_env`
(conftest.py, tests/fresh_venv.py), shared with tests/test_dataflow_staging.py.
"""

from __future__ import annotations

import os
import re
import subprocess

from fresh_venv import INSTALL_TIMEOUT, run

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_IMAGES = 200  # Batches of 64 for the Grain example.


# A build's whole terminal output (README, "Resume, progress"): TFDS's two lines, progress,
# the summary. Nothing on stderr.
_BUILD_LINES = (
    r"Building pass_dataset/\w+ with Beam flags: --\S.*",
    r"Downloading and preparing dataset .* to \S+\.\.\.",
    r"\[ *[\dhms]+\] shards [\d,]+/[\d,]+ \(\d+%\)(, [\d,]+ reused)?; [\d,]+ images"
    r"(; [\d,]+ images/s, [\d,.]+ MB/s(, ETA [\dhms]+)?)?",
    r"Dataset pass_dataset downloaded and prepared to \S+\. Subsequent calls will reuse this data\.",
)
_SUMMARY_LINES = (
    r"Built pass_dataset/\w+ \((tfrecord|array_record)\) in [\d,.]+ s -> \S+",
    r"  archives: PASS\.\d\.tar(, PASS\.\d\.tar)*",
    r"  images written: [\d,]+ in \d+ shards.*",
    r"  archive members: [\d,]+; skipped: .*",
    r"  metadata rows: .*",
    r"  images without metadata: .*",
    r"  members \(\d+\) == written \(\d+\) \+ sum\(skipped\) \(\d+\): reconciled",
    r"  report: \S+/build_report\.json",
)


def assert_progress_and_summary_only(result: subprocess.CompletedProcess) -> None:
  """stdout holds only _BUILD_LINES, then the summary; stderr is empty."""
  assert result.stderr == "", result.stderr[-3000:]
  lines = result.stdout.splitlines()
  body, summary = lines[:-len(_SUMMARY_LINES)], lines[-len(_SUMMARY_LINES):]
  for line in body:
    assert any(re.fullmatch(pattern, line) for pattern in _BUILD_LINES), (line, result.stdout)
  for pattern, line in zip(_SUMMARY_LINES, summary):
    assert re.fullmatch(pattern, line), (pattern, line, result.stdout)
  assert body[0].startswith("Building ") and body[-1].startswith("Dataset "), result.stdout


def test_build_and_load_without_extras(fresh_env):
  python, bin_dir, _, work = fresh_env
  present = run([python, "-c", (
      "import importlib.util\n"
      "def found(name):\n"
      "  try:\n"
      "    return importlib.util.find_spec(name) is not None\n"
      "  except ModuleNotFoundError:  # Its parent package is missing too.\n"
      "    return False\n"
      "print(*[name for name in ('apitools', 'google.cloud.storage') if found(name)])\n"
  )], work)
  assert present.stdout.split() == [], "the gcp extra's libraries are in the base install"
  run([bin_dir / "pass-tfds-sample", "--out", "sample", "--num_images", NUM_IMAGES,
       "--image_kb", 4, "--processes", 1], work)
  built = run([bin_dir / "pass-tfds-build", "--data_dir", "data", "--manual_dir", "sample",
               "--checksums", "sample/checksums.tsv"], work)
  assert f"images written: {NUM_IMAGES:,}" in built.stdout, built.stdout
  assert_progress_and_summary_only(built)
  loaded = run([python, "-c", (
      "import pass_tfds, tensorflow_datasets as tfds\n"
      "assert 'site-packages' in pass_tfds.__file__, pass_tfds.__file__\n"
      "print(sum(1 for _ in tfds.load('pass_dataset', data_dir='data', split='train')))\n"
  )], work)
  assert loaded.stdout.split()[-1] == str(NUM_IMAGES)
  pictured = run([bin_dir / "pass-tfds-report", "--data_dir", "data", "--out", "pictures"], work)
  assert pictured.stderr == "", pictured.stderr[-3000:]
  first, *paths = pictured.stdout.splitlines()
  assert re.fullmatch(rf"{NUM_IMAGES} of {NUM_IMAGES} examples read; GPS known for [\d.]+%,"
                      r" 0 without a date\.", first), pictured.stdout
  assert paths == [f"{name}: pictures/{name}.png"
                   for name in ("examples", "resolutions", "dates", "gps")], pictured.stdout
  run([bin_dir / "tfds", "build", "--help"], work)  # The `tfds` command starts.


def test_jax_extra_runs_the_grain_example(fresh_env):
  python, _, wheel, work = fresh_env
  run([python, "-m", "pip", "install", "--quiet", "--no-compile",
       f"pass_tfds[jax] @ {wheel.as_uri()}"], work,
      INSTALL_TIMEOUT)
  if not (work / "sample").exists():
    run([python, "-m", "pass_tfds.testing", "--out", "sample", "--num_images", NUM_IMAGES,
         "--image_kb", 4, "--processes", 1], work)
  built = run([python, "beam_runner.py", "--data_dir", "data_ar", "--manual_dir", "sample",
               "--checksums", "sample/checksums.tsv", "--file_format", "array_record"], work)
  assert_progress_and_summary_only(built)
  result = run([python, os.path.join(REPO, "examples", "jax_grain.py"), "--data_dir", "data_ar"],
               work)
  # Each of the example's two Grain workers drops its last partial batch.
  assert re.search(rf"^[1-3] batches of \(64, 224, 224, 3\) float32 from {NUM_IMAGES} examples$",
                   result.stdout, re.MULTILINE), result.stdout
  # Grain's batches live in shared memory: all freed before the program exits.
  assert "leaked shared_memory" not in result.stderr, result.stderr[-3000:]
