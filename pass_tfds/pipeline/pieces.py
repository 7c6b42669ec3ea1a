"""Writing one piece: read a byte range of an archive front to back, write its shard.

`PieceWriter` is the per-image path of the build: tar member -> checks ->
prepared JPEG -> metadata row from the lookup -> serialized example -> shard
file. What it did is a `PieceResult`, which is also stored beside the shard as
a sidecar, so that a rerun can reuse the shard without reading its archive
again.
"""

from __future__ import annotations

import base64
import dataclasses
from typing import Callable, Iterator, Sequence

import numpy as np

from pass_tfds.pipeline import accounting, archives, example_codec, image_keys, images, reconcile, shard_files
from pass_tfds.pipeline import tar_stream
from pass_tfds.errors import StrictModeError
from pass_tfds.pipeline.metadata_lookup import MetadataLookup
from pass_tfds.pipeline.plan import Piece
from pass_tfds.pipeline.tar_stream import RangeSpan

SIDECAR_VERSION = 3  # 3: with the shard's sha256.


@dataclasses.dataclass(kw_only=True)
class PieceResult:
  """What one piece wrote: its shard file, counts, keys and the span it covered.

  Its place in the build (`piece`: shard number, archive, byte range) and its
  files' paths are today's, never read back from a sidecar.
  """

  piece: Piece
  path: str  # The shard file.
  records: int  # Counted by the shard writer as it framed them.
  digest: shard_files.FileDigest
  span: RangeSpan
  counts: accounting.BuildCounts
  sidecar: str  # Where this result is stored, arrays included.
  key: dict  # What the shard's bytes were made from (`reuse`).
  # The arrays travel through the pipeline only in the sidecar (`light`, `with_arrays`).
  member_keys: np.ndarray | None  # KEY_DTYPE: every member named with a usable hash, written or not.
  written: np.ndarray | None  # reconcile.WRITTEN_DTYPE, one per record, in record order.
  reused: bool = False

  @property
  def name(self) -> str:
    return self.piece.name

  @property
  def shard(self) -> int:
    return self.piece.shard

  @property
  def archive(self) -> str:
    return self.piece.archive.name

  @property
  def source_bytes(self) -> int:
    return self.piece.end - self.piece.start

  def light(self) -> PieceResult:
    """Without its arrays: what moves between pipeline steps (megabytes fewer per piece)."""
    return dataclasses.replace(self, member_keys=None, written=None)

  def with_arrays(self) -> PieceResult:
    """With its arrays, read back from the sidecar if they were left out."""
    if self.written is not None:
      return self
    stored = PieceResult.from_json(shard_files.read_json(self.sidecar), piece=self.piece, path=self.path,
                                   sidecar=self.sidecar)
    return dataclasses.replace(self, member_keys=stored.member_keys, written=stored.written)

  def to_json(self) -> dict:
    return {
        "version": SIDECAR_VERSION,
        "key": self.key,
        "name": self.name,  # Name, range and records also feed `progress`.
        "start": self.piece.start,
        "end": self.piece.end,
        "records": self.records,
        "size": self.digest.size,
        "crc32c": self.digest.crc32c,
        "sha256": self.digest.sha256,
        "span": dataclasses.asdict(self.span),
        "counts": self.counts.to_json(),
        "member_keys": base64.b64encode(self.member_keys.tobytes()).decode("ascii"),
        "written": base64.b64encode(self.written.tobytes()).decode("ascii"),
    }

  @classmethod
  def from_json(cls, value: dict, *, piece: Piece, path: str, sidecar: str) -> PieceResult:
    """A stored result, placed where today's plan puts `piece`."""
    return cls(
        piece=piece,
        path=path,
        records=value["records"],
        digest=shard_files.FileDigest(value["size"], value["crc32c"], value["sha256"]),
        span=RangeSpan(**value["span"]),
        counts=accounting.BuildCounts.from_json(value["counts"]),
        sidecar=sidecar,
        key=value["key"],
        member_keys=np.frombuffer(base64.b64decode(value["member_keys"]), dtype=image_keys.KEY_DTYPE),
        written=np.frombuffer(base64.b64decode(value["written"]), dtype=reconcile.WRITTEN_DTYPE),
        reused=True,
    )


