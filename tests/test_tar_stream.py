"""Reading byte ranges of tar archives front to back, and the proof that ranges tile an archive."""

from __future__ import annotations

import io
import os
import random
import tarfile

import pytest

from pass_tfds.pipeline import accounting, archives, plan, reconcile, tar_stream
from pass_tfds.errors import ArchiveError
from pass_tfds.testing import carrier


def _tar(path, members, format=tarfile.GNU_FORMAT) -> str:
  """members: (name, data) regular files; data None: a directory; ("->", target): a symlink."""
  with tarfile.open(path, "w", format=format) as tar:
    for name, data in members:
      info = tarfile.TarInfo(name)
      if data is None:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
      elif isinstance(data, tuple):
        info.type = tarfile.SYMTYPE if data[0] == "->" else tarfile.LNKTYPE
        info.linkname = data[1]
        tar.addfile(info)
      else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
  return str(path)


def _read(path, start, end, read_size=1 << 16):
  size = os.path.getsize(path)
  with open(path, "rb") as stream:
    reader = tar_stream.RangeReader(stream, os.path.basename(path), size, start, end, read_size=read_size)
    members = list(reader)
  return members, reader.span


def _pieces(path, parts):
  archive = plan.SourceArchive(0, os.path.basename(path), path, os.path.getsize(path))
  return plan.plan_pieces([archive], num_shards=parts)


def _random_members(count, seed=0):
  rng = random.Random(seed)
  return [(f"PASS.0/{rng.getrandbits(128):032x}.jpg", rng.randbytes(rng.randint(0, 5000)))
          for _ in range(count)]


@pytest.mark.parametrize("parts", [1, 2, 3, 7, 40, 200])
def test_ranges_read_every_member_once_and_tile_the_archive(tmp_path, parts):
  members = _random_members(60)
  path = _tar(tmp_path / "PASS.0.tar", members)
  pieces = _pieces(path, parts)
  seen, spans = [], {}
  for piece in pieces:
    read, span = _read(path, piece.start, piece.end)
    seen += [(member.name, member.data) for member in read]
    spans[piece.name] = span
  assert seen == members  # Every member once, in archive order, whole across boundaries.
  assert reconcile.check_tiling(pieces, spans) == []


def test_pax_and_long_names_and_links(tmp_path):
  long_dir = "d" * 120
  members = [
      ("PASS.0/", None),
      (f"{long_dir}/{'a' * 32}.jpg", b"long name"),
      ("PASS.0/b.jpg", b"bytes"),
      ("PASS.0/link.jpg", ("->", "PASS.0/b.jpg")),
      ("PASS.0/hard.jpg", ("hard", "PASS.0/b.jpg")),
  ]
  for format in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
    path = _tar(tmp_path / f"PASS.{format}.tar", members, format=format)
    read, span = _read(path, 0, os.path.getsize(path))
    assert [(m.name.rstrip("/"), m.kind) for m in read] == [
        ("PASS.0", tar_stream.OTHER),
        (f"{long_dir}/{'a' * 32}.jpg", tar_stream.REGULAR),
        ("PASS.0/b.jpg", tar_stream.REGULAR),
        ("PASS.0/link.jpg", tar_stream.SYMLINK),
        ("PASS.0/hard.jpg", tar_stream.HARD_LINK),
    ]
    assert read[1].data == b"long name" and read[3].link_target == "PASS.0/b.jpg"
    assert span.first == 0 and span.end_of_archive == span.stop


def test_a_boundary_between_an_extended_header_and_its_member(tmp_path):
  members = [(f"PASS.0/{'é' * 40}{i:032x}.jpg", bytes([i]) * 700) for i in range(12)]
  path = _tar(tmp_path / "PASS.0.tar", members, format=tarfile.PAX_FORMAT)
  size = os.path.getsize(path)
  archive = plan.SourceArchive(0, "PASS.0.tar", path, size)
  for cut in range(512, size - 512, 512):  # Every block boundary, pax headers included.
    pieces = [plan.Piece(0, archive, 0, 2, 0, cut), plan.Piece(1, archive, 1, 2, cut, size)]
    seen, spans = [], {}
    for piece in pieces:
      read, spans[piece.name] = _read(path, piece.start, piece.end)
      seen += [(member.name, member.data) for member in read]
    assert seen == members, cut
    assert reconcile.check_tiling(pieces, spans) == [], cut


