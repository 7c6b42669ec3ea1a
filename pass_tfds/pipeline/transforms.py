"""The Beam pipeline that builds PASS in one pass over the archives.

1. `BuildMetadataLookup`: the CSV is read once, into a compact sorted lookup
   file that every worker loads once (`metadata_lookup`).
2. `WritePieces`: each piece (a byte range of one archive, see `plan`) is read
   front to back and written as one shard, with a sidecar saying what it holds
   (`pieces`). A piece whose verified sidecar and shard exist from an earlier
   run is reused, not rewritten.
3. `DropDuplicates`: the rare hash written by two pieces is kept where it
   comes first in (archive, offset) order; the other shard is rewritten
   without it.
4. `Finalize`: the proofs (ranges tile every archive, every member and CSV row
   accounted for), then the shards are moved to their TFDS names and the split
   info and build report written.

No image byte crosses a shuffle: what moves between steps is piece plans,
counts and 16-byte keys.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import posixpath
from typing import Any, Callable

import apache_beam as beam
from apache_beam.metrics import Metrics
import google_crc32c
import numpy as np

from pass_tfds.pipeline import accounting, archives, gc_tuning, image_keys, images, metadata_lookup, reconcile, shard_files
from pass_tfds.dataset import zenodo
from pass_tfds.pipeline import fan_out, publishing, reuse, tar_stream
from pass_tfds.errors import AccountingError, ArchiveError, MetadataFormatError
from pass_tfds.pipeline.pieces import SIDECAR_VERSION, PieceResult, PieceWriter, fail_if_strict_on_reuse, loser_names
from pass_tfds.pipeline.pieces import without_losers
from pass_tfds.pipeline.plan import Piece

_NS = accounting.METRICS_NAMESPACE
_LOG = logging.getLogger(__name__)
LOOKUP_NAME = "metadata_lookup.npz"


@dataclasses.dataclass(frozen=True)
class BuildSettings:
  """Everything the workers need, as plain values (pickled once per worker)."""

  work_dir: str  # Pieces, their sidecars and the lookup: kept until the build succeeds.
  file_format: str  # shard_files.TFRECORD or shard_files.ARRAY_RECORD.
  short_side: int | None
  jpeg_quality: int
  strict: bool
  fingerprint: str  # What else decides a piece's bytes: version, config, format.
  read_size: int = tar_stream.READ_SIZE
  max_missing_metadata: float | None = 0.01  # Fraction of written images; None: no limit.
  code_version: str = dataclasses.field(default_factory=reuse.code_version)  # Of the launcher's code.

  def prepare(self) -> Callable[[bytes], images.PreparedImage]:
    if self.short_side is None:
      return images.prepare_full
    return functools.partial(images.prepare_resized, short_side=self.short_side, quality=self.jpeg_quality)

  def piece_path(self, name: str) -> str:
    return posixpath.join(self.work_dir, f"{name}.{self.file_format}")

  def sidecar_path(self, name: str) -> str:
    return posixpath.join(self.work_dir, f"{name}.json")


@dataclasses.dataclass(frozen=True)
class LookupInfo:
  path: str
  digest: str  # Changes whenever the CSV's content does.
  stats: metadata_lookup.CsvStats


@dataclasses.dataclass(frozen=True)
class SplitOutputs:
  """Where the finalize step leaves what the builder reads after the pipeline."""

  split_info_path: str
  report_path: str
  manifest_path: str | None = None  # `publishing.MANIFEST_NAME` beside dataset_info.json.


class BuildLookupFn(beam.DoFn):
  """CSV path -> `LookupInfo`; reuses the lookup an earlier run built from the same CSV."""

  def __init__(self, settings: BuildSettings):
    self._settings = settings
    self._rows = Metrics.counter(_NS, "metadata_rows")

  def process(self, csv_path: str):
    path = posixpath.join(self._settings.work_dir, LOOKUP_NAME)
    sidecar = posixpath.join(self._settings.work_dir, LOOKUP_NAME + ".json")
    key = reuse.make_key(
        csv=reuse.source_identity(csv_path), code=self._settings.code_version, format=LOOKUP_NAME,
    )
    stored = shard_files.read_json(sidecar)
    if reuse.reusable(stored, key, path):
      stats = metadata_lookup.CsvStats(**stored["stats"])
      digest = f"{stored['crc32c']:08x}"
    else:
      with archives.open_file(csv_path) as stream:
        lookup, stats = metadata_lookup.build(stream, posixpath.basename(csv_path))
      data, keys = lookup.to_bytes(), len(lookup)
      del lookup
      metadata_lookup.release_memory()
      crc = google_crc32c.value(data)
      shard_files.write_bytes(path, data)
      shard_files.write_json(sidecar, {
          "key": key, "size": len(data), "crc32c": crc, "stats": dataclasses.asdict(stats),
      })
      digest = f"{crc:08x}"
      _LOG.info("Metadata lookup: %d rows, %d keys, %.1f MB.", stats.rows, keys, len(data) / 1e6)
    self._rows.inc(stats.rows)
    yield LookupInfo(path, digest, stats)


def _count_result(result: PieceResult, sign: int = 1) -> None:
  """Beam metrics for a piece's counts, so the console shows what the report will."""
  counts = result.counts
  Metrics.counter(_NS, "members").inc(sign * counts.members)
  Metrics.counter(_NS, "written").inc(sign * counts.written)
  Metrics.counter(_NS, "skipped").inc(sign * sum(counts.skipped.values()))
  for reason, number in counts.skipped.items():
    Metrics.counter(_NS, f"skipped_{reason}").inc(sign * number)
  Metrics.counter(_NS, "images_without_metadata").inc(sign * counts.images_without_metadata)
  Metrics.counter(_NS, "invalid_dates").inc(sign * counts.invalid_dates)
  Metrics.counter(_NS, "invalid_gps").inc(sign * counts.invalid_gps)
  Metrics.counter(_NS, "records_bytes").inc(sign * result.digest.size)


