"""`tfds.data_source` over a `--file_format array_record` build made into gs://, against the
GCS emulator, equal byte for byte to a local build of the same corpus.

Exercised for real: `beam_runner.py` writing the build into a gs:// data dir (shards, split
info and report through Beam's gs:// FileSystem); TFDS's `ArrayRecordDataSource`; and
array_record's own gs:// reader (riegeli's GCS file over google-cloud-cpp, which reaches the
emulator through `CLOUD_STORAGE_EMULATOR_ENDPOINT`), in this process and in Grain's worker
processes.

Routed: TFDS's metadata (dataset_info.json, features.json, and the `incomplete.*` folder the
build is written in and renamed from) goes through etils `epath`, which would use TensorFlow's
gs:// client, deaf to every emulator setting. `EPATH_USE_TF=false` (tests/gcs_emulator.py)
sends epath through gcsfs instead, to the same emulator. Nothing else is replaced.
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

import pass_tfds  # noqa: F401  (registers pass_dataset)
from pass_tfds import testing

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(REPO, "beam_runner.py")
GRAIN_READS = os.path.join(REPO, "tests", "grain_reads.py")
IMAGES = 300
RAW = tfds.decode.DeserializeMethod.RAW_BYTES


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
  out = str(tmp_path_factory.mktemp("data_source_corpus"))
  testing.write_sample(out, IMAGES, image_kb=8, seed=11, processes=1)
  return out


def _build(corpus: str, data_dir: str, env: dict[str, str]) -> None:
  result = subprocess.run(
      [sys.executable, RUNNER, "--manual_dir", corpus, "--data_dir", data_dir,
       "--checksums", os.path.join(corpus, "checksums.tsv"), "--file_format", "array_record",
       "--num_shards", "20"],
      capture_output=True, text=True, env=env, timeout=600, check=False,
  )
  assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def builds(corpus, gcs, tmp_path_factory):
  """(local data dir, gs:// data dir): the same corpus built twice by beam_runner.py."""
  local = str(tmp_path_factory.mktemp("data_source_local"))
  _build(corpus, local, gcs.env())
  remote = gcs.new_prefix("data_source")
  _build(corpus, remote, gcs.env())
  return local, remote


def _source(data_dir: str, **kwargs):
  return tfds.data_source("pass_dataset/full", split="train", data_dir=data_dir, **kwargs)


def test_the_build_on_gcs_is_array_record_shards_and_metadata_there(builds, gcs):
  _, remote = builds
  version_dir = f"{remote}/pass_dataset/full/3.0.0"
  names = [path[len(version_dir) + 1:] for path in gcs.list(version_dir + "/")]
  shards = [name for name in names if ".array_record-" in name]
  assert shards == [f"pass_dataset-train.array_record-{i:05d}-of-00020" for i in range(20)]
  assert "dataset_info.json" in names and "build_report.json" in names


def test_records_read_by_index_from_gcs_equal_the_local_build(builds):
  local, remote = builds
  from_gcs, from_disk = _source(remote, deserialize_method=RAW), _source(local, deserialize_method=RAW)
  assert len(from_gcs) == len(from_disk) == IMAGES
  order = list(range(IMAGES))
  random.Random(3).shuffle(order)
  for index in order:  # Random access, every record, byte for byte.
    assert from_gcs[index] == from_disk[index], index
  batch = order[:40]
  assert list(from_gcs.__getitems__(batch)) == [from_disk[i] for i in batch]


def test_decoded_examples_from_gcs_equal_the_local_build(builds):
  local, remote = builds
  from_gcs, from_disk = _source(remote), _source(local)
  for index in (0, IMAGES // 2, IMAGES - 1):
    a, b = from_gcs[index], from_disk[index]
    assert a.keys() == b.keys()
    for key in a:
      np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_grain_workers_read_the_gcs_build(builds, gcs):
  """Grain pickles the source into worker processes; each opens the gs:// shards itself."""
  local, remote = builds
  result = subprocess.run(
      [sys.executable, GRAIN_READS, "--data_dir", remote, "--workers", "2", "--count", "60"],
      capture_output=True, text=True, env=gcs.env(), timeout=600, check=False,
  )
  assert result.returncode == 0, result.stderr[-3000:]
  lines = [line.split() for line in result.stdout.splitlines()]
  assert len(lines) == 60
  from_disk = _source(local, deserialize_method=RAW)
  for key, digest in lines:
    assert digest == hashlib.sha256(from_disk[int(key)]).hexdigest(), key
