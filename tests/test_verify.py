"""`python -m pass_tfds verify`: a copied build checked shard by shard against its shards.json."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from pass_tfds import testing

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _verify(data_dir: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, "-m", "pass_tfds", "verify", "--data_dir", data_dir],
                        capture_output=True, text=True, cwd=REPO, timeout=300, check=False, env=env)


@pytest.fixture(scope="module")
def build(small_sample, tmp_path_factory) -> str:
  data_dir = str(tmp_path_factory.mktemp("verify") / "data")
  subprocess.run(
      [sys.executable, os.path.join(REPO, "beam_runner.py"), "--data_dir", data_dir, "--manual_dir",
       small_sample, "--checksums", os.path.join(small_sample, testing.CHECKSUMS_FILE),
       "--direct_running_mode=in_memory"],
      capture_output=True, text=True, cwd=REPO, timeout=600, check=True)
  return data_dir


def _shards(data_dir: str) -> list[str]:
  return sorted(glob.glob(os.path.join(data_dir, "pass_dataset", "full", "*", "*.tfrecord-*")))


def test_a_whole_copy_verifies(build, tmp_path):
  copy = str(tmp_path / "copy")
  shutil.copytree(build, copy)
  result = _verify(copy)
  assert result.returncode == 0, result.stderr
  assert result.stderr == ""
  assert f"{len(_shards(copy))} shards of " in result.stdout and len(_shards(copy)) > 3


def test_each_bad_shard_is_one_line_naming_it(build, tmp_path):
  copy = str(tmp_path / "copy")
  shutil.copytree(build, copy)
  flipped, truncated, removed = _shards(copy)[:3]
  with open(flipped, "r+b") as f:
    f.seek(100)
    byte = f.read(1)
    f.seek(100)
    f.write(bytes([byte[0] ^ 0x01]))
  with open(truncated, "r+b") as f:
    f.truncate(os.path.getsize(truncated) - 1)
  os.remove(removed)
  result = _verify(copy)
  assert result.returncode == 2
  lines = result.stderr.splitlines()
  assert len(lines) == 3, result.stderr
  assert flipped in lines[0] and "damaged" in lines[0] and "copy it again" in lines[0]
  assert truncated in lines[1] and "bytes" in lines[1]
  assert removed in lines[2] and "missing" in lines[2]


def test_the_sha256_listed_is_the_files_and_verify_checks_it(build, tmp_path):
  """shards.json's sha256 is each file's (hashlib over its bytes); a listed sha256 that is not fails verify.

  A change of bytes that keeps size and CRC32C cannot be made by flipping bits,
  so the manifest is what changes here: verify must read the sha256, not only list it.
  """
  copy = str(tmp_path / "copy")
  shutil.copytree(build, copy)
  (manifest_path,) = glob.glob(os.path.join(copy, "pass_dataset", "full", "*", "shards.json"))
  with open(manifest_path, encoding="utf-8") as f:
    manifest = json.load(f)
  folder = os.path.dirname(manifest_path)
  for shard in manifest["shards"]:
    with open(os.path.join(folder, shard["name"]), "rb") as f:
      assert shard["sha256"] == hashlib.sha256(f.read()).hexdigest()
  wrong = manifest["shards"][1]
  wrong["sha256"] = hashlib.sha256(b"other bytes").hexdigest()
  with open(manifest_path, "w", encoding="utf-8") as f:
    json.dump(manifest, f)
  result = _verify(copy)
  assert result.returncode == 2
  shard_line, croissant_line = result.stderr.splitlines()
  assert wrong["name"] in shard_line and "sha256" in shard_line and "damaged" in shard_line
  assert "croissant.json does not list the shards of shards.json" in croissant_line  # It still lists the file's.


def test_a_folder_without_a_manifest_is_refused(tmp_path):
  os.makedirs(tmp_path / "data" / "pass_dataset" / "full" / "3.0.0")
  result = _verify(str(tmp_path / "data"))
  assert result.returncode == 2
  (line,) = result.stderr.splitlines()
  assert "shards.json" in line and line.startswith("error: ")


def test_a_build_on_gcs_is_verified_where_it_lies(build, gcs):
  """Through Beam's GCS filesystem, against the emulator: a whole copy, then one damaged shard."""
  prefix = gcs.new_prefix("verify")
  gcs.upload_dir(build, prefix)
  whole = _verify(prefix, env=gcs.env())
  assert whole.returncode == 0, whole.stderr
  assert f"{len(_shards(build))} shards of {prefix}/pass_dataset/full/" in whole.stdout
  first = _shards(build)[0]
  with open(first, "rb") as f:
    data = bytearray(f.read())
  data[100] ^= 0x01
  damaged = f"{prefix}/{os.path.relpath(first, build)}"
  gcs.upload_bytes(bytes(data), damaged)
  result = _verify(prefix, env=gcs.env())
  assert result.returncode == 2
  (line,) = result.stderr.splitlines()
  assert damaged in line and "damaged" in line
