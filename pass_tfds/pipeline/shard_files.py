"""Shard files and their sidecars, through Beam FileSystems (local or gs://), without TensorFlow.

Workers never import TensorFlow: it costs seconds per worker process and
nothing here needs it. TFRecord framing is written directly (a length, two
masked CRC32C checksums and the data). ArrayRecord's writer only takes local
paths, so an ArrayRecord shard is written to a local temporary file and then
copied to its destination.

Every write here is safe to run twice, as a retried bundle does: files are
written under a temporary name and renamed into place, and `move` accepts a
destination that an earlier attempt already filled.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import os
import shutil
import struct
import tempfile
import uuid
from typing import IO, Iterable, Iterator

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
import google_crc32c

from pass_tfds.dataset import tfds_internals

TFRECORD = "tfrecord"
ARRAY_RECORD = "array_record"
_MASK_DELTA = 0xA282EAD8
# Blocks of 1 MiB are reused by the allocator; 16 MiB ones were fresh pages each
# time (verifying a reused piece ran at 0.9 GB/s instead of 4). A gs:// reader
# still fetches 16 MiB per request and serves these from its buffer.
_COPY_BLOCK = 1 << 20


def masked_crc32c(data: bytes) -> int:
  crc = google_crc32c.value(data)
  return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def tfrecord_frame(record: bytes) -> tuple[bytes, bytes]:
  """The bytes before and after a record in a TFRecord file."""
  length = struct.pack("<Q", len(record))
  return length + struct.pack("<I", masked_crc32c(length)), struct.pack("<I", masked_crc32c(record))


@dataclasses.dataclass(frozen=True)
class FileDigest:
  """What identifies a finished file: its size, the CRC32C of its bytes and, where computed, their sha256.

  The shard writer computes all three in its one pass; a reuse check reads
  size and CRC32C only (`digest_of`), at CRC32C's speed.
  """

  size: int
  crc32c: int
  sha256: str | None = None  # Hex digits.


@dataclasses.dataclass(frozen=True)
class WrittenShard:
  """What `write_shard` wrote: the file's digest and the records it framed, counted as written."""

  digest: FileDigest
  records: int


def _create(path: str) -> IO[bytes]:
  return FileSystems.create(
      path, mime_type="application/octet-stream", compression_type=CompressionTypes.UNCOMPRESSED
  )


def open_read(path: str) -> IO[bytes]:
  return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def is_local(path: str) -> bool:
  return "://" not in path


def temporary_name(path: str) -> str:
  """A name beside `path` that no other attempt uses."""
  return f"{path}.tmp-{uuid.uuid4().hex[:12]}"


class _Counted:
  """Passes records through, counting them: what the writer framed, not what its caller meant to send."""

  def __init__(self, records: Iterable[bytes]):
    self._records = records
    self.count = 0

  def __iter__(self) -> Iterator[bytes]:
    for record in self._records:
      yield record
      self.count += 1


def _write_tfrecords(path: str, records: Iterable[bytes]) -> WrittenShard:
  # Each part goes to the stream as it is: the stream buffers the small frames,
  # and a record (an image) is copied once, into the file.
  crc, size, count, sha256 = 0, 0, 0, hashlib.sha256()
  with _create(path) as stream:
    for record in records:
      head, tail = tfrecord_frame(record)
      for part in (head, record, tail):
        crc = google_crc32c.extend(crc, part)
        sha256.update(part)
        stream.write(part)
      size += len(head) + len(record) + len(tail)
      count += 1
  return WrittenShard(FileDigest(size, crc, sha256.hexdigest()), count)


def _write_array_records(path: str, records: Iterable[bytes]) -> WrittenShard:
  counted = _Counted(records)
  with tempfile.TemporaryDirectory(prefix="pass_tfds-") as local_dir:
    local = os.path.join(local_dir, "shard.array_record")
    tfds_internals.write_array_records(local, counted)
    return WrittenShard(copy_local_file(local, path), counted.count)


def copy_local_file(local: str, path: str) -> FileDigest:
  """Copies a local file to `path` (local or remote) and returns its digest, sha256 included."""
  crc, size, sha256 = 0, 0, hashlib.sha256()
  with open(local, "rb") as source, _create(path) as destination:
    for block in iter(lambda: source.read(_COPY_BLOCK), b""):
      crc = google_crc32c.extend(crc, block)
      sha256.update(block)
      size += len(block)
      destination.write(block)
  return FileDigest(size, crc, sha256.hexdigest())


def write_shard(path: str, records: Iterable[bytes], file_format: str) -> WrittenShard:
  """Writes the records to `path` through a temporary name; returns what it wrote.

  A failure half way leaves at most a temporary file, never a partial `path`.
  """
  partial = temporary_name(path)
  try:
    if file_format == TFRECORD:
      written = _write_tfrecords(partial, records)
    elif file_format == ARRAY_RECORD:
      written = _write_array_records(partial, records)
    else:
      raise ValueError(f"unknown file format {file_format!r}")
    rename(partial, path)
  except BaseException:
    delete_if_exists(partial)
    raise
  return written


