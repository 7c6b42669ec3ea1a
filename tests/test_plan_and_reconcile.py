"""The plan (pieces from file sizes) and the proofs and fixes run before publishing."""

from __future__ import annotations

import numpy as np
import pytest

from pass_tfds.pipeline import image_keys, plan, reconcile
from pass_tfds.errors import UsageError

MiB = 1 << 20


def _archives(*sizes):
  return [plan.SourceArchive(i, f"PASS.{i}.tar", f"/m/PASS.{i}.tar", size) for i, size in enumerate(sizes)]


def test_pieces_tile_each_archive_at_block_boundaries():
  archives = _archives(1000 * MiB + 1536, 300 * MiB, 10_240)
  pieces = plan.plan_pieces(archives, range_bytes=160 * MiB)
  for archive in archives:
    mine = sorted((p for p in pieces if p.archive == archive), key=lambda p: p.start)
    assert mine[0].start == 0 and mine[-1].end == archive.size
    assert all(a.end == b.start for a, b in zip(mine, mine[1:]))
    assert all(p.start % 512 == 0 and p.end - p.start <= 160 * MiB + 512 for p in mine)
  assert [len([p for p in pieces if p.archive == a]) for a in archives] == [7, 2, 1]


def test_shard_order_interleaves_archives():
  pieces = plan.plan_pieces(_archives(*[18_700 * MiB] * 9, 11_200 * MiB))
  assert [p.shard for p in pieces] == list(range(len(pieces)))
  assert [p.archive.index for p in pieces[:10]] == list(range(10))  # Piece 0 of every archive first.
  assert len(pieces) > 1000  # So train[:1%] spans the first ten shards: every archive.
  assert len({p.name for p in pieces}) == len(pieces)
  assert plan.plan_pieces(_archives(*[18_700 * MiB] * 9, 11_200 * MiB)) == pieces  # Deterministic.


def test_num_shards_is_shared_by_size_and_needs_one_per_archive():
  assert plan.parts_per_archive([100, 100, 50], 1, num_shards=5) == [2, 2, 1]
  assert sum(plan.parts_per_archive([5, 1, 1, 1], 1, num_shards=7)) == 7
  assert plan.parts_per_archive([1, 1000], 1, num_shards=2) == [1, 1]
  with pytest.raises(UsageError, match="--num_shards 3 is fewer than the 10 archives"):
    plan.parts_per_archive([1] * 10, 1, num_shards=3)


def _written(*records):
  keys = image_keys.keys_array([key for key, _ in records])
  array = np.zeros(len(records), dtype=reconcile.WRITTEN_DTYPE)
  array["hi"], array["lo"] = keys["hi"], keys["lo"]
  array["offset"] = [offset for _, offset in records]
  return array


def test_a_hash_written_twice_keeps_the_first_in_archive_and_offset_order():
  big = (7 << 64) | 5  # A key that needs both words.
  pieces = [
      reconcile.PieceRecords(shard=0, archive=0, written=_written((1, 5000), (big, 9000))),
      reconcile.PieceRecords(shard=1, archive=1, written=_written((3, 100), (1, 200))),
      reconcile.PieceRecords(shard=10, archive=0, written=_written((big, 20000), (4, 30000), (3, 40000))),
  ]
  losers = reconcile.duplicate_losers(pieces)
  # Hash 1: archive 0 beats archive 1. Hash 3: archive 0 (offset 40000) beats archive 1
  # (offset 100). The big key: offset 9000 beats 20000 in the same archive.
  assert {shard: positions.tolist() for shard, positions in losers.items()} == {1: [0, 1], 10: [0]}
  assert reconcile.duplicate_losers([pieces[0]]) == {}


def test_every_csv_row_is_placed_once():
  lookup = image_keys.keys_array([1, 2, 3, 4])
  members = image_keys.keys_array([2, 3, 3, 9])
  written = image_keys.keys_array([3, 9])
  placement = reconcile.place_metadata(lookup, members, written)
  assert placement == reconcile.MetadataPlacement(
      rows_without_member=2,  # 1 and 4.
      rows_of_skipped_images=1,  # 2: a member, never written.
      images_with_metadata=1,  # 3.
      images_without_metadata=1,  # 9.
  )


def test_image_keys_join_case_and_leading_zeros():
  assert image_keys.image_key("00AB") == image_keys.image_key("ab") == 0xAB
  assert image_keys.image_key("not hex") is None
  long = "f" * 40
  assert image_keys.image_key(long) == image_keys.image_key(long.upper()) < 1 << 128
