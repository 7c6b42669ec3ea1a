"""Reading the members of one byte range of a tar archive, front to back.

A range `[start, end)` owns every member whose first header block (its
extended header, if it has one) starts inside it, and reads such a member
whole even when its data runs past `end`. A range finds the chain of headers
by scanning 512-byte blocks, from a little before its start, for a header
whose checksum is right, confirmed by following the chain to the next header
or to the end of the archive. Zeros count as the end of the archive only where
they run to the end of the file; zeros anywhere else where a header should be
are damage, reported with their offset. Reads only go forward, in large
requests, so the same code is cheap on a local disk and on `gs://`, where every
seek back would cost a fresh ranged GET.
"""

from __future__ import annotations

import dataclasses
import posixpath
from typing import IO, Iterator, NamedTuple

from pass_tfds.dataset import zenodo
from pass_tfds.errors import ArchiveError

BLOCK = 512
READ_SIZE = 16 << 20  # Beam's gs:// reader fetches at least this much per request anyway.
_ZERO_BLOCK = bytes(BLOCK)
# Extended headers that describe the member after them.
_PAX = (b"x", b"g")
_GNU_LONG = (b"L", b"K")
# A header's size field larger than this is taken as garbage while scanning.
_MAX_SCAN_MEMBER = 1 << 36
# A range starts looking for headers this far before its start, so that it sees
# a member's extended (pax, GNU long name) header that a range boundary cut
# off from the member's own header, and leaves that member to the range before.
LOOKBACK = 16 << 10  # Extended headers of ordinary names take one or two blocks.

REGULAR = "regular"
HARD_LINK = "hard_link"
SYMLINK = "symlink"
OTHER = "other"  # Directories, devices, FIFOs: not members.
# Any other type (GNU sparse, volume headers, ...) is read as a regular file, so
# that it is counted and skipped with a reason rather than lost.
_KINDS = {b"1": HARD_LINK, b"2": SYMLINK, b"3": OTHER, b"4": OTHER, b"5": OTHER, b"6": OTHER}


class TarMember(NamedTuple):
  """One logical member: `offset` is its first header block (extended headers included)."""

  name: str
  kind: str  # REGULAR, HARD_LINK, SYMLINK or OTHER.
  offset: int
  data_offset: int
  size: int
  link_target: str  # For links; "" otherwise.
  data: bytes  # The member's bytes (regular files only; b"" otherwise).


@dataclasses.dataclass(frozen=True, slots=True)
class RangeSpan:
  """What a range covered, for the proof that the ranges tile their archive.

  `first` is the first header the range owns and `stop` the offset right
  after its last member's padded data (both None: it owns no member).
  `end_of_archive` is the offset of the end-of-archive block when the range's
  chain of headers reached it; `zeros_from` is set instead when the range
  owns no member and found zeros there. Both are set only once the bytes from
  that offset to the end of the file were read and found all zero.
  `members` counts the members the range owns (links included, directories
  and other entries not): the reader's count, independent of what the writer
  made of them.
  """

  first: int | None = None
  stop: int | None = None
  end_of_archive: int | None = None
  zeros_from: int | None = None
  members: int = 0


_COMPRESSED = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"\x28\xb5\x2f\xfd": "zstd"}


def compression_of(head: bytes) -> str | None:
  """'gzip', 'bzip2', 'xz' or 'zstd' when a file starting with `head` is compressed so."""
  return next((name for magic, name in _COMPRESSED.items() if head.startswith(magic)), None)


def not_plain_tar_message(path: str, kind: str) -> str:
  name = posixpath.basename(path)
  how = f" (e.g. `mv {name} {name}.gz && gunzip {name}.gz`)" if kind == "gzip" else ""
  return (
      f"{path} is {kind}-compressed, but PASS archives are plain tar files: decompress it to"
      f" {name}{how}, or download it again from {zenodo.file_url(name)}."
  )


def _octal(field: bytes) -> int:
  """A tar numeric field: octal text, or GNU base-256 when the top bit is set."""
  if field and field[0] & 0x80:
    value = int.from_bytes(field[1:], "big")
    return value - (1 << (8 * (len(field) - 1))) if field[0] & 0x40 else value
  text = field.split(b"\0", 1)[0].strip(b" ")
  return int(text, 8) if text else 0