class WritePieceFn(beam.DoFn):
  """Piece -> (config index, `PieceResult`) per config: reads its byte range once, writes a shard
  and sidecar per config (those not reused), each as that config built alone writes it."""

  def __init__(self, settings: BuildSettings | tuple[BuildSettings, ...]):
    self._settings = settings if isinstance(settings, tuple) else (settings,)
    self._written_pieces = Metrics.counter(_NS, "pieces_written")
    self._reused_pieces = Metrics.counter(_NS, "pieces_reused")
    self._source_bytes = Metrics.counter(_NS, "source_bytes")

  def setup(self):
    gc_tuning.freeze_objects_alive_now()  # Workers start with the imports done.
    self._prepares = [settings.prepare() for settings in self._settings]

  @staticmethod
  def _key(settings: BuildSettings, piece: Piece, lookup_info: LookupInfo) -> dict:
    """Everything that decides the piece's bytes (`reuse`); not its place in the build."""
    return reuse.make_key(
        sidecar=SIDECAR_VERSION, settings=settings.fingerprint, code=settings.code_version,
        archive=piece.archive.name, source=piece.archive.identity, start=piece.start, end=piece.end,
        lookup=lookup_info.digest,
    )

  def process(self, piece: Piece, lookup_info: LookupInfo):
    results: list[PieceResult | None] = []
    to_write = []  # (config index, key, path, sidecar)
    for index, settings in enumerate(self._settings):
      key = self._key(settings, piece, lookup_info)
      path, sidecar = settings.piece_path(piece.name), settings.sidecar_path(piece.name)
      stored = shard_files.read_json(sidecar)
      result = None
      if reuse.reusable(stored, key, path):
        result = PieceResult.from_json(stored, piece=piece, path=path, sidecar=sidecar)
        fail_if_strict_on_reuse(settings.strict, result.counts)
        self._reused_pieces.inc()
      else:
        to_write.append((index, key, path, sidecar))
      results.append(result)
    if to_write:
      first = self._settings[0]
      lookup = metadata_lookup.load_once(lookup_info.path, lookup_info.digest, shard_files.read_bytes)
      writer = PieceWriter(piece, lookup, [self._prepares[index] for index, *_ in to_write], first.strict,
                           read_size=first.read_size)
      if len(to_write) == 1:
        shards = [shard_files.write_shard(to_write[0][2], writer.records(), first.file_format)]
      else:  # One read of the byte range for every config.
        shards = fan_out.write_shards([path for _, _, path, _ in to_write], writer.rows(), first.file_format)
      for output, ((index, key, path, sidecar), shard) in enumerate(zip(to_write, shards)):
        result = PieceResult(
            piece=piece, path=path, records=shard.records, digest=shard.digest, span=writer.span,
            counts=writer.counts_of(output), sidecar=sidecar, key=key, member_keys=writer.member_keys(),
            written=writer.written(output),
        )
        # After the shard: a sidecar says its piece is finished (what progress and a rerun see).
        shard_files.write_json(sidecar, result.to_json())
        self._written_pieces.inc()
        results[index] = result
    self._source_bytes.inc(piece.end - piece.start)
    for index, result in enumerate(results):
      _count_result(result)  # Summed over configs when there are several.
      _LOG.info("%s piece %s: %d images.", "Reused" if result.reused else "Wrote", piece.name, result.records)
      yield index, result.light()