def test_a_range_inside_one_large_member_owns_nothing(tmp_path):
  path = _tar(tmp_path / "PASS.0.tar", [("a.jpg", b"x" * 100_000), ("b.jpg", b"y")])
  read, span = _read(path, 10_240, 20_480)
  assert read == [] and span == tar_stream.RangeSpan()
  pieces = _pieces(path, 9)
  spans = {piece.name: _read(path, piece.start, piece.end)[1] for piece in pieces}
  assert reconcile.check_tiling(pieces, spans) == []


def test_member_data_that_looks_like_a_header_is_not_taken_for_one(tmp_path):
  inner = tarfile.open(fileobj=(buffer := io.BytesIO()), mode="w")
  info = tarfile.TarInfo("fake.jpg")
  info.size = 3000
  inner.addfile(info, io.BytesIO(b"z" * 3000))
  inner.close()
  payload = b"\0" * 512 + buffer.getvalue()  # A tar inside a member: valid headers in the data.
  path = _tar(tmp_path / "PASS.0.tar", [("a.jpg", payload), ("b.jpg", b"real")])
  pieces = _pieces(path, 3)
  spans, names = {}, []
  for piece in pieces:
    read, spans[piece.name] = _read(path, piece.start, piece.end)
    names += [member.name for member in read]
  # Wherever the cut falls, either the confirmation rejects the fake chain or the proof fails.
  if names == ["a.jpg", "b.jpg"]:
    assert reconcile.check_tiling(pieces, spans) == []
  else:
    assert reconcile.check_tiling(pieces, spans)


def test_tiling_proof_catches_a_lost_or_doubled_member():
  archive = plan.SourceArchive(0, "PASS.0.tar", "p", 10_240)
  a, b = plan.Piece(0, archive, 0, 2, 0, 5_120), plan.Piece(1, archive, 1, 2, 5_120, 10_240)
  good = {a.name: tar_stream.RangeSpan(0, 6_144), b.name: tar_stream.RangeSpan(6_144, 8_192, 8_192)}
  assert reconcile.check_tiling([a, b], good) == []
  gap = {a.name: tar_stream.RangeSpan(0, 6_144), b.name: tar_stream.RangeSpan(7_168, 8_192, 8_192)}
  assert "damaged at byte 6,144" in reconcile.check_tiling([a, b], gap)[0]
  overlap = {a.name: tar_stream.RangeSpan(0, 6_144), b.name: tar_stream.RangeSpan(5_632, 8_192, 8_192)}
  assert "inside the member that ends at 6,144" in reconcile.check_tiling([a, b], overlap)[0]
  no_end = {a.name: tar_stream.RangeSpan(0, 6_144), b.name: tar_stream.RangeSpan(6_144, 10_240)}
  assert "end-of-archive" in reconcile.check_tiling([a, b], no_end)[0]
  nobody = {a.name: tar_stream.RangeSpan(0, 4_096), b.name: tar_stream.RangeSpan()}
  assert "damaged at byte 4,096" in reconcile.check_tiling([a, b], nobody)[0]


@pytest.mark.parametrize("cut", [0.3, 0.5, 0.9])
def test_truncated_archive_named(tmp_path, cut):
  path = _tar(tmp_path / "PASS.3.tar", _random_members(20))
  data = open(path, "rb").read()
  with open(path, "wb") as f:
    f.write(data[:int(len(data) * cut)])
  with pytest.raises(ArchiveError, match="PASS.3.tar is truncated"):
    _read(path, 0, os.path.getsize(path))


def test_damaged_header_named_with_its_offset(tmp_path):
  path = _tar(tmp_path / "PASS.3.tar", _random_members(5))
  _, span = _read(path, 0, os.path.getsize(path))
  data = bytearray(open(path, "rb").read())
  members, _ = _read(path, 0, len(data))
  second = members[1].offset
  data[second + 10] ^= 0xFF
  open(path, "wb").write(bytes(data))
  with pytest.raises(ArchiveError, match=f"damaged at byte {second:,}"):
    _read(path, 0, len(data))