def fail_if_strict(strict: bool, archive: str, member: str, reason: str, detail: str) -> None:
  if strict and reason in accounting.STRICT_REASONS:
    raise StrictModeError(
        f"--strict: {archive}: member {member!r} skipped ({reason}: {detail}). Re-download"
        f" {archive}, or build without --strict to skip it and list it in build_report.json."
    )


def fail_if_strict_on_reuse(strict: bool, counts: accounting.BuildCounts) -> None:
  """What `--strict` would have said had a reused piece been written now."""
  for reason in sorted(accounting.STRICT_REASONS):
    if strict and counts.skipped.get(reason):
      archive, _, member = counts.skipped_examples[reason][0].partition(":")
      fail_if_strict(strict, archive, member, reason, "found when this piece was written")


class _Output:
  """What one config's shard of a piece holds: its counts, and one row per record."""

  def __init__(self, prepare: Callable[[bytes], images.PreparedImage]):
    self.prepare = prepare
    self.counts = accounting.BuildCounts()
    self.written: list[tuple[int, int, int, int]] = []
    self.written_here: set[int] = set()


class PieceWriter:
  """Turns the members of one piece into serialized examples, counting every member.

  `prepare` may be a list, one per config: the piece is then read once and
  `rows` gives each member's record for every config (None where that config
  skipped it), each config counted as if it had been built alone.
  """

  def __init__(
      self,
      piece: Piece,
      lookup: MetadataLookup,
      prepare: Callable[[bytes], images.PreparedImage] | Sequence[Callable[[bytes], images.PreparedImage]],
      strict: bool,
      read_size: int = tar_stream.READ_SIZE,
  ):
    self._piece = piece
    self._lookup = lookup
    self._outputs = [_Output(one) for one in ([prepare] if callable(prepare) else prepare)]
    self._strict = strict
    self._read_size = read_size
    self.span = RangeSpan()
    self._member_keys: list[int] = []

  @property
  def counts(self) -> accounting.BuildCounts:
    return self._outputs[0].counts

  def counts_of(self, output: int) -> accounting.BuildCounts:
    return self._outputs[output].counts

  def member_keys(self) -> np.ndarray:
    return image_keys.keys_array(self._member_keys)

  def written(self, output: int = 0) -> np.ndarray:
    return np.array(self._outputs[output].written, dtype=reconcile.WRITTEN_DTYPE)

  def _skip(self, output: _Output, member: str, reason: str, detail: str) -> None:
    fail_if_strict(self._strict, self._piece.archive.name, member, reason, detail)
    output.counts.add_skipped(self._piece.archive.name, member, reason)

  def _skip_all(self, member: str, reason: str, detail: str) -> None:
    for output in self._outputs:
      self._skip(output, member, reason, detail)

  def records(self) -> Iterator[bytes]:
    """The piece's serialized examples (of the first config), in archive order."""
    for row in self.rows():
      if row[0] is not None:
        yield row[0]

  def rows(self) -> Iterator[tuple[bytes | None, ...]]:
    """Each image member's record per config, in archive order; `span` is set once exhausted."""
    archive = self._piece.archive
    regular_offsets: dict[str, int] = {}
    with archives.open_file(archive.path) as stream:
      reader = tar_stream.RangeReader(
          stream, archive.name, archive.size, self._piece.start, self._piece.end,
          read_size=self._read_size,
      )
      for member in reader:
        if member.kind == tar_stream.OTHER:
          for output in self._outputs:
            output.counts.non_file_entries += 1
          continue
        if member.kind == tar_stream.SYMLINK:
          self._skip_all(member.name, accounting.SYMLINK, f"a link to {member.link_target!r}")
          continue
        data = member.data
        if member.kind == tar_stream.HARD_LINK:
          target = regular_offsets.get(member.link_target)
          if target is None:
            self._skip_all(member.name, accounting.HARD_LINK_ELSEWHERE,
                           f"its target {member.link_target!r} lies before this piece")
            continue
          with archives.open_file(archive.path) as side_stream:
            data = tar_stream.read_member_at(side_stream, target, archive.name, archive.size).data
        else:
          regular_offsets[member.name] = member.offset
        row = self._row(member, data)
        if row is not None:
          yield row
      self.span = reader.span
      # The reader's count, not this loop's: a member this loop lost shows in the invariant.
      for output in self._outputs:
        output.counts.add_members(archive.name, reader.span.members)

  def _row(self, member: tar_stream.TarMember, data: bytes) -> tuple[bytes | None, ...] | None:
    image_hash, reason = archives.classify_member_name(member.name, len(data))
    key = image_keys.image_key(image_hash) if image_hash is not None else None
    if key is not None:
      self._member_keys.append(key)
    if reason:
      self._skip_all(member.name, reason, "by name" if reason != accounting.EMPTY_FILE else "zero bytes")
      return None
    row = self._lookup.get(key)
    return tuple(self._record(output, member, data, image_hash, key, row) for output in self._outputs)

  def _record(self, output: _Output, member: tar_stream.TarMember, data: bytes, image_hash: str, key: int,
              row) -> bytes | None:
    if key in output.written_here:
      self._skip(output, member.name, accounting.DUPLICATE_HASH, "an earlier member has the same hash")
      return None
    try:
      prepared = output.prepare(data)
    except images.SkipImage as skip:
      self._skip(output, member.name, skip.reason, skip.detail)
      return None
    counts = output.counts
    flags = reconcile.REENCODED * prepared.reencoded
    if row is None:
      flags |= reconcile.NO_METADATA
      counts.images_without_metadata += 1
    else:
      flags |= reconcile.INVALID_DATE * row.date_invalid | reconcile.INVALID_GPS * row.gps_invalid
      counts.invalid_dates += int(row.date_invalid)
      counts.invalid_gps += int(row.gps_invalid)
    output.written_here.add(key)
    counts.add_written(self._piece.archive.name, prepared.reencoded)
    output.written.append((key >> 64, key & ((1 << 64) - 1), member.offset, flags))
    return example_codec.serialize_pass_example(image_keys.normalize(image_hash), prepared, row)


