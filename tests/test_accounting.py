"""The counts every build must reconcile, and a finalize step that is safe to run again."""

from __future__ import annotations

import dataclasses
import hashlib
import os

import pytest

from pass_tfds import testing
from pass_tfds.pipeline import accounting, shard_files, transforms
from pass_tfds.errors import AccountingError

import pipeline_parts


def _counts(members=3, written=2, skipped=1):
  counts = accounting.BuildCounts()
  for i in range(members):
    counts.add_member("PASS.0.tar")
  for i in range(written):
    counts.add_written("PASS.0.tar", reencoded=False)
  for i in range(skipped):
    counts.add_skipped("PASS.0.tar", f"PASS.0/m{i}.jpg", accounting.TRUNCATED)
  counts.images_without_metadata = written
  return counts


def test_reconciled_counts_pass_and_report_the_invariants():
  counts = _counts()
  counts.check()
  report = counts.to_report(["PASS.0.tar", "PASS.1.tar"])
  assert report["reconciled"] and report["members"] == 3 and report["skipped"] == {"truncated": 1}
  assert report["skipped_examples"] == {"truncated": ["PASS.0.tar:PASS.0/m0.jpg"]}
  assert report["per_archive"]["PASS.1.tar"] == {"members": 0, "written": 0, "skipped": 0}


def test_a_member_lost_without_a_reason_fails_the_build():
  with pytest.raises(AccountingError, match=r"3 archive members but 1 written \+ 1 skipped"):
    _counts(written=1).check()


def test_a_csv_row_lost_fails_the_build():
  counts = _counts()
  counts.metadata_rows = 5
  counts.metadata_rows_without_member = 4
  with pytest.raises(AccountingError, match="5 CSV rows but 4 placed"):
    counts.check()


def test_partial_counts_merge_like_one_count():
  merged = accounting.BuildCounts.merge_all([_counts(3, 2, 1), _counts(2, 1, 1)])
  assert (merged.members, merged.written, merged.skipped["truncated"]) == (5, 3, 2)
  assert merged.per_archive["PASS.0.tar"].members == 5
  merged.check()
  assert accounting.BuildCounts.from_json(merged.to_json()) == merged


def test_unknown_reason_refused():
  with pytest.raises(ValueError, match="unknown skip reason"):
    accounting.BuildCounts().add_skipped("PASS.0.tar", "x.jpg", "because")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
  out = str(tmp_path_factory.mktemp("corpus"))
  return out, testing.write_sample(out, 200, seed=3)


def _shards(out):
  return sorted(name for name in os.listdir(out) if ".tfrecord-" in name)


def test_finalize_twice_and_after_a_partial_move_publishes_the_same(corpus, tmp_path):
  corpus_dir, manifest = corpus
  config = pipeline_parts.finalize_config(corpus_dir, str(tmp_path), manifest.archives, num_shards=20)
  lookup, results = pipeline_parts.run_steps(config, os.path.join(corpus_dir, "pass_metadata.csv"))
  transforms.finalize(results, [], lookup, config)
  first = {name: open(tmp_path / name, "rb").read() for name in _shards(tmp_path)}
  report = open(tmp_path / "build_report.json").read()
  assert len(first) == 20
  transforms.finalize(results, [], lookup, config)  # A retried bundle: everything already moved.
  assert {name: open(tmp_path / name, "rb").read() for name in _shards(tmp_path)} == first
  assert open(tmp_path / "build_report.json").read() == report
  # A first attempt that died after moving some shards back: the retry finishes the job.
  for name, result in zip(_shards(tmp_path)[5:], sorted(results, key=lambda r: r.shard)[5:]):
    os.rename(tmp_path / name, result.path)
  transforms.finalize(results, [], lookup, config)
  assert {name: open(tmp_path / name, "rb").read() for name in _shards(tmp_path)} == first


def test_finalize_refuses_shards_that_disagree_with_the_counts(corpus, tmp_path):
  corpus_dir, manifest = corpus
  config = pipeline_parts.finalize_config(corpus_dir, str(tmp_path), manifest.archives)
  lookup, results = pipeline_parts.run_steps(config, os.path.join(corpus_dir, "pass_metadata.csv"))
  results[0] = dataclasses.replace(results[0], records=results[0].records - 1)
  with pytest.raises(AccountingError, match="shards hold"):
    transforms.finalize(results, [], lookup, config)
  assert not (tmp_path / "build_report.json").exists() and not _shards(tmp_path)


