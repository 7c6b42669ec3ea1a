"""Proofs run before anything is published: every byte tiled, every hash once, every row placed.

Pure functions over what the pieces report. They return problems (empty:
proven) or the fixes to make; the finalize step turns problems into an
`AccountingError` and publishes nothing.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Sequence

import numpy as np

from pass_tfds.pipeline import image_keys
from pass_tfds.pipeline.plan import Piece
from pass_tfds.pipeline.tar_stream import RangeSpan

# One written record of a piece, in record order.
WRITTEN_DTYPE = np.dtype([("hi", "<u8"), ("lo", "<u8"), ("offset", "<u8"), ("flags", "u1")])
REENCODED = 1
NO_METADATA = 2
INVALID_DATE = 4
INVALID_GPS = 8


def check_tiling(pieces: Sequence[Piece], spans: dict[str, RangeSpan]) -> list[str]:
  """Problems, if the pieces of an archive do not tile it byte for byte up to its end block.

  Within each archive, in byte order, every piece that owns members must
  start at the offset where the previous owner's last member ended (its
  chain's next header), a piece that owns none must lie wholly inside the
  previous owner's last member (or in the zeros at the end), and exactly one
  end-of-archive block must be reached. So no member was read by two pieces
  and none fell between them. A span's `end_of_archive` and `zeros_from` are
  proven by its reader (zeros from there to the end of the file), so zeros
  inside a member cannot pass for the end.
  """
  problems = []
  by_archive: dict[str, list[Piece]] = {}
  for piece in pieces:
    by_archive.setdefault(piece.archive.name, []).append(piece)
  for name, archive_pieces in sorted(by_archive.items()):
    expected, end_of_archive = 0, None
    for piece in sorted(archive_pieces, key=lambda piece: piece.start):
      span = spans[piece.name]
      if end_of_archive is not None:
        if span.first is not None:
          problems.append(f"{name}: bytes {piece.start:,}-{piece.end:,} hold a member after the"
                          f" end-of-archive block at {end_of_archive:,}")
        continue
      if span.first is not None:
        if span.first > expected:
          problems.append(f"{name} is damaged at byte {expected:,}: the member before ends there"
                          f" but the next valid tar header is at {span.first:,}")
        elif span.first < expected:
          problems.append(f"{name}: the piece at {piece.start:,}-{piece.end:,} starts with a header"
                          f" at {span.first:,}, inside the member that ends at {expected:,}")
        expected = span.stop
        if span.end_of_archive is not None:
          end_of_archive = span.end_of_archive
      elif span.zeros_from is not None and span.zeros_from <= expected:
        end_of_archive = expected
      elif expected < piece.end:
        problems.append(f"{name} is damaged at byte {expected:,}: the member before ends there"
                        f" but no valid tar header follows in bytes {piece.start:,}-{piece.end:,}")
    if end_of_archive is None:
      problems.append(f"{name}: no piece reached the end-of-archive block")
  return problems


@dataclasses.dataclass(frozen=True)
class PieceRecords:
  """The written records of one piece, for the duplicate check."""

  shard: int
  archive: int
  written: np.ndarray  # WRITTEN_DTYPE, in record order.


def duplicate_losers(pieces: Iterable[PieceRecords]) -> dict[int, np.ndarray]:
  """{shard: sorted record positions to drop} so that each hash is written once.

  Among the written copies of one hash, the first in (archive, offset) order
  wins, whichever piece wrote it; the others are dropped.
  """
  pieces = [piece for piece in pieces if len(piece.written)]
  if not pieces:
    return {}
  keys = image_keys.sortable(np.concatenate([piece.written[["hi", "lo"]] for piece in pieces]))
  archives = np.concatenate([np.full(len(piece.written), piece.archive) for piece in pieces])
  offsets = np.concatenate([piece.written["offset"] for piece in pieces])
  shards = np.concatenate([np.full(len(piece.written), piece.shard) for piece in pieces])
  positions = np.concatenate([np.arange(len(piece.written)) for piece in pieces])
  order = np.lexsort((offsets, archives, keys))
  repeated = np.zeros(len(order), dtype=bool)
  repeated[1:] = keys[order][1:] == keys[order][:-1]
  losers = order[repeated]
  result: dict[int, np.ndarray] = {}
  for shard in np.unique(shards[losers]):
    result[int(shard)] = np.sort(positions[losers][shards[losers] == shard])
  return result


def repeated_keys(written_keys: np.ndarray) -> list[str]:
  """Problems, if a key is among the written keys (KEY_DTYPE) more than once: after duplicates were dropped."""
  keys = image_keys.sortable(written_keys)
  repeats = len(keys) - len(np.unique(keys))
  return [f"{repeats} written images repeat the hash of another after duplicates were dropped"] if repeats else []


@dataclasses.dataclass(frozen=True)
class MetadataPlacement:
  """Where every CSV row with a usable hash went (each row counted once)."""

  rows_without_member: int  # Its hash names no archive member.
  rows_of_skipped_images: int  # Its hash names members, none of which was written.
  images_with_metadata: int  # Written images that found their row.
  images_without_metadata: int  # Written images whose hash has no row.


def place_metadata(lookup_keys: np.ndarray, member_keys: np.ndarray, written_keys: np.ndarray) -> MetadataPlacement:
  """Sets of keys (KEY_DTYPE arrays; `lookup_keys` unique) -> how many rows fall where."""
  rows = image_keys.sortable(lookup_keys)
  members = np.unique(image_keys.sortable(member_keys))
  written = np.unique(image_keys.sortable(written_keys))
  with_member = np.isin(rows, members, assume_unique=True)
  with_image = np.isin(rows, written, assume_unique=True)
  return MetadataPlacement(
      rows_without_member=int((~with_member).sum()),
      rows_of_skipped_images=int((with_member & ~with_image).sum()),
      images_with_metadata=int(with_image.sum()),
      images_without_metadata=int(len(written) - with_image.sum()),
  )