def test_reads_only_go_forward_in_large_requests(tmp_path):
  path = _tar(tmp_path / "PASS.0.tar", _random_members(300))

  class Recording(io.FileIO):
    def __init__(self, *args):
      super().__init__(*args)
      self.positions, self.requests = [], []

    def seek(self, *args):
      self.positions.append(super().seek(*args))
      return self.positions[-1]

    def read(self, size=-1):
      self.requests.append(size)
      return super().read(size)

    def readinto(self, buffer):
      self.requests.append(len(buffer))
      return super().readinto(buffer)

  size = os.path.getsize(path)
  stream = Recording(path, "rb")
  list(tar_stream.RangeReader(stream, "PASS.0.tar", size, 0, size, read_size=1 << 20))
  assert stream.positions == [0]  # One seek, to the range start; never back.
  assert stream.requests[0] == min(1 << 20, size)


class _ReadOnly:
  """A stream with `read` and `seek` only, no `readinto`."""

  def __init__(self, path):
    self._file = open(path, "rb")  # pylint: disable=consider-using-with

  def __enter__(self):
    return self

  def __exit__(self, *exc_info):
    self.close()

  def read(self, size=-1):
    return self._file.read(size)

  def seek(self, offset, whence=0):
    return self._file.seek(offset, whence)

  def close(self):
    self._file.close()


@pytest.mark.parametrize("read_only", [False, True])
@pytest.mark.parametrize("read_size", [512, 4096, 1 << 16])
def test_the_reused_buffer_compacts_and_grows_without_losing_a_byte(tmp_path, read_size, read_only):
  # Members from empty to 12x the buffer's first size: the window moves what it
  # holds to the front, and grows for a member larger than itself.
  rng = random.Random(read_size)
  members = [(f"PASS.0/{i:032x}.jpg", rng.randbytes(rng.choice([0, 1, 511, 513, 3000, 12 * read_size])))
             for i in range(40)]
  path = _tar(tmp_path / "PASS.0.tar", members)
  size = os.path.getsize(path)
  seen = []
  for piece in _pieces(path, 5):
    stream = _ReadOnly(path) if read_only else open(path, "rb")  # pylint: disable=consider-using-with
    with stream:
      reader = tar_stream.RangeReader(stream, "PASS.0.tar", size, piece.start, piece.end, read_size=read_size)
      seen += [(member.name, member.data) for member in reader]
  assert seen == members


def test_member_names_are_classified():
  assert archives.classify_member_name("PASS.0/ab/0abc123def4567890abc123def45678.jpg", 5) == (
      "0abc123def4567890abc123def45678", None)
  assert archives.classify_member_name("PASS.0/._0abc123def4567890abc123def45678.jpg", 5)[1] == accounting.NOT_AN_IMAGE
  assert archives.classify_member_name("PASS.0/.DS_Store", 5)[1] == accounting.NOT_AN_IMAGE
  assert archives.classify_member_name("PASS.0/README.txt", 5)[1] == accounting.NOT_AN_IMAGE
  assert archives.classify_member_name("PASS.0/thumbnail_final.jpg", 5)[1] == accounting.NAME_WITHOUT_HASH
  assert archives.classify_member_name("PASS.0/cdef0123456789abcdef0123456789ab.jpg", 0)[1] == accounting.EMPTY_FILE
  assert archives.classify_member_name("x/EF0123456789ABCDEF0123456789ABCD.JPG", 9)[1] is None


def test_data_of_entries_that_are_not_read_is_skipped_in_step(tmp_path):
  """A non-file entry that carries data (here a FIFO with a size) must not shift the next header."""
  path = str(tmp_path / "PASS.0.tar")
  with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
    fifo = tarfile.TarInfo("PASS.0/pipe")
    fifo.type, fifo.size = tarfile.FIFOTYPE, 0
    tar.addfile(fifo)
    for i in range(3):
      info = tarfile.TarInfo(f"PASS.0/{i:032x}.jpg")
      info.size = 700
      tar.addfile(info, io.BytesIO(bytes([i]) * 700))
  data = bytearray(open(path, "rb").read())
  # Give the FIFO's header a size of 3,000 bytes of data, as if it had some, and make room.
  header = bytearray(data[:512])
  header[124:136] = b"%011o\0" % 3000
  header[148:156] = b" " * 8
  header[148:156] = b"%06o\0 " % sum(header)
  fifo_data = (3000 + 511) // 512 * 512
  with open(path, "wb") as f:
    f.write(bytes(header) + bytes(fifo_data) + bytes(data[512:]))
  for read_size in (512, 700, 1 << 16):
    read, span = _read(path, 0, os.path.getsize(path), read_size=read_size)
    assert [(m.kind, m.data[:1]) for m in read] == [
        (tar_stream.OTHER, b"")] + [(tar_stream.REGULAR, bytes([i])) for i in range(3)], read_size
    assert span.end_of_archive is not None