def test_a_shard_write_that_fails_half_way_leaves_nothing_and_can_run_again(tmp_path):
  path = str(tmp_path / "shard.tfrecord")

  def failing():
    yield b"one"
    raise OSError("disk went away")

  with pytest.raises(OSError):
    shard_files.write_shard(path, failing(), shard_files.TFRECORD)
  assert os.listdir(tmp_path) == []
  written = shard_files.write_shard(path, iter([b"one", b"two"]), shard_files.TFRECORD)
  assert shard_files.digest_of(path, with_sha256=True) == written.digest and written.records == 2
  assert written.digest.sha256 == hashlib.sha256(open(path, "rb").read()).hexdigest()
  assert list(shard_files.read_records(path, shard_files.TFRECORD)) == [b"one", b"two"]


# --- independent counts (issue 16) ------------------------------------------------------


def test_a_record_written_without_being_counted_fails_the_build(corpus, tmp_path, monkeypatch):
  """The shards' record counts come from the shard writer, not from the counter they are checked against."""
  from pass_tfds.pipeline import pieces

  records = pieces.PieceWriter.records

  def one_extra(self):
    yield from records(self)
    if self._piece.shard == 3:
      yield b"a record nobody counted"

  monkeypatch.setattr(pieces.PieceWriter, "records", one_extra)
  corpus_dir, manifest = corpus
  config = pipeline_parts.finalize_config(corpus_dir, str(tmp_path), manifest.archives, num_shards=20)
  lookup, results = pipeline_parts.run_steps(config, os.path.join(corpus_dir, "pass_metadata.csv"))
  with pytest.raises(AccountingError, match="its shard holds"):
    transforms.finalize(results, [], lookup, config)
  assert not _shards(tmp_path)


def test_a_member_the_writer_never_saw_fails_the_build(corpus, tmp_path, monkeypatch):
  """`members` is the tar reader's count, not the writer loop's: a member that loop lost shows."""
  from pass_tfds.pipeline import pieces, tar_stream

  class Losing(tar_stream.RangeReader):
    def __iter__(self):
      for position, member in enumerate(super().__iter__()):
        if position != 2:
          yield member

  monkeypatch.setattr(pieces.tar_stream, "RangeReader", Losing)
  corpus_dir, manifest = corpus
  config = pipeline_parts.finalize_config(corpus_dir, str(tmp_path), manifest.archives[:1])
  lookup, results = pipeline_parts.run_steps(config, os.path.join(corpus_dir, "pass_metadata.csv"))
  with pytest.raises(AccountingError, match="archive members but"):
    transforms.finalize(results, [], lookup, config)


def test_keys_written_twice_after_the_duplicates_were_dropped_fail():
  from pass_tfds.pipeline import image_keys, reconcile

  assert reconcile.repeated_keys(image_keys.keys_array([1, 2, 3])) == []
  assert "1 written images repeat" in reconcile.repeated_keys(image_keys.keys_array([1, 2, 1]))[0]


def test_published_shards_are_listed_with_their_digests_and_records(corpus, tmp_path):
  """`shards.json` beside the build: what a copy of it is checked against."""
  import json

  corpus_dir, manifest = corpus
  config = pipeline_parts.finalize_config(corpus_dir, str(tmp_path), manifest.archives, num_shards=20)
  lookup, results = pipeline_parts.run_steps(config, os.path.join(corpus_dir, "pass_metadata.csv"))
  transforms.finalize(results, [], lookup, config)
  listed = json.loads((tmp_path / "shards.json").read_text())
  assert (listed["format"], listed["version"], listed["file_format"]) == ("pass_tfds.shards", 2, "tfrecord")
  assert [shard["name"] for shard in listed["shards"]] == _shards(tmp_path)
  for shard in listed["shards"]:
    path = str(tmp_path / shard["name"])
    digest = shard_files.digest_of(path)
    assert (shard["size"], shard["crc32c"]) == (digest.size, f"{digest.crc32c:08x}")
    assert shard["sha256"] == hashlib.sha256(open(path, "rb").read()).hexdigest()
    assert shard["records"] == len(list(shard_files.read_records(path, shard_files.TFRECORD)))
  assert listed["total"] == {"shards": 20, "size": sum(s["size"] for s in listed["shards"]),
                             "records": len(manifest.images)}
