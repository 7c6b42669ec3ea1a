"""What a rerun keeps is what a clean build of today's sources writes, whatever the moment of the kill.

Real builds (`beam_runner.py`, DirectRunner with worker processes) SIGKILLed as
a process group at each stage: while pieces are written, while duplicates are
dropped, while shards are moved into TFDS's `incomplete.*` folder; then the
same command again, compared byte for byte with a clean build. And an archive
replaced between the kill and the rerun (same size, other bytes, new mtime).
"""

from __future__ import annotations

import glob
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time

import pytest

from pass_tfds import testing
from pass_tfds.pipeline import plan
from pass_tfds.testing import tar_files

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(REPO, "beam_runner.py")
IMAGES = 1000
COPIES = 3  # Per archive: images of the next archive again, so that duplicates are dropped.
FLAGS = ("--range_mb", "0.25")
TIMEOUT = 600


def _add_duplicates(corpus: str, manifest) -> None:
  """Appends to each archive `COPIES` images of the next one (the same bytes under the same hash)."""
  by_archive = {}
  for image_hash, info in sorted(manifest.images.items()):
    by_archive.setdefault(info["archive"], []).append(info["member"])
  archives = manifest.archives
  copies = {}
  for k, name in enumerate(archives):
    source = archives[(k + 1) % len(archives)]
    with tarfile.open(os.path.join(corpus, source)) as tar:
      copies[name] = [(member, tar.extractfile(member).read()) for member in by_archive[source][:COPIES]]
  for name, members in copies.items():
    with tarfile.open(os.path.join(corpus, name), "a", format=tarfile.GNU_FORMAT) as tar:
      for member, data in members:
        info = tarfile.TarInfo(f"copies/{member}")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
  tar_files.write_checksums(corpus, {
      name: tar_files.sha256_file(os.path.join(corpus, name))
      for name in os.listdir(corpus) if name.endswith((".tar", ".csv"))
  })


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> str:
  out = str(tmp_path_factory.mktemp("kill_corpus"))
  manifest = testing.write_sample(out, IMAGES, image_kb=20, seed=11, processes=1)
  _add_duplicates(out, manifest)
  return out


def _command(corpus: str, data_dir, *extra: str) -> list[str]:
  return [sys.executable, RUNNER, "--data_dir", str(data_dir), "--manual_dir", corpus,
          "--checksums", os.path.join(corpus, testing.CHECKSUMS_FILE), *FLAGS, *extra]


def _env() -> dict[str, str]:
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  env.pop("PASS_TFDS_CHECKSUMS", None)
  return env


def _build(corpus: str, data_dir, *extra: str) -> dict:
  result = subprocess.run(_command(corpus, data_dir, *extra), cwd=REPO, env=_env(), capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
  assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-3000:])
  with open(os.path.join(_version_dir(data_dir), "build_report.json"), encoding="utf-8") as f:
    return json.load(f)


def _config_dir(data_dir) -> str:
  return os.path.join(str(data_dir), "pass_dataset", "full")


def _version_dir(data_dir) -> str:
  return os.path.join(_config_dir(data_dir), "3.0.0")


def _work_dir(data_dir) -> str:
  return os.path.join(_config_dir(data_dir), "partial_3.0.0")


def _sidecars(data_dir) -> list[str]:
  """Sidecars of finished pieces (not of duplicate fixes)."""
  return [path for path in glob.glob(os.path.join(_work_dir(data_dir), "PASS.*.json"))
          if plan.PIECE_NAME.match(os.path.basename(path)[:-len(".json")])]


def _planned(data_dir) -> int:
  try:
    with open(os.path.join(_work_dir(data_dir), "plan.json"), encoding="utf-8") as f:
      return json.load(f)["pieces"]
  except (OSError, ValueError):
    return 0


def _half_the_pieces(data_dir) -> bool:
  planned = _planned(data_dir)
  return bool(planned) and len(_sidecars(data_dir)) >= planned // 2


def _a_duplicate_fix(data_dir) -> bool:
  return bool(glob.glob(os.path.join(_work_dir(data_dir), "*.without-duplicates-*.json")))


def _a_published_shard(data_dir) -> bool:
  return bool(glob.glob(os.path.join(_config_dir(data_dir), "incomplete.*", "*.tfrecord-*")))


STAGES = {"pieces": _half_the_pieces, "duplicate_fixes": _a_duplicate_fix, "publishing": _a_published_shard}


