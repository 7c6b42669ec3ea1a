"""Archive indexing, reading by offset, and planning, without Beam."""

import io
import tarfile

import pytest

from pass_tfds import accounting, archives, plan
from pass_tfds.metadata import ImageMetadata


def _tar(path, members):
  with tarfile.open(path, "w") as tar:
    for name, data in members:
      if data is None:
        info = tarfile.TarInfo(name)
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
        continue
      info = tarfile.TarInfo(name)
      info.size = len(data)
      tar.addfile(info, io.BytesIO(data))
  return str(path)


MEMBERS = [
    ("PASS.0/", None),
    ("PASS.0/ab/0abc123def4567890abc123def45678.jpg", b"jpeg-bytes-1"),
    ("PASS.0/ab/._0abc123def4567890abc123def45678.jpg", b"appledouble"),
    ("PASS.0/.DS_Store", b"ds"),
    ("PASS.0/README.txt", b"text"),
    ("PASS.0/cd/thumbnail_final.jpg", b"x"),
    ("PASS.0/cd/cdef0123456789abcdef0123456789ab.jpg", b""),
    ("PASS.0/ef/ef0123456789abcdef0123456789abcd.JPG", b"jpeg-bytes-2" * 100),
]


def test_index_classifies_every_entry(tmp_path):
  path = _tar(tmp_path / "PASS.0.tar", MEMBERS)
  entries = list(archives.iter_index(path, 0, "PASS.0.tar"))
  assert entries[0] is None  # The directory: not a member.
  reasons = {entry.member.name: entry.skip_reason for entry in entries[1:]}
  assert reasons == {
      "PASS.0/ab/0abc123def4567890abc123def45678.jpg": None,
      "PASS.0/ab/._0abc123def4567890abc123def45678.jpg": accounting.NOT_AN_IMAGE,
      "PASS.0/.DS_Store": accounting.NOT_AN_IMAGE,
      "PASS.0/README.txt": accounting.NOT_AN_IMAGE,
      "PASS.0/cd/thumbnail_final.jpg": accounting.NAME_WITHOUT_HASH,
      "PASS.0/cd/cdef0123456789abcdef0123456789ab.jpg": accounting.EMPTY_FILE,
      "PASS.0/ef/ef0123456789abcdef0123456789abcd.JPG": None,
  }


def test_members_read_by_offset(tmp_path):
  path = _tar(tmp_path / "PASS.0.tar", MEMBERS)
  reader = archives.MemberReader([path])
  try:
    by_name = {e.member.name: e.member for e in archives.iter_index(path, 0, "PASS.0.tar") if e}
    for name, data in MEMBERS:
      if data is not None:
        assert reader.read(by_name[name]) == data
  finally:
    reader.close()


@pytest.mark.parametrize("cut", [3000, 3584, 2048])  # Mid-data, mid-header, on a boundary.
def test_truncated_archive_named(tmp_path, cut):
  path = _tar(tmp_path / "PASS.3.tar", MEMBERS)
  with open(path, "r+b") as stream:
    stream.truncate(cut)
  with pytest.raises(archives.ArchiveError, match=r"PASS\.3\.tar is truncated"):
    list(archives.iter_index(path, 0, "PASS.3.tar"))


def test_garbage_archive_named(tmp_path):
  path = tmp_path / "PASS.1.tar"
  path.write_bytes(b"\x13" * 4096)
  with pytest.raises(archives.ArchiveError, match=r"PASS\.1\.tar is not a readable tar"):
    list(archives.iter_index(str(path), 0, "PASS.1.tar"))


def test_join_key_tolerates_case_and_leading_zeros():
  assert archives.join_key("00ABC") == archives.join_key("abc") == "abc"


def _index(archive, members):
  """An `ArchiveIndex` of (offset, hash) members, in the order given."""
  return plan.ArchiveIndex.from_members(archive, [
      archives.IndexedMember(archives.Member(archive, f"{image_hash}.jpg", offset, 10), image_hash, None)
      for offset, image_hash in members
  ])


def _row(image_hash):
  return ImageMetadata(1, image_hash, "user", "", float("nan"), float("nan"), "L")


def test_archive_index_keeps_only_image_candidates():
  members = [
      archives.IndexedMember(archives.Member(2, "a/00AB12.jpg", 512, 7), "00AB12", None),
      archives.IndexedMember(archives.Member(2, "a/README.txt", 1024, 3), None, accounting.NOT_AN_IMAGE),
      archives.IndexedMember(archives.Member(2, "a/cd34.jpg", 2048, 0), "cd34", accounting.EMPTY_FILE),
  ]
  index = plan.ArchiveIndex.from_members(2, members)
  assert len(index) == 1
  assert index.keys == ("ab12",)
  assert index.hashes == ("00AB12",)
  assert index.member(0) == archives.Member(2, "a/00AB12.jpg", 512, 7)


def test_plan_dedupes_and_orders_deterministically():
  indexes = [_index(1, [(512, "aa11")]), _index(0, [(0, "bb22"), (1024, "00aa11")])]
  found = {"aa11": _row("aa11")}
  first = plan.plan_examples(indexes, found)
  second = plan.plan_examples(list(reversed(indexes)), found)
  assert first == second
  by_hash = {example.hash: example for example in first}
  duplicated = by_hash["00aa11"]  # The copy in archive 0 comes first, whatever the arrival order.
  assert [(m.archive, m.offset) for m in duplicated.candidates] == [(0, 1024), (1, 512)]
  assert duplicated.metadata.creator_username == "user"
  assert by_hash["bb22"].metadata is None
  assert [e.key for e in first] == sorted(e.key for e in first)


def test_shards_cover_every_example_once():
  examples = plan.plan_examples([_index(0, [(i, f"{i:04x}") for i in range(103)])], {})
  shards = plan.split_into_shards(examples, 8)
  assert [s.index for s in shards] == list(range(8))
  flat = [e for shard in shards for e in shard.examples]
  assert flat == examples
  assert max(len(s.examples) for s in shards) - min(len(s.examples) for s in shards) <= 1


def test_shard_plan_survives_encoding():
  indexes = [_index(0, [(0, "aa11"), (512, "bb22")]), _index(3, [(2048, "AA11")])]
  examples = plan.plan_examples(indexes, {"bb22": (7, ["6", "user", "", "L", "bb22", "", ""])})
  shard = plan.split_into_shards(examples, 1)[0]
  decoded = plan.decode_shard(plan.encode_shard(shard))
  assert decoded == shard
  assert all(isinstance(member, archives.Member) for e in decoded.examples for member in e.candidates)