def find_losers(results: list[PieceResult]):
  """(piece result, record positions to drop) for each piece holding a later copy of a hash."""
  losers = reconcile.duplicate_losers(
      reconcile.PieceRecords(result.shard, result.piece.archive.index, result.with_arrays().written)
      for result in results
  )
  by_shard = {result.shard: result for result in results}
  for shard, positions in sorted(losers.items()):
    yield by_shard[shard], positions


class DropLosersFn(beam.DoFn):
  """Rewrites one piece's shard without the records that lost to an earlier copy of their hash."""

  def __init__(self, settings: BuildSettings):
    self._settings = settings

  def process(self, result_and_losers: tuple[PieceResult, np.ndarray]):
    result, losers = result_and_losers
    result = result.with_arrays()
    losers = np.asarray(losers, dtype=np.int64)
    tag = f"{google_crc32c.value(losers.tobytes()):08x}"
    name = f"{result.name}.without-duplicates-{tag}"
    path = self._settings.piece_path(name)
    sidecar = self._settings.sidecar_path(name)
    # Made from the piece's shard as it is now (its key and digest), less these records.
    key = reuse.make_key(piece=result.key, size=result.digest.size, crc32c=result.digest.crc32c,
                         losers=losers.tolist())
    stored = shard_files.read_json(sidecar)
    if reuse.reusable(stored, key, path):
      fixed = PieceResult.from_json(stored, piece=result.piece, path=path, sidecar=sidecar)
    else:
      dropped = set(losers.tolist())
      records = (
          record for position, record in enumerate(shard_files.read_records(result.path, self._settings.file_format))
          if position not in dropped
      )
      shard = shard_files.write_shard(path, records, self._settings.file_format)
      names = loser_names(result, losers, result.piece.archive.size)
      fixed = without_losers(result, losers, names, path, shard, sidecar, key)
      shard_files.write_json(sidecar, fixed.to_json())
    _count_result(result, sign=-1)
    _count_result(fixed)
    yield fixed.light()


@dataclasses.dataclass(frozen=True)
class FinalizeConfig:
  pieces: tuple[Piece, ...]
  archive_names: tuple[str, ...]
  settings: BuildSettings
  shard_path: Callable[[int, int], str] | None  # (index, number of shards) -> the shard's TFDS path.
  outputs: SplitOutputs | None  # None: a companion config, published by its own builder (`PREPARED_NAME`).
  report_extra: dict[str, Any]
  run: str = ""  # The build run that prepares a companion config, so that only this run publishes it.


def _csv_side(counts: accounting.BuildCounts, results: list[PieceResult], lookup_info: LookupInfo) -> list[str]:
  """Fills in where every CSV row went; returns problems."""
  stats = lookup_info.stats
  counts.metadata_rows = stats.rows
  counts.duplicate_metadata_rows = stats.duplicate_rows
  counts.differing_duplicate_metadata_rows = stats.differing_duplicate_rows
  counts.duplicate_metadata_examples = list(stats.duplicate_examples)
  counts.unusable_hash_rows = stats.unusable_hash_rows
  counts.unusable_hash_examples = list(stats.unusable_hash_examples)
  lookup = metadata_lookup.load_once(lookup_info.path, lookup_info.digest, shard_files.read_bytes)
  member_keys, written_keys = [np.empty(0, dtype=image_keys.KEY_DTYPE)], [np.empty(0, dtype=image_keys.KEY_DTYPE)]
  for result in results:  # One piece's arrays at a time.
    full = result.with_arrays()
    member_keys.append(full.member_keys)
    written_keys.append(full.written[["hi", "lo"]].astype(image_keys.KEY_DTYPE))
  written = np.concatenate(written_keys)
  problems = reconcile.repeated_keys(written)
  placement = reconcile.place_metadata(lookup.keys(), np.concatenate(member_keys), written)
  counts.metadata_rows_without_member = placement.rows_without_member
  counts.metadata_rows_of_skipped_images = placement.rows_of_skipped_images
  counts.images_with_metadata = placement.images_with_metadata
  if placement.images_without_metadata != counts.images_without_metadata:
    problems.append(f"{counts.images_without_metadata} images were written without metadata, but the"
                    f" keys say {placement.images_without_metadata}")
  return problems