def header_is_valid(block: bytes) -> bool:
  """True when a 512-byte block is a tar header: its checksum matches (unsigned or signed)."""
  if len(block) != BLOCK or block == _ZERO_BLOCK:
    return False
  try:
    stored = _octal(block[148:156])
  except ValueError:
    return False
  unsigned = sum(block) - sum(block[148:156]) + 256  # The checksum field counts as spaces.
  if stored == unsigned:
    return True
  signed = unsigned - 2 * sum(b for b in block[:148] + block[156:] if b > 127)
  return stored == signed


def _padded(size: int) -> int:
  return (size + BLOCK - 1) // BLOCK * BLOCK


def _text(raw: bytes) -> str:
  return raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _header_name(block: bytes) -> str:
  name = _text(block[0:100])
  if block[257:262] == b"ustar":
    prefix = _text(block[345:500]) if block[257:263] == b"ustar\0" else ""
    if prefix:
      return f"{prefix}/{name}"
  return name


def _pax_records(data: bytes) -> dict[str, str]:
  """Parses `<length> <key>=<value>\\n` records."""
  records, position = {}, 0
  while position < len(data) and data[position:position + 1] not in (b"\0", b""):
    space = data.index(b" ", position)
    length = int(data[position:space])
    key, _, value = data[space + 1:position + length - 1].partition(b"=")
    records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
    position += length
  return records


class _Window:
  """A forward-only window on a stream: bytes from `base` up to what was read so far.

  The bytes live in one buffer that is reused, read into and compacted in
  place, so a piece touches the same memory throughout instead of asking the
  allocator (and the kernel) for fresh pages for every large read.
  """

  def __init__(self, stream: IO[bytes], start: int, end: int, file_size: int, read_size: int):
    stream.seek(start)
    self._stream = stream
    self._readinto = getattr(stream, "readinto", None)
    self._buffer = bytearray(2 * read_size)
    self._view = memoryview(self._buffer)
    self._lo = 0  # self._buffer[self._lo:self._hi] holds the file's bytes from `base` on.
    self._hi = 0
    self.base = start
    self._bulk_until = min(end + BLOCK, file_size)  # Past it, read only what is asked for.
    self.file_size = file_size
    self._read_size = read_size

  def _read_at_most(self, size: int) -> int:
    """Reads up to `size` bytes into the buffer at `_hi` (room made by the caller); 0 at end of file."""
    target = self._view[self._hi:self._hi + size]
    if self._readinto is not None:
      return self._readinto(target) or 0
    chunk = self._stream.read(size)
    target[:len(chunk)] = chunk
    return len(chunk)

  def _make_room(self, size: int) -> None:
    """Makes `size` free bytes after `_hi`: moves the held bytes to the front, or grows."""
    if self._hi + size <= len(self._buffer):
      return
    held = self._hi - self._lo
    if held + size > len(self._buffer):  # A member larger than the buffer: rare.
      bigger = bytearray(max(2 * len(self._buffer), held + size))
      bigger[:held] = self._view[self._lo:self._hi]
      self._view.release()
      self._buffer, self._view = bigger, memoryview(bigger)
    else:
      self._view[:held] = self._view[self._lo:self._hi]
    self._lo, self._hi = 0, held

  def ensure(self, stop: int) -> bool:
    """Reads forward until the window holds bytes up to `stop`; False at end of file."""
    stop = min(stop, self.file_size)
    while (have := self.base + self._hi - self._lo) < stop:
      size = max(stop - have, min(self._read_size, self._bulk_until - have))
      self._make_room(size)
      got = self._read_at_most(size)
      if not got:
        return False
      self._hi += got
    return True

  def get(self, start: int, stop: int) -> bytes:
    if start < self.base:  # Forgotten bytes: a bug in the caller, never wrong bytes.
      raise ValueError(f"bytes from {start:,} were dropped (the window starts at {self.base:,})")
    if not self.ensure(stop) or self.base + self._hi - self._lo < stop:
      raise EOFError(start)
    return bytes(self._view[self._lo + start - self.base:self._lo + stop - self.base])

  def forget_before(self, offset: int) -> None:
    """Drops bytes before `offset`; they will never be needed again.

    An `offset` past what was read (a member's padding, data of an entry that
    is not read) is reached by reading on and discarding, never by seeking.
    """
    end = self.base + self._hi - self._lo
    if offset < end:
      self._lo += max(0, offset - self.base)
      self.base = max(self.base, offset)
      return
    self._lo = self._hi = 0
    self.base = end
    while self.base < offset:
      got = self._read_at_most(min(len(self._buffer), offset - self.base))
      if not got:
        return
      self.base += got


