"""The counts every build must reconcile before it succeeds."""

import pytest

from pass_tfds import accounting, transforms


def _counts(members=3, written=2, skipped=1):
  counts = accounting.BuildCounts()
  for i in range(members):
    counts.add_member("PASS.0.tar")
  for i in range(written):
    counts.add_written("PASS.0.tar", reencoded=False)
  for i in range(skipped):
    counts.add_skipped("PASS.0.tar", f"PASS.0/m{i}.jpg", accounting.TRUNCATED)
  return counts


def test_reconciled_counts_pass_and_report_the_invariant():
  counts = _counts()
  counts.check()
  report = counts.to_report(["PASS.0.tar"])
  assert report["reconciled"] and report["members"] == 3 and report["skipped"] == {"truncated": 1}
  assert report["skipped_examples"] == {"truncated": ["PASS.0.tar:PASS.0/m0.jpg"]}


def test_a_member_lost_without_a_reason_fails_the_build():
  with pytest.raises(accounting.AccountingError, match=r"3 archive members but 1 written \+ 1 skipped"):
    _counts(written=1).check()


def test_partial_counts_merge_like_one_count():
  merged = accounting.BuildCounts.merge_all([_counts(3, 2, 1), _counts(2, 1, 1)])
  assert (merged.members, merged.written, merged.skipped["truncated"]) == (5, 3, 2)
  assert merged.per_archive["PASS.0.tar"].members == 5
  merged.check()


def test_unknown_reason_refused():
  with pytest.raises(ValueError, match="unknown skip reason"):
    accounting.BuildCounts().add_skipped("PASS.0.tar", "x.jpg", "because")


def test_finalize_refuses_shards_that_disagree_with_the_counts(tmp_path):
  results = [transforms.ShardResult(0, str(tmp_path / "shard-0"), 1, 10)]
  outputs = transforms.SplitOutputs(str(tmp_path / "split.json"), str(tmp_path / "report.json"))
  with pytest.raises(accounting.AccountingError, match="shards hold 1 examples but 2"):
    transforms.finalize_split(results, _counts(), template=None, outputs=outputs, report_extra={})
  assert not (tmp_path / "report.json").exists()