# --- proofs that can fail (issue 16) ----------------------------------------------------


def test_the_window_refuses_bytes_it_dropped():
  data = bytes(range(256)) * 64
  window = tar_stream._Window(io.BytesIO(data), 0, len(data), len(data), read_size=4096)
  assert window.get(0, 512) == data[:512]
  window.forget_before(2048)
  assert window.get(2048, 2560) == data[2048:2560]
  with pytest.raises(ValueError, match="dropped"):
    window.get(1536, 2048)  # Before its base: a negative index once wrapped around the buffer.


def test_a_carried_tar_at_the_last_pieces_scan_start_loses_no_member(tmp_path):
  crafted = carrier.write_carrier_archive(str(tmp_path / "PASS.0.tar"))
  size = os.path.getsize(crafted.path)
  archive = plan.SourceArchive(0, "PASS.0.tar", crafted.path, size)
  pieces = plan.plan_pieces([archive], num_shards=2)
  assert pieces[1].start == crafted.cut
  names, spans = [], {}
  for piece in pieces:
    read, spans[piece.name] = _read(crafted.path, piece.start, piece.end, read_size=4096)
    names += [member.name for member in read]
  # Every member read once (the proof holds), never a silent loss under a proof that passed.
  assert names == [f"PASS.0/{h}.jpg" for h in crafted.images[:3]] + ["PASS.0/carrier.bin"] + [
      f"PASS.0/{h}.jpg" for h in crafted.after]
  assert reconcile.check_tiling(pieces, spans) == []


def test_zeros_that_do_not_run_to_the_end_of_the_file_are_damage_named_with_their_offset(tmp_path):
  path = _tar(tmp_path / "PASS.2.tar", _random_members(6))
  members, _ = _read(path, 0, os.path.getsize(path))
  data = bytearray(open(path, "rb").read())
  third = members[3].offset
  data[third:third + 512] = bytes(512)  # A header zeroed: zeros where a header should be.
  open(path, "wb").write(bytes(data))
  with pytest.raises(ArchiveError, match=f"PASS.2.tar is truncated or damaged at byte {third:,}"):
    _read(path, 0, len(data))


def test_a_header_followed_by_zeros_then_data_is_not_confirmed(tmp_path):
  """`_confirmed` once took "a header, its data, a zero block" as proof of a chain."""
  lead = tar_stream.LOOKBACK + 4096  # The range's scan starts inside a.jpg's data.
  payload = b"\1" * lead + carrier.carried_tar() + b"\2" * 4096
  path = _tar(tmp_path / "PASS.0.tar", [("a.jpg", payload), ("b.jpg", b"real" * 300)])
  size = os.path.getsize(path)
  inner = 512 + lead  # Where the carried header lies in the archive.
  assert tar_stream.header_is_valid(open(path, "rb").read()[inner:inner + 512])
  read, span = _read(path, inner, size)  # The range starts right at the carried header.
  assert [member.name for member in read] == ["b.jpg"]
  assert span.members == 1


def test_a_long_zero_run_at_a_piece_start_is_read_once_and_right(tmp_path, monkeypatch):
  rng = random.Random(3)
  run = 3 << 20
  payload = rng.randbytes(1000) + bytes(run) + rng.randbytes(1000)
  after = _random_members(5, seed=4)
  path = _tar(tmp_path / "PASS.0.tar", [("a.jpg", payload)] + after)
  size = os.path.getsize(path)
  looked_at = []
  original = tar_stream._Window.get

  def counting_get(self, start, stop):
    looked_at.append(stop - start)
    return original(self, start, stop)

  monkeypatch.setattr(tar_stream._Window, "get", counting_get)
  start = 512 + 1024 + (1 << 20)  # Inside the zero run, which goes on for 2 MiB after it.
  read, span = _read(path, start, size, read_size=64 << 10)
  assert [(member.name, member.data) for member in read] == after
  assert span.first == read[0].offset and span.end_of_archive is not None
  # Linear: each byte of the run looked at about once, not again for every block after it.
  assert sum(looked_at) < 3 * size, sum(looked_at)
