"""Reading PASS tar archives as streams: an index of members, then members by offset.

Nothing is extracted to disk. Files are opened through Beam's `FileSystems`,
so the same code reads a local path or `gs://bucket/PASS.0.tar` on Dataflow.
"""

from __future__ import annotations

import posixpath
import re
import tarfile
from typing import IO, Iterator, NamedTuple

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from pass_tfds import accounting
from pass_tfds.errors import ArchiveError  # noqa: F401  (re-exported)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})
_HEX_RE = re.compile(r"^[0-9a-fA-F]{8,64}$")


class Member(NamedTuple):
  """Where one regular file lies inside an archive."""

  archive: int  # Position of the archive in the build's archive list.
  name: str  # Path inside the tar.
  offset: int  # Byte offset of the member's data.
  size: int


class IndexedMember(NamedTuple):
  """A member and what its name says about it."""

  member: Member
  hash: str | None  # The image hash from the file name; None if not usable.
  skip_reason: str | None  # Set when the name alone rules the member out.


def join_key(image_hash: str) -> str:
  """The key joining a member's hash to a CSV row: lower case, no leading zeros.

  PASS hashes are 30-32 hex digits; a source that dropped leading zeros on one
  side must still match the other.
  """
  return image_hash.strip().lower().lstrip("0") or "0"


def classify_member_name(name: str, size: int) -> tuple[str | None, str | None]:
  """Returns (hash, skip reason) for a regular file's path inside an archive."""
  base = posixpath.basename(name)
  stem, suffix = posixpath.splitext(base)
  if base.startswith("._") or base.startswith(".") or suffix.lower() not in IMAGE_SUFFIXES:
    return None, accounting.NOT_AN_IMAGE
  if not _HEX_RE.match(stem):
    return None, accounting.NAME_WITHOUT_HASH
  if size == 0:
    return stem, accounting.EMPTY_FILE
  return stem, None


def open_file(path: str) -> IO[bytes]:
  """Opens a local or remote file for binary reading, as is (no decompression)."""
  return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def file_size(path: str) -> int:
  return FileSystems.match([path])[0].metadata_list[0].size_in_bytes


def iter_index(path: str, archive: int, display_name: str) -> Iterator[IndexedMember | None]:
  """Yields every regular-file member of the tar at `path`; None for other entries.

  Only headers are read: tarfile seeks over member data. A damaged or truncated
  archive raises `ArchiveError` naming the file.
  """
  total = file_size(path)
  with open_file(path) as stream:
    try:
      tar = tarfile.open(fileobj=stream, mode="r:")
      while True:
        info = tar.next()
        if info is None:
          break
        tar.members.clear()  # tarfile keeps every header; we do not need them.
        if not info.isreg():
          yield None
          continue
        if info.offset_data + info.size > total:
          raise ArchiveError(
              f"{display_name} is truncated: member {info.name!r} needs bytes up to"
              f" {info.offset_data + info.size:,} but the file has {total:,}."
              f" Re-download {display_name} (see README, 'Building from the archives')."
          )
        image_hash, reason = classify_member_name(info.name, info.size)
        yield IndexedMember(Member(archive, info.name, info.offset_data, info.size), image_hash, reason)
      # tarfile stops quietly at a cut or damaged header; a whole archive ends
      # with a zero block instead.
      stream.seek(tar.offset)
      if stream.read(tarfile.BLOCKSIZE) != tarfile.NUL * tarfile.BLOCKSIZE:
        raise ArchiveError(
            f"{display_name} is truncated or damaged at byte {tar.offset:,} of {total:,}:"
            f" no end-of-archive block. Re-download {display_name} (see README,"
            " 'Building from the archives')."
        )
    except tarfile.TarError as error:
      raise ArchiveError(
          f"{display_name} is not a readable tar archive ({error}). The file is damaged:"
          f" re-download {display_name} (see README, 'Building from the archives')."
      ) from error


class MemberReader:
  """Reads members by offset, keeping one open stream per archive."""

  def __init__(self, paths: list[str]):
    self._paths = paths
    self._streams: dict[int, IO[bytes]] = {}

  def read(self, member: Member) -> bytes:
    stream = self._streams.get(member.archive)
    if stream is None:
      stream = self._streams[member.archive] = open_file(self._paths[member.archive])
    stream.seek(member.offset)
    data = stream.read(member.size)
    if len(data) != member.size:
      raise ArchiveError(
          f"{posixpath.basename(self._paths[member.archive])}: member {member.name!r} is cut"
          f" short ({len(data)} of {member.size} bytes); the archive changed or is damaged."
          " Re-download it."
      )
    return data

  def close(self) -> None:
    for stream in self._streams.values():
      stream.close()
    self._streams.clear()
