"""read_counter.count_reads: ranged GETs, bytes and backward seeks of files
read through Beam's FileSystems, as Beam's gs:// reader would fetch them.
"""

from __future__ import annotations

import gzip
import os
import random

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from read_counter import BackwardSeek, count_reads

CHUNK = 64 * 1024
SIZE = 10 * CHUNK + 123


def write(folder, name: str, size: int = SIZE) -> str:
  path = os.path.join(folder, name)
  with open(path, "wb") as f:
    f.write(random.Random(name).randbytes(size))
  return path


def test_sequential_read_fetches_each_byte_once(tmp_path):
  path = write(tmp_path, "a.tar")
  with count_reads(str(tmp_path), chunk_size=CHUNK) as reads:
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
      data = b""
      while block := f.read(10_000):
        data += block
  with open(path, "rb") as f:
    assert data == f.read()
  assert reads.fetched("a.tar") == reads.fetched(path) == SIZE
  assert reads.ratio() == 1.0
  # 11 ranged GETs of ~CHUNK bytes, and one past the end that says "done".
  assert reads.requests("a.tar") == 12
  assert reads.mean_request_bytes == SIZE / 12
  assert reads.opens("a.tar") == 1
  assert reads.backward_seeks == []


def test_seek_back_to_start_is_recorded_and_refetched(tmp_path):
  path = write(tmp_path, "a.tar")
  with count_reads(str(tmp_path), chunk_size=CHUNK) as reads:
    with FileSystems.open(path) as f:
      f.seek(5 * CHUNK)
      middle = f.read(100)
      f.seek(0)
      start = f.read(100)
  with open(path, "rb") as f:
    content = f.read()
  assert (middle, start) == (content[5 * CHUNK:5 * CHUNK + 100], content[:100])
  assert reads.backward_seeks == [BackwardSeek("a.tar", 5 * CHUNK + 100, 0)]
  assert reads.requests("a.tar") == 2
  assert reads.fetched("a.tar") == 2 * (CHUNK + 1)  # BlobReader asks for chunk + 1 (inclusive end)


def test_random_reads_fetch_more_than_the_file(tmp_path):
  path = write(tmp_path, "a.tar")
  rng = random.Random(0)
  with count_reads(str(tmp_path), chunk_size=CHUNK) as reads:
    with FileSystems.open(path) as f:
      for _ in range(50):
        f.seek(rng.randrange(SIZE))
        f.read(1000)
  assert reads.fetched("a.tar") > SIZE
  assert reads.ratio() > 1
  assert len(reads.backward_seeks) > 10


def test_only_files_under_the_folder_and_patch_restored(tmp_path):
  (tmp_path / "src").mkdir()
  counted = write(tmp_path / "src", "a.csv", 1000)
  other = write(tmp_path, "b.csv", 1000)
  write(tmp_path / "src", "unread.tar", 500)
  with count_reads(str(tmp_path / "src"), chunk_size=CHUNK) as reads:
    for path in (counted, other):
      with FileSystems.open(path) as f:
        f.read()
  with FileSystems.open(counted) as f:
    f.read()
  assert reads.opens("a.csv") == 1 and reads.fetched("a.csv") == 1000
  assert "b.csv" not in reads.files and reads.fetched("unread.tar") == 0
  assert reads.sizes == {"a.csv": 1000, "unread.tar": 500}
  assert reads.ratio() == 1000 / 1500
  assert reads.ratio({"a.csv": 1000}) == 1.0


def test_compressed_files_are_decompressed_as_gcsfilesystem_does(tmp_path):
  path = os.path.join(tmp_path, "x.txt.gz")
  with gzip.open(path, "wb") as f:
    f.write(b"hello\n" * 1000)
  with count_reads(str(tmp_path), chunk_size=CHUNK) as reads:
    with FileSystems.open(path) as f:
      assert f.read() == b"hello\n" * 1000
  assert reads.fetched("x.txt.gz") == os.path.getsize(path)