class RangeReader:
  """Iterates the members a byte range owns; `span` says what it covered once done."""

  def __init__(
      self,
      stream: IO[bytes],
      display_name: str,
      file_size: int,
      start: int,
      end: int,
      *,
      read_size: int = READ_SIZE,
  ):
    self._name = display_name
    self._start = start
    self._end = end
    self._scan_from = max(0, _padded(start) - LOOKBACK)
    self._window = _Window(stream, self._scan_from, end, file_size, read_size)
    self._read_size = read_size
    self._zero_run = (0, 0)  # The last zero run found: [start, first non-zero byte or limit).
    self.span = RangeSpan()

  def _damaged(self, offset: int, what: str) -> ArchiveError:
    return ArchiveError(
        f"{self._name} is truncated or damaged at byte {offset:,} of"
        f" {self._window.file_size:,}: {what}. Re-download {self._name}"
        " (see README, 'Building from the archives')."
    )

  def _block(self, offset: int) -> bytes | None:
    try:
      return self._window.get(offset, offset + BLOCK)
    except EOFError:
      return None

  def _confirmed(self, offset: int) -> bool:
    """A valid header at `offset` whose chain continues to a valid header or to the archive's end.

    The end is the end of the file, or zeros that run to it. A zero run longer
    than the read size is not scanned here (that would hold it all in memory):
    the header is taken, and `__iter__` proves the end or fails naming the offset.
    """
    block = self._block(offset)
    if block is None or not header_is_valid(block):
      return False
    size = _octal(block[124:136])
    if size < 0 or size > _MAX_SCAN_MEMBER:
      return False
    following = offset + BLOCK + _padded(size)
    if following >= self._window.file_size:
      return following == self._window.file_size
    after = self._block(following)
    if after is None:
      return False
    if after != _ZERO_BLOCK:
      return header_is_valid(after)
    limit = min(following + self._read_size, self._window.file_size)
    return self._zeros_until(following, limit, forget=False) == limit

  def _first_header(self) -> tuple[int | None, int | None]:
    """(first confirmed header from the scan start on, offset from which the file is all zeros)."""
    offset = self._scan_from
    while offset < self._end and offset + BLOCK <= self._window.file_size:
      block = self._block(offset)
      if block == _ZERO_BLOCK:  # No header here, nor anywhere in the zero run.
        nonzero = self._zeros_until(offset, self._window.file_size, forget=True)
        if nonzero == self._window.file_size:
          return None, offset
        offset = nonzero // BLOCK * BLOCK  # The block holding the run's first non-zero byte.
        continue
      # A tar starts with a header: at 0 a valid one needs no confirmation, so
      # damage to the second header is reported as such.
      if offset == 0 and not header_is_valid(block) and compression_of(block):
        raise ArchiveError(not_plain_tar_message(self._name, compression_of(block)))
      if (offset == 0 and header_is_valid(block)) or self._confirmed(offset):
        return offset, None
      offset += BLOCK
      self._window.forget_before(offset)
    return None, None

  def _zeros_until(self, position: int, limit: int, forget: bool) -> int:
    """The first offset in `[position, limit)` holding a non-zero byte; `limit` if there is none.

    Each byte is looked at once per zero run (the last answer is kept), so a
    scan over a long run stays linear. With `forget`, the zeros are dropped
    from the window as they are passed: only when nothing before them is
    needed again.
    """
    run_start, run_stop = self._zero_run
    if run_start <= position <= run_stop:  # Known zeros up to run_stop: go on from there.
      stop = run_stop
    else:
      run_start = stop = position
    while stop < limit:
      chunk_stop = min(stop + (1 << 20), limit)
      chunk = self._window.get(stop, chunk_stop)
      nonzero = len(chunk) - len(chunk.lstrip(b"\0"))
      if nonzero < len(chunk):
        stop += nonzero
        break
      if forget:
        self._window.forget_before(chunk_stop // BLOCK * BLOCK)
      stop = chunk_stop
    self._zero_run = (run_start, stop)
    return min(stop, limit)

  def _end_of_archive(self, offset: int) -> None:
    """Checks that the zero block at `offset` is the archive's end: zeros up to the end of the file."""
    nonzero = self._zeros_until(offset, self._window.file_size, forget=True)
    if nonzero != self._window.file_size:
      raise self._damaged(offset, f"zeros where a tar header should be, but the file goes on"
                          f" after them (non-zero byte at {nonzero:,}): not the end of the archive")

  def __iter__(self) -> Iterator[TarMember]:
    offset, zeros_from = self._first_header()
    if offset is None:
      self.span = RangeSpan(zeros_from=zeros_from)
      return
    first, owned = None, 0
    while offset < self._end:
      block = self._block(offset)
      if block is None:
        raise self._damaged(offset, "the file ends where a tar header should start"
                            " (no end-of-archive block)")
      if block == _ZERO_BLOCK:
        self._end_of_archive(offset)
        if first is None:
          self.span = RangeSpan(zeros_from=offset)
        else:
          self.span = RangeSpan(first, offset, end_of_archive=offset, members=owned)
        return
      member, offset = self._read_member(offset, block)
      self._window.forget_before(offset)
      if member.offset >= self._start:  # Before it: the previous range's member.
        if first is None:
          first = member.offset
        owned += member.kind != OTHER
        yield member
    self.span = RangeSpan(first, offset, members=owned) if first is not None else RangeSpan()

  def _read_member(self, offset: int, block: bytes) -> tuple[TarMember, int]:
    """The logical member starting at `offset` (after any extended headers) and the next offset."""
    start = offset
    overrides: dict[str, str] = {}
    while True:
      if not header_is_valid(block):
        raise self._damaged(offset, "a tar header with a wrong checksum")
      kind = block[156:157]
      size = _octal(block[124:136])
      data_offset = offset + BLOCK
      following = data_offset + _padded(size)
      if kind in _PAX or kind in _GNU_LONG:
        try:
          data = self._window.get(data_offset, data_offset + size)
        except EOFError:
          raise self._damaged(offset, "an extended header is cut short") from None
        if kind == b"x":
          overrides.update(_pax_records(data))
        elif kind == b"L":
          overrides["path"] = _text(data)
        elif kind == b"K":
          overrides["linkpath"] = _text(data)
        offset = following
        block = self._block(offset)
        if block is None or block == _ZERO_BLOCK:
          raise self._damaged(offset, "an extended header is not followed by its member")
        continue
      size = int(overrides.get("size", size))
      following = data_offset + _padded(size)
      name = overrides.get("path") or _header_name(block)
      member_kind = _KINDS.get(kind, REGULAR)
      link_target = overrides.get("linkpath") or _text(block[157:257])
      data = b""
      if member_kind == REGULAR:
        if data_offset + size > self._window.file_size:
          raise ArchiveError(
              f"{self._name} is truncated: member {name!r} needs bytes up to"
              f" {data_offset + size:,} but the file has {self._window.file_size:,}."
              f" Re-download {self._name} (see README, 'Building from the archives')."
          )
        data = self._window.get(data_offset, data_offset + size)
      return TarMember(name, member_kind, start, data_offset, size, link_target, data), following


def read_member_at(stream: IO[bytes], member_offset: int, display_name: str, file_size: int) -> TarMember:
  """The member whose first header block is at `member_offset`, read forward on its own stream.

  For the rare member needed out of order: a hard link's target, or the name
  of a duplicate found after its piece was written.
  """
  reader = RangeReader(stream, display_name, file_size, member_offset, member_offset + 1,
                       read_size=1 << 20)
  for member in reader:
    if member.offset == member_offset:
      return member
    break
  raise ArchiveError(f"{display_name}: no member starts at byte {member_offset:,}.")