def digest_of(path: str, with_sha256: bool = False) -> FileDigest | None:
  """The size and CRC32C (and sha256 if asked) of a file, read once front to back; None if it does not exist."""
  if not FileSystems.exists(path):
    return None
  crc, size, sha256 = 0, 0, hashlib.sha256() if with_sha256 else None
  with open_read(path) as stream:
    for block in iter(lambda: stream.read(_COPY_BLOCK), b""):
      crc = google_crc32c.extend(crc, block)
      if sha256 is not None:
        sha256.update(block)
      size += len(block)
  return FileDigest(size, crc, sha256.hexdigest() if sha256 is not None else None)


def file_size(path: str) -> int | None:
  try:
    return FileSystems.match([path])[0].metadata_list[0].size_in_bytes
  except Exception:  # pylint: disable=broad-except  (missing: Beam raises its own error types)
    return None


def iter_tfrecords(stream: IO[bytes]) -> Iterator[bytes]:
  """The records of a TFRecord stream; checks every checksum."""
  while True:
    head = stream.read(12)
    if not head:
      return
    (length,) = struct.unpack("<Q", head[:8])
    if len(head) != 12 or struct.unpack("<I", head[8:])[0] != masked_crc32c(head[:8]):
      raise OSError("damaged TFRecord length")
    record = stream.read(length)
    tail = stream.read(4)
    if len(record) != length or len(tail) != 4 or struct.unpack("<I", tail)[0] != masked_crc32c(record):
      raise OSError("damaged TFRecord record")
    yield record


def read_records(path: str, file_format: str) -> Iterator[bytes]:
  """Every record of a shard, in order."""
  if file_format == TFRECORD:
    with open_read(path) as stream:
      yield from iter_tfrecords(stream)
    return
  with tempfile.TemporaryDirectory(prefix="pass_tfds-") as local_dir:
    local = path
    if not is_local(path):
      local = os.path.join(local_dir, "shard.array_record")
      with open_read(path) as source, open(local, "wb") as destination:
        shutil.copyfileobj(source, destination, _COPY_BLOCK)
    yield from tfds_internals.read_array_records(local)


def rename(source: str, destination: str) -> None:
  """Renames, replacing an existing destination."""
  if FileSystems.exists(destination):
    FileSystems.delete([destination])
  FileSystems.rename([source], [destination])


def move(source: str, destination: str, expected_size: int) -> None:
  """Moves a finished file into place; a second run after a full or partial first is a no-op.

  Raises FileNotFoundError when neither the source nor a destination of the
  expected size exists.
  """
  if FileSystems.exists(source):
    rename(source, destination)
    return
  if file_size(destination) == expected_size:
    return
  raise FileNotFoundError(f"{source} is missing and {destination} is not the finished file")


def delete_if_exists(path: str) -> None:
  if FileSystems.exists(path):
    FileSystems.delete([path])


def write_text(path: str, text: str) -> None:
  """Writes a small text file through a temporary name, so readers never see half of it."""
  partial = temporary_name(path)
  with FileSystems.create(partial, mime_type="text/plain") as stream:
    stream.write(text.encode("utf-8"))
  rename(partial, path)


def read_text(path: str) -> str | None:
  if not FileSystems.exists(path):
    return None
  with open_read(path) as stream:
    return stream.read().decode("utf-8")


def write_json(path: str, value: object) -> None:
  write_text(path, json.dumps(value, sort_keys=True))


def read_json(path: str) -> object | None:
  text = read_text(path)
  if text is None:
    return None
  try:
    return json.loads(text)
  except ValueError:
    return None  # A damaged sidecar is as good as none.


def write_bytes(path: str, data: bytes) -> None:
  partial = temporary_name(path)
  with _create(partial) as stream:
    stream.write(data)
  rename(partial, path)


def read_bytes(path: str) -> bytes:
  with open_read(path) as stream:
    return stream.read()


def list_files(pattern: str) -> list[str]:
  try:
    return sorted(metadata.path for metadata in FileSystems.match([pattern])[0].metadata_list)
  except Exception:  # pylint: disable=broad-except  (Beam raises BeamIOError for a missing folder)
    return []


def matching_folders(pattern: str) -> list[str]:
  """Folders whose path matches a glob pattern (on gs://: prefixes that hold files)."""
  if is_local(pattern):
    return sorted(path for path in glob.glob(pattern) if os.path.isdir(path))
  depth = pattern.rstrip("/").count("/")
  files = list_files(pattern.rstrip("/") + "/**")
  return sorted({"/".join(path.split("/")[:depth + 1]) for path in files})


def delete_tree(path: str) -> None:
  """Deletes a folder and everything in it, if it exists."""
  if is_local(path):
    shutil.rmtree(path, ignore_errors=True)
    return
  files = list_files(path.rstrip("/") + "/**")
  if files:
    FileSystems.delete(files)
