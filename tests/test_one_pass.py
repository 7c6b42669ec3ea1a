"""A build reads each source byte once, front to back: counted through Beam's gs:// reader,
and for real from a GCS emulator.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import subprocess
import sys

import pytest

from pass_tfds import testing
from pass_tfds.cli import command as cli
from pass_tfds.pipeline import shard_files, transforms

import pipeline_parts
import read_counter

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(REPO, "beam_runner.py")
CHUNK = 16 << 10  # The counting reader's buffer: small next to a piece, as Beam's 16 MiB is next to 160 MiB.


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
  out = str(tmp_path_factory.mktemp("one_pass_corpus"))
  testing.write_sample(out, 1500, image_kb=8, seed=5, processes=1)
  return out


def _gcs_shard_path(prefix: str, index: int, total: int) -> str:
  return f"{prefix}/pass_dataset-train.tfrecord-{index:05d}-of-{total:05d}"


def _archives(corpus):
  return sorted(name for name in os.listdir(corpus) if name.endswith(".tar"))


def _shards(data_dir):
  folder = os.path.join(data_dir, "pass_dataset", "full", "3.0.0")
  return sorted(os.path.join(folder, name) for name in os.listdir(folder) if ".tfrecord-" in name)


def _records(data_dir):
  return [list(shard_files.read_records(path, shard_files.TFRECORD)) for path in _shards(data_dir)]


def test_sources_are_read_once_front_to_back(corpus, tmp_path):
  flags = ["--manual_dir", corpus, "--data_dir", str(tmp_path), "--checksums",
           os.path.join(corpus, "checksums.tsv"), "--direct_running_mode=in_memory", "--range_mb", "0.5"]
  with read_counter.count_reads(corpus, chunk_size=CHUNK) as reads:
    assert cli.main(flags, repo_dir=REPO) == 0
  archives = {name: os.path.getsize(os.path.join(corpus, name)) for name in _archives(corpus)}
  assert not reads.backward_seeks, reads.backward_seeks[:5]
  ratio = sum(reads.fetched(name) for name in archives) / sum(archives.values())
  assert 1.0 <= ratio <= 1.1, reads.summary()
  for name in archives:  # Two or more pieces per archive: boundaries are inside archives.
    assert reads.opens(name) >= 2
  csv_size = os.path.getsize(os.path.join(corpus, "pass_metadata.csv"))
  # The lookup step reads the CSV once; the launcher's checks before the pipeline read it
  # (header, encoding) at most once more.
  assert reads.fetched("pass_metadata.csv") <= 2 * csv_size + 2 * CHUNK, reads.summary()


def test_a_build_from_gcs_equals_a_build_from_local_disk(corpus, tmp_path, gcs):
  prefix = gcs.new_prefix("manual")
  gcs.upload_dir(corpus, prefix)
  # In-process: the source's place is what differs; worker processes reading gs:// are
  # test_gcs_emulator's, multi_processing against in_memory is test_build_end_to_end's.
  common = ["--checksums", os.path.join(corpus, "checksums.tsv"), "--num_shards", "20",
            "--direct_running_mode=in_memory"]
  local = subprocess.run(
      [sys.executable, RUNNER, "--manual_dir", corpus, "--data_dir", str(tmp_path / "local"), *common],
      capture_output=True, text=True, env=gcs.env(), timeout=600, check=False,
  )
  assert local.returncode == 0, local.stderr[-3000:]
  remote = subprocess.run(
      [sys.executable, RUNNER, "--manual_dir", prefix, "--data_dir", str(tmp_path / "gcs"), *common],
      capture_output=True, text=True, env=gcs.env(), timeout=600, check=False,
  )
  assert remote.returncode == 0, remote.stderr[-3000:]
  assert [os.path.basename(p) for p in _shards(tmp_path / "gcs")] == [
      os.path.basename(p) for p in _shards(tmp_path / "local")]
  assert _records(tmp_path / "gcs") == _records(tmp_path / "local")  # Byte for byte.


@pytest.mark.parametrize("file_format", [shard_files.TFRECORD, shard_files.ARRAY_RECORD])
def test_shards_write_and_read_back_on_gcs(gcs, file_format):
  path = f"{gcs.new_prefix('shards')}/pass_dataset-train.{file_format}-00000-of-00001"
  records = [bytes([i]) * (i * 100 + 1) for i in range(50)]
  written = shard_files.write_shard(path, iter(records), file_format)
  assert shard_files.digest_of(path, with_sha256=True) == written.digest and written.records == len(records)
  with shard_files.open_read(path) as stream:
    assert written.digest.sha256 == hashlib.sha256(stream.read()).hexdigest()
  assert list(shard_files.read_records(path, file_format)) == records
  assert [p for p in gcs.list(path.rsplit("/", 1)[0] + "/")] == [path]  # No temporary file left.


def test_pieces_on_gcs_are_reused_after_a_kill_and_published_once(corpus, gcs, tmp_path):
  """The build's work folder and shards on gs://: a rerun reuses verified pieces, finalize moves them."""
  prefix = gcs.new_prefix("build")
  archives = [testing.archive_name(k) for k in range(10)]
  config = pipeline_parts.finalize_config(corpus, str(tmp_path), archives, num_shards=20)
  config = dataclasses.replace(
      config,
      settings=dataclasses.replace(config.settings, work_dir=f"{prefix}/partial"),
      shard_path=functools.partial(_gcs_shard_path, prefix),
      outputs=transforms.SplitOutputs(f"{prefix}/split.json", f"{prefix}/build_report.json"),
  )
  metadata_path = os.path.join(corpus, "pass_metadata.csv")
  lookup, results = pipeline_parts.run_steps(config, metadata_path)
  assert not any(result.reused for result in results)
  damaged = results[3]  # A piece whose shard a killed attempt left half written.
  gcs.upload_bytes(b"half a shard", damaged.path)
  lookup, again = pipeline_parts.run_steps(config, metadata_path)
  assert [result.reused for result in again] == [result.name != damaged.name for result in results]
  transforms.finalize(again, [], lookup, config)
  transforms.finalize(again, [], lookup, config)  # A retried finalize after every move.
  shards = [path for path in gcs.list(prefix + "/") if "-train.tfrecord-" in path]
  assert len(shards) == 20
  assert sum(len(list(shard_files.read_records(path, shard_files.TFRECORD))) for path in shards) == 1500


def test_one_build_per_folder_on_gcs(gcs):
  from pass_tfds.cli import build_lock
  from pass_tfds.errors import BuildLockedError

  folder = f"{gcs.new_prefix('lock')}/pass_dataset/full/3.0.0"
  with build_lock.held(folder, heartbeat=0.2):
    with pytest.raises(BuildLockedError, match="is being built by another build"):
      build_lock.acquire(folder)
  with build_lock.held(folder):  # Released when the first build ended.
    pass
  assert not [path for path in gcs.list(folder.rsplit("/", 1)[0] + "/") if path.endswith(".lock")]
