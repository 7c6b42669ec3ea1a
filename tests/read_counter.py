"""What would reading a folder's files from GCS cost? Counts ranged GETs and bytes.

`count_reads(folder)` makes every file under `folder` that is opened through
Beam's FileSystems in this process (an in_memory DirectRunner build runs here)
be served by Beam's own gs:// reader, `gcsio.BeamBlobReader` (a subclass of
google-cloud-storage's `BlobReader`), over a fake blob that reads the local
file and counts each ranged GET, as /work/shared/tools/gcs_reads.py does.
It also records every backward seek. Reads that bypass Beam's FileSystems
(plain `open()`, `tf.io.gfile`) are not seen: they show up as fetched < size.

    with read_counter.count_reads(manual_dir) as reads:
      run_build(...)
    assert reads.ratio() <= 1.01 and not reads.backward_seeks
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from typing import Iterator, Mapping, NamedTuple

from apache_beam.io.filesystem import CompressedFile, CompressionTypes, FileSystem
from apache_beam.io.gcp import gcsio
from apache_beam.io.localfilesystem import LocalFileSystem
from google.api_core.exceptions import RequestRangeNotSatisfiable


class BackwardSeek(NamedTuple):
  name: str
  from_pos: int
  to_pos: int


@dataclasses.dataclass
class FileReads:
  opens: int = 0
  requests: int = 0
  fetched: int = 0


class ReadCounts:
  """Per file (path relative to the folder): opens, ranged GETs, bytes fetched."""

  def __init__(self, folder: str, chunk_size: int):
    self.folder = os.path.realpath(folder)
    self.chunk_size = chunk_size
    self.files: dict[str, FileReads] = {}
    self.backward_seeks: list[BackwardSeek] = []
    self.sizes: dict[str, int] = {}  # every file under the folder at entry
    for root, _, names in os.walk(self.folder):
      for n in names:
        path = os.path.join(root, n)
        self.sizes[self.name(path)] = os.path.getsize(path)
    self._lock = threading.Lock()

  def name(self, path: str) -> str:
    """The key for a path: relative to the folder (a relative name is kept as is)."""
    if not os.path.isabs(path):
      return path.replace(os.sep, "/")
    return os.path.relpath(os.path.realpath(path), self.folder).replace(os.sep, "/")

  def covers(self, path: str) -> bool:
    return os.path.realpath(path).startswith(self.folder + os.sep)

  def _opened(self, name: str) -> None:
    with self._lock:
      self.files.setdefault(name, FileReads()).opens += 1

  def _fetched(self, name: str, n: int) -> None:
    with self._lock:
      f = self.files.setdefault(name, FileReads())
      f.requests += 1
      f.fetched += n

  def _seeked_back(self, name: str, from_pos: int, to_pos: int) -> None:
    with self._lock:
      self.backward_seeks.append(BackwardSeek(name, from_pos, to_pos))

  def fetched(self, name: str) -> int:
    return self.files.get(self.name(name), FileReads()).fetched

  def requests(self, name: str) -> int:
    return self.files.get(self.name(name), FileReads()).requests

  def opens(self, name: str) -> int:
    return self.files.get(self.name(name), FileReads()).opens

  @property
  def total_fetched(self) -> int:
    return sum(f.fetched for f in self.files.values())

  @property
  def total_requests(self) -> int:
    return sum(f.requests for f in self.files.values())

  @property
  def mean_request_bytes(self) -> float:
    return self.total_fetched / self.total_requests if self.total_requests else 0.0

  def ratio(self, source_sizes: Mapping[str, int] | None = None) -> float:
    """Bytes fetched from the given files over their sizes (default: every file at entry).

    1.0 means each byte read once; below 1, some bytes were never read through
    FileSystems; above 1, some were fetched more than once.
    """
    sizes = self.sizes if source_sizes is None else {self.name(k): v for k, v in source_sizes.items()}
    total = sum(sizes.values())
    fetched = sum(self.fetched(n) for n in sizes)
    return fetched / total if total else 0.0

  def summary(self) -> str:
    return (f"fetched={self.total_fetched:,} of {sum(self.sizes.values()):,} "
            f"requests={self.total_requests:,} mean_request={self.mean_request_bytes:,.0f} "
            f"ratio={self.ratio():.3f} backward_seeks={len(self.backward_seeks)}")


class _LocalBlob:
  """Enough of google.cloud.storage.Blob for BeamBlobReader: ranged GETs of a local file."""

  chunk_size = None
  content_encoding = None
  content_type = "application/octet-stream"

  def __init__(self, path: str, name: str, counts: ReadCounts):
    self.path, self.name, self._counts = path, name, counts
    self.size = os.path.getsize(path)

  def reload(self, **_) -> None:
    pass

  def download_as_bytes(self, start: int = 0, end: int | None = None, **_) -> bytes:
    # GCS ranges are inclusive: BlobReader asks for [start, start + n] and buffers the rest.
    if start >= self.size > 0:
      self._counts._fetched(self.name, 0)
      raise RequestRangeNotSatisfiable("requested range starts at or after the end")
    with open(self.path, "rb") as f:
      f.seek(start)
      data = f.read(None if end is None else end - start + 1)
    self._counts._fetched(self.name, len(data))
    return data


class _CountingReader(gcsio.BeamBlobReader):
  """Beam's gs:// reader that also records seeks to before the current position."""

  def seek(self, pos: int, whence: int = 0) -> int:
    current = self._pos + self._buffer.tell()
    target = {0: pos, 1: current + pos, 2: self._blob.size + pos}.get(whence, pos)
    if target < current:
      self._blob._counts._seeked_back(self._blob.name, current, target)
    return super().seek(pos, whence)


@contextlib.contextmanager
def count_reads(folder: str, chunk_size: int = gcsio.DEFAULT_READ_BUFFER_SIZE) -> Iterator[ReadCounts]:
  """Serves files under `folder` opened through Beam FileSystems as gs:// objects, counting GETs.

  chunk_size: the reader's minimum request, Beam's `read_buffer_size` (16 MiB by default).
  """
  counts = ReadCounts(folder, chunk_size)
  local_open = LocalFileSystem.open

  def gcs_like_open(self, path, mime_type="application/octet-stream",
                    compression_type=CompressionTypes.AUTO):
    if not counts.covers(path):
      return local_open(self, path, mime_type, compression_type)
    # As GCSFileSystem._path_open, with gcsio's reader over the counting blob.
    name = counts.name(path)
    counts._opened(name)
    reader = _CountingReader(_LocalBlob(path, name, counts), chunk_size=chunk_size)
    compression_type = FileSystem._get_compression_type(path, compression_type)
    if compression_type == CompressionTypes.UNCOMPRESSED:
      return reader
    return CompressedFile(reader, compression_type=compression_type)

  LocalFileSystem.open = gcs_like_open
  try:
    yield counts
  finally:
    LocalFileSystem.open = local_open