def loser_names(result: PieceResult, losers: np.ndarray, archive_size: int) -> list[str]:
  """The member names of the records at `losers`, read from their tar headers (rare: duplicates)."""
  names = []
  with archives.open_file(result.piece.archive.path) as stream:
    for offset in sorted(int(result.written[position]["offset"]) for position in losers):
      names.append(tar_stream.read_member_at(stream, offset, result.archive, archive_size).name)
  return names


def without_losers(
    result: PieceResult, losers: np.ndarray, names: list[str], path: str, written: shard_files.WrittenShard,
    sidecar: str, key: dict,
) -> PieceResult:
  """The result of a piece after the records at `losers` (members `names`) were dropped."""
  counts = accounting.BuildCounts.from_json(result.counts.to_json())
  for record, name in zip(result.written[np.sort(losers)], names):
    flags = int(record["flags"])
    counts.remove_written(result.archive, bool(flags & reconcile.REENCODED))
    counts.images_without_metadata -= int(bool(flags & reconcile.NO_METADATA))
    counts.invalid_dates -= int(bool(flags & reconcile.INVALID_DATE))
    counts.invalid_gps -= int(bool(flags & reconcile.INVALID_GPS))
    counts.add_skipped(result.archive, name, accounting.DUPLICATE_HASH)
  keep = np.ones(len(result.written), dtype=bool)
  keep[losers] = False
  return dataclasses.replace(
      result, path=path, records=written.records, digest=written.digest, counts=counts, sidecar=sidecar,
      key=key, written=result.written[keep], reused=False,
  )
