"""A crafted archive for the tiling proof: a member whose bytes carry a small tar.

The carrier's data holds random bytes, then a tar header with a valid checksum,
one block of data and two zero blocks (a tar of its own), then random bytes
again. The archive is laid out so that, cut in two pieces by `plan`, the second
piece starts scanning for headers (`tar_stream.LOOKBACK` before its start)
inside the carrier, before the carried header, which lies before its start: a
reader that takes "a header followed by zeros" for the end of the archive
stops there and never reads the members after the carrier.
"""

from __future__ import annotations

import dataclasses
import io
import os
import random
import tarfile

from pass_tfds.pipeline import plan, tar_stream
from pass_tfds.testing import pictures
from pass_tfds.testing.hashes import hash_with_length

_BLOCK = 512
_LEAD = 20 << 10  # Random bytes before the carried tar: where the scan starts.


@dataclasses.dataclass(frozen=True)
class CarrierArchive:
  path: str
  cut: int  # Where the second of two pieces starts (`plan.split_range(size, 2)`).
  carried_header: int  # Offset of the header inside the carrier's data.
  images: tuple[str, ...]  # Hashes of every image member, in archive order.
  after: tuple[str, ...]  # ... of those after the carrier.


def _jpeg(rng: random.Random) -> bytes:
  color = tuple(rng.randrange(256) for _ in range(3))
  return pictures.encode(pictures.Image.new("RGB", (16, 12), color), quality=90)


def carried_tar() -> bytes:
  """A header with a valid checksum, one block of data, two zero blocks."""
  buffer = io.BytesIO()
  info = tarfile.TarInfo("carried.jpg")
  info.size = _BLOCK
  with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
    tar.addfile(info, io.BytesIO(b"c" * _BLOCK))
  return buffer.getvalue()[:4 * _BLOCK]


def _random_without_zero_blocks(rng: random.Random, size: int) -> bytes:
  return bytes(rng.randrange(1, 256) for _ in range(size))


def write_carrier_archive(path: str, before: int = 3, after: int = 12, seed: int = 0) -> CarrierArchive:
  """`before` images, the carrier, `after` images, in one GNU tar at `path`."""
  rng = random.Random(seed)
  hashes = [hash_with_length(f"carrier/{seed}/{i}", taken=set()) for i in range(before + after)]
  images = [(f"PASS.0/{h}.jpg", _jpeg(rng)) for h in hashes]
  lead = _random_without_zero_blocks(rng, _LEAD)
  for tail in range(0, 64 << 10, 1024):  # Lengthen the carrier until the cut falls right.
    payload = lead + carried_tar() + _random_without_zero_blocks(random.Random(tail), 4096 + tail)
    members = images[:before] + [("PASS.0/carrier.bin", payload)] + images[before:]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
      for name, data in members:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
      offsets = {info.name: info.offset_data for info in tar.getmembers()}
    data = buffer.getvalue()
    carried = offsets["PASS.0/carrier.bin"] + len(lead)
    cut = plan.split_range(len(data), 2)[1][0]
    scan_from = cut - tar_stream.LOOKBACK
    if offsets["PASS.0/carrier.bin"] < scan_from < carried < cut:
      with open(path, "wb") as f:
        f.write(data)
      return CarrierArchive(os.fspath(path), cut, carried, tuple(hashes), tuple(hashes[before:]))
  raise AssertionError("no carrier length puts the cut after the carried header")