def finalize(results: list[PieceResult], fixes: list[PieceResult], lookup_info: LookupInfo,
             config: FinalizeConfig) -> None:
  """Proves the build, then publishes it. Safe to run again after a full or partial run."""
  by_name = {result.name: result for result in results}
  reused = sum(result.reused for result in by_name.values())  # Pieces, whether or not a fix replaced them.
  by_name.update({fix.name: fix for fix in fixes})
  results = sorted(by_name.values(), key=lambda result: result.shard)
  missing = sorted({piece.name for piece in config.pieces} - by_name.keys())
  problems = [f"no result for piece {name}" for name in missing]
  if not missing:
    damage = reconcile.check_tiling(config.pieces, {result.name: result.span for result in results})
    if damage:  # A tar chain that breaks where two pieces meet: a damaged archive.
      raise ArchiveError(
          "; ".join(damage) + ". Nothing was published. Re-download the archive named"
          f" ({zenodo.RECORD_URL})."
      )
  counts = accounting.BuildCounts.merge_all(result.counts for result in results)
  problems += _csv_side(counts, results, lookup_info)
  problems += counts.problems()
  # Records as the shard writer framed them, against images as the piece writer counted them.
  in_shards = sum(result.records for result in results)
  if in_shards != counts.written:
    problems.append(f"the shards hold {in_shards} examples but {counts.written} images were counted as written")
  problems += [f"{result.name}: its shard holds {result.records} examples but {result.counts.written}"
               f" images were counted as written there" for result in results
               if result.records != result.counts.written]
  if problems:
    raise AccountingError(
        "The build does not reconcile: " + "; ".join(problems)
        + ". Nothing was published; please report this with the build log."
    )
  _refuse_incomplete_data(counts, config)
  kept = [result for result in results if result.records]
  report = accounting.report_json(counts.to_report(
      config.archive_names, **config.report_extra, shards=len(kept), pieces=len(results),
      reused_pieces=reused,
  ))
  ready = [ReadyShard(result.path, result.digest.size, result.digest.crc32c, result.digest.sha256, result.records)
           for result in kept]
  Metrics.counter(_NS, "written_shards").inc(len(kept))
  Metrics.counter(_NS, "metadata_rows_without_member").inc(counts.metadata_rows_without_member)
  Metrics.counter(_NS, "duplicate_metadata_rows").inc(counts.duplicate_metadata_rows)
  if config.outputs is None:  # Proven; its own builder publishes it once the pipeline is done.
    shard_files.write_json(prepared_path(config.settings.work_dir), {
        "run": config.run, "report": report, "shards": [dataclasses.asdict(shard) for shard in ready],
    })
    return
  publish(ready, report, config.settings, config.shard_path, config.outputs)


PREPARED_NAME = "prepared.json"


@dataclasses.dataclass(frozen=True)
class ReadyShard:
  """A proven shard in the work folder, waiting to be published."""

  path: str
  size: int
  crc32c: int
  sha256: str | None
  records: int


def prepared_path(work_dir: str) -> str:
  return posixpath.join(work_dir, PREPARED_NAME)


def read_prepared(work_dir: str, run: str) -> tuple[list[ReadyShard], str] | None:
  """The shards and report a companion config's finalize left for run `run`; None if none."""
  stored = shard_files.read_json(prepared_path(work_dir))
  if not isinstance(stored, dict) or not run or stored.get("run") != run:
    return None
  return [ReadyShard(**shard) for shard in stored["shards"]], stored["report"]