def _kill_when(corpus: str, data_dir, stage) -> None:
  """Runs the build and SIGKILLs its process group as soon as `stage(data_dir)` holds."""
  process = subprocess.Popen(_command(corpus, data_dir), cwd=REPO, env=_env(), start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  try:
    deadline = time.time() + TIMEOUT
    while time.time() < deadline and process.poll() is None and not stage(data_dir):
      time.sleep(0.005)
    if process.poll() is None:
      os.killpg(process.pid, signal.SIGSTOP)  # Frozen at once: nothing moves while we look.
    reached = stage(data_dir)
  finally:
    if process.poll() is None:
      os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
  assert process.returncode == -signal.SIGKILL, f"the build ended (exit {process.returncode}) before the kill"
  assert reached
  assert not os.path.exists(os.path.join(_version_dir(data_dir), "dataset_info.json"))


def _shards(data_dir) -> dict[str, bytes]:
  return {os.path.basename(path): open(path, "rb").read()
          for path in sorted(glob.glob(os.path.join(_version_dir(data_dir), "*.tfrecord-*")))}


def _descriptions(data_dir) -> dict[str, str]:
  """shards.json and croissant.json as published: names, sizes, CRC32C, sha256, records."""
  return {name: open(os.path.join(_version_dir(data_dir), name), encoding="utf-8").read()
          for name in ("shards.json", "croissant.json")}


@pytest.fixture(scope="module")
def clean(corpus, tmp_path_factory):
  data_dir = tmp_path_factory.mktemp("clean")
  report = _build(corpus, data_dir)
  assert report["skipped"] == {"duplicate_hash": 10 * COPIES} and report["written"] == IMAGES
  shards, descriptions = _shards(data_dir), _descriptions(data_dir)
  listed = {shard["name"]: shard["sha256"] for shard in json.loads(descriptions["shards.json"])["shards"]}
  assert listed == {name: hashlib.sha256(data).hexdigest() for name, data in shards.items()}
  return report, shards, descriptions


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_a_rerun_after_a_kill_publishes_the_clean_build_and_reuses_every_finished_piece(
    corpus, clean, tmp_path, stage):
  data_dir = tmp_path / "data"
  _kill_when(corpus, data_dir, STAGES[stage])
  finished = len(_sidecars(data_dir))
  report = _build(corpus, data_dir)
  clean_report, clean_shards, clean_descriptions = clean
  assert _shards(data_dir) == clean_shards  # Byte for byte, same names.
  # Reused pieces carry the sha256 their sidecars recorded: the manifests are the clean build's.
  assert _descriptions(data_dir) == clean_descriptions
  assert report["written"] == clean_report["written"] and report["reconciled"] is True
  assert report["reused_pieces"] >= finished
  if stage != "pieces":  # Every piece had finished: none is read or written again.
    assert report["reused_pieces"] == report["pieces"] == clean_report["pieces"]
  assert sorted(os.listdir(_config_dir(data_dir))) == ["3.0.0"]  # No incomplete.* or partial_* left.


def test_an_archive_replaced_between_the_kill_and_the_rerun_is_read_again(corpus, tmp_path):
  manual = str(tmp_path / "manual")
  shutil.copytree(corpus, manual)
  data_dir = tmp_path / "data"
  _kill_when(manual, data_dir, _a_duplicate_fix)  # Every piece finished, PASS.4.tar's included.
  path = os.path.join(manual, "PASS.4.tar")
  with tarfile.open(path) as tar:
    images = [info for info in tar if info.isfile()][::7]
  data = bytearray(open(path, "rb").read())
  for info in images:  # Same size, some image bytes differ (they still decode), a new mtime.
    data[info.offset_data + info.size // 2] ^= 0x5A
  with open(path, "wb") as f:
    f.write(bytes(data))
  os.utime(path, (time.time(), time.time() + 5))
  tar_files.write_checksums(manual, {
      name: tar_files.sha256_file(os.path.join(manual, name))
      for name in os.listdir(manual) if name.endswith((".tar", ".csv"))
  })
  report = _build(manual, data_dir)
  clean_dir = tmp_path / "clean"
  clean_report = _build(manual, clean_dir)
  assert _shards(data_dir) == _shards(clean_dir)
  assert 0 < report["reused_pieces"] < report["pieces"] == clean_report["pieces"]


def test_overwrite_after_a_kill_starts_from_zero(corpus, clean, tmp_path):
  data_dir = tmp_path / "data"
  _kill_when(corpus, data_dir, _half_the_pieces)
  report = _build(corpus, data_dir, "--overwrite")
  assert report["reused_pieces"] == 0  # --overwrite: partial_<version>/ goes too.
  assert _shards(data_dir) == clean[1]
