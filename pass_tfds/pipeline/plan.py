"""Which bytes of which archive each shard reads: the build's plan, from file sizes alone.

Pure functions: the same archives (names and sizes) and the same settings give
the same pieces in the same order whatever runner, worker count or arrival
order, so a shard is the same shard on every run and `train[:1%]` means the
same images everywhere. No byte of an archive is read to plan.

A piece is a byte range `[start, end)` of one archive; it becomes one shard.
It owns the members whose first header block starts inside it (see
`tar_stream`). Shards take the pieces round-robin across archives (piece 0 of
every archive, then piece 1, ...), so any prefix of the split draws from
every archive once it spans as many shards as there are archives.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Sequence

from pass_tfds.errors import UsageError

BLOCK = 512
# 160 MiB: the full PASS build is ~1,075 shards, so `train[:1%]` spans piece 0
# of all ten archives, and the few MiB a gs:// reader fetches past each piece's
# end stay under 10 % of what the piece reads.
DEFAULT_RANGE_BYTES = 160 << 20
# `Piece.name`: <archive name>.<start>-<end>, offsets as 12 digits.
PIECE_NAME = re.compile(r"^(?P<archive>.+\.tar)\.(?P<start>\d{12})-(?P<end>\d{12})$")


@dataclasses.dataclass(frozen=True, slots=True)
class SourceArchive:
  """One archive of the build: its position in the archive list, name, path and size.

  `identity` tells this file's bytes apart from another's without reading them
  (`reuse.source_identity`: size, modification time, on gs:// the object's
  checksum); a stored piece is reused only if it was read from the same.
  """

  index: int
  name: str
  path: str
  size: int
  identity: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Piece:
  """A byte range of one archive, written as one shard."""

  shard: int  # Position in the shard order, before empty pieces are dropped.
  archive: SourceArchive
  part: int  # Position of the range within its archive.
  parts: int  # Ranges in that archive.
  start: int
  end: int

  @property
  def name(self) -> str:
    """A stable name for the piece's files: the same bytes give the same name on every run."""
    return f"{self.archive.name}.{self.start:012d}-{self.end:012d}"


def parts_per_archive(sizes: Sequence[int], range_bytes: int, num_shards: int | None) -> list[int]:
  """How many pieces each archive is cut into.

  Default: enough that no piece is larger than `range_bytes`. With
  `num_shards`, exactly that many pieces in all, shared in proportion to size
  (largest remainder), at least one per archive.
  """
  if not sizes:
    return []
  if num_shards is None:
    if range_bytes < BLOCK:
      raise UsageError(f"--range_mb must be at least {BLOCK} bytes, not {range_bytes} bytes.")
    return [max(1, math.ceil(size / range_bytes)) for size in sizes]
  if num_shards < len(sizes):
    raise UsageError(
        f"--num_shards {num_shards} is fewer than the {len(sizes)} archives of this build; each"
        f" shard reads part of one archive. Use --num_shards {len(sizes)} or more."
    )
  total = sum(sizes) or 1
  quotas = [num_shards * size / total for size in sizes]
  parts = [max(1, math.floor(quota)) for quota in quotas]
  by_remainder = sorted(range(len(sizes)), key=lambda i: (-(quotas[i] - math.floor(quotas[i])), i))
  for i in by_remainder:
    if sum(parts) >= num_shards:
      break
    parts[i] += 1
  while sum(parts) > num_shards:  # Minimums pushed us over: take from the largest.
    largest = max(range(len(parts)), key=lambda i: (parts[i], -i))
    parts[largest] -= 1
  return parts


def split_range(size: int, parts: int) -> list[tuple[int, int]]:
  """`parts` contiguous ranges tiling `[0, size)`, cut at 512-byte block boundaries."""
  cuts = [0] + [round(size * i / parts / BLOCK) * BLOCK for i in range(1, parts)] + [size]
  return list(zip(cuts[:-1], cuts[1:]))


def plan_pieces(
    archives: Sequence[SourceArchive],
    range_bytes: int = DEFAULT_RANGE_BYTES,
    num_shards: int | None = None,
) -> list[Piece]:
  """Every archive cut into pieces, in shard order: round-robin across archives."""
  parts = parts_per_archive([archive.size for archive in archives], range_bytes, num_shards)
  ranges = {
      archive.index: split_range(archive.size, count) for archive, count in zip(archives, parts)
  }
  ordered = sorted(
      ((part, archive) for archive, count in zip(archives, parts) for part in range(count)),
      key=lambda item: (item[0], item[1].index),
  )
  return [
      Piece(shard, archive, part, len(ranges[archive.index]), *ranges[archive.index][part])
      for shard, (part, archive) in enumerate(ordered)
  ]