def publish(ready: list[ReadyShard], report: str, settings: BuildSettings,
            shard_path: Callable[[int, int], str], outputs: SplitOutputs) -> None:
  """Moves proven shards to their TFDS names; writes the split info, report and `shards.json`."""
  moves = [publishing.Move(shard.path, shard_path(index, len(ready)), shard.size)
           for index, shard in enumerate(ready)]
  publishing.record_moves(settings.work_dir, moves)  # First: a rerun after a kill takes them back.
  for move in moves:
    shard_files.move(move.source, move.destination, move.size)
  shard_files.write_json(outputs.split_info_path, {
      "shard_lengths": [shard.records for shard in ready],
      "num_bytes": sum(shard.size for shard in ready),
  })
  shard_files.write_text(outputs.report_path, report)
  if outputs.manifest_path:
    shard_files.write_text(outputs.manifest_path, publishing.manifest_json([
        publishing.PublishedShard(posixpath.basename(move.destination), shard.size, shard.crc32c,
                                  shard.sha256, shard.records)
        for move, shard in zip(moves, ready)
    ], settings.file_format))


def _refuse_incomplete_data(counts: accounting.BuildCounts, config: FinalizeConfig) -> None:
  if counts.written == 0:
    raise ArchiveError(
        f"No image could be written: {counts.members} members, skipped {dict(counts.skipped)},"
        f" for example {counts.skipped_examples}. Check that --manual_dir holds the PASS archives,"
        f" or re-download them from {zenodo.RECORD_URL}."
    )
  empty = [name for name in config.archive_names if counts.archive(name).members == 0]
  if empty:
    raise ArchiveError(
        f"{', '.join(empty)} {'holds' if len(empty) == 1 else 'hold'} no member: an empty archive."
        f" Re-download it from {zenodo.RECORD_URL}."
    )
  limit = config.settings.max_missing_metadata
  if limit is not None and counts.images_without_metadata > limit * counts.written:
    raise MetadataFormatError(
        f"{counts.images_without_metadata:,} of {counts.written:,} written images have no row in"
        " pass_metadata.csv, so their creator could not be credited as CC-BY requires. Use the"
        " pass_metadata.csv of the same PASS release, or pass --allow_missing_metadata to build anyway."
    )


class BuildPassShards(beam.PTransform):
  """Pieces + metadata CSV -> shard files, split info and build report (see the module doc).

  `companions`: other configs built from the same read of every piece; each is
  proven like `config` and left in its work folder for its builder to publish.
  """

  def __init__(self, metadata_path: str, config: FinalizeConfig, companions: tuple[FinalizeConfig, ...] = ()):
    super().__init__()
    self._metadata_path = metadata_path
    self._configs = (config,) + tuple(companions)

  def expand(self, pbegin):
    settings = self._configs[0].settings
    lookup = (
        pbegin
        | "MetadataFile" >> beam.Create([self._metadata_path])
        | "BuildMetadataLookup" >> beam.ParDo(BuildLookupFn(settings))
    )
    written = (
        pbegin
        | "ListPieces" >> beam.Create(self._configs[0].pieces)
        | "SpreadPieces" >> beam.Reshuffle()
        | "WritePieces" >> beam.ParDo(WritePieceFn(tuple(config.settings for config in self._configs)),
                                      beam.pvalue.AsSingleton(lookup))
    )
    by_config = written | "ByConfig" >> beam.Partition(lambda pair, count: pair[0], len(self._configs))
    done = []
    for index, config in enumerate(self._configs):
      prefix = "" if index == 0 else f"{config.report_extra['config']}/"
      results = (
          by_config[index]
          | f"{prefix}Results" >> beam.Map(lambda pair: pair[1])
          | f"{prefix}CollectPieces" >> beam.combiners.ToList()
      )
      fixes = (
          results
          | f"{prefix}FindDuplicates" >> beam.FlatMap(find_losers)
          | f"{prefix}SpreadDuplicates" >> beam.Reshuffle()
          | f"{prefix}DropDuplicates" >> beam.ParDo(DropLosersFn(config.settings))
      )
      done.append(results | f"{prefix}Finalize" >> beam.Map(
          finalize, beam.pvalue.AsList(fixes), beam.pvalue.AsSingleton(lookup), config=config
      ))
    return done[0]
