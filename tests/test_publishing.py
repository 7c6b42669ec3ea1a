"""Shards moved by a killed run are taken back; a half-renamed version folder is seen as such."""

from __future__ import annotations

import os

from pass_tfds.pipeline import publishing


def _write(path, data: bytes) -> str:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "wb") as f:
    f.write(data)
  return str(path)


def test_moved_shards_are_taken_back_where_their_size_is_right(tmp_path):
  work, killed = tmp_path / "partial_3.0.0", tmp_path / "incomplete.ABC123_3.0.0"
  moves = [publishing.Move(str(work / f"piece{i}.tfrecord"), str(killed / f"train.tfrecord-{i:05d}-of-00003"), 10)
           for i in range(3)]
  publishing.record_moves(str(work), moves)
  _write(killed / "train.tfrecord-00000-of-00003", b"0" * 10)
  _write(killed / "train.tfrecord-00001-of-00003", b"1" * 7)  # Cut short: left for the rerun to rewrite.
  _write(work / "piece2.tfrecord", b"2" * 10)  # Never moved: the killed run stopped before it.
  assert publishing.take_back(str(work), [str(killed)]) == 1
  assert open(work / "piece0.tfrecord", "rb").read() == b"0" * 10
  assert not (work / "piece1.tfrecord").exists()
  assert publishing.take_back(str(work), [str(killed)]) == 0  # Safe to run twice.


def test_a_version_folder_missing_a_recorded_shard_is_unfinished(tmp_path):
  work, version = tmp_path / "partial_3.0.0", tmp_path / "3.0.0"
  moves = [publishing.Move(str(work / f"p{i}"), str(tmp_path / "incomplete.X_3.0.0" / f"s{i}"), 4)
           for i in range(2)]
  assert not publishing.unfinished(str(version), str(work))  # No moves recorded yet.
  publishing.record_moves(str(work), moves)
  assert not publishing.unfinished(str(version), str(work))  # Nothing there: not a half rename.
  _write(version / "dataset_info.json", b"{}")
  _write(version / "s0", b"abcd")
  assert publishing.unfinished(str(version), str(work))
  _write(version / "s1", b"efgh")
  assert not publishing.unfinished(str(version), str(work))
