"""The Beam transforms that build PASS: plan on a small index, then write shards.

`PlanPassShards` indexes the archives (member names, offsets, sizes: no image
bytes), reads the CSV keeping only rows whose hash is in an archive, and plans
the shards: join, de-duplication, order and shard assignment. `WriteShards`
reads each image by offset only in the step that writes its shard, so no image
byte ever crosses a shuffle: memory follows the number of images, not their bytes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import posixpath
from typing import Callable, NamedTuple, Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics
from tensorflow_datasets.core import example_serializer, file_adapters, naming
from tensorflow_datasets.core.utils import shard_utils

from pass_tfds import accounting, archives, features, images, metadata, plan, shard_files

_NS = accounting.METRICS_NAMESPACE
_LOG = logging.getLogger(__name__)


class Archive(NamedTuple):
  index: int
  path: str
  name: str


@dataclasses.dataclass(frozen=True)
class ShardResult:
  index: int
  path: str
  num_examples: int
  num_bytes: int


def _fail_if_strict(strict: bool, archive: str, member: str, reason: str, detail: str) -> None:
  if strict and reason in accounting.STRICT_REASONS:
    raise accounting.StrictModeError(
        f"--strict: {archive}: member {member!r} skipped ({reason}: {detail}). Re-download"
        f" {archive}, or build without --strict to skip it and list it in build_report.json."
    )


class IndexArchiveFn(beam.DoFn):
  """Archive -> its `plan.ArchiveIndex`; members ruled out by name are counted here."""

  def __init__(self, strict: bool):
    self._strict = strict
    self._members = Metrics.counter(_NS, "members")
    self._skipped = Metrics.counter(_NS, "skipped")

  def process(self, archive: Archive):
    counts = accounting.BuildCounts()
    usable = []
    for indexed in archives.iter_index(archive.path, archive.index, archive.name):
      if indexed is None:
        counts.non_file_entries += 1
        continue
      counts.add_member(archive.name)
      self._members.inc()
      if indexed.skip_reason:
        _fail_if_strict(self._strict, archive.name, indexed.member.name, indexed.skip_reason, "by name")
        counts.add_skipped(archive.name, indexed.member.name, indexed.skip_reason)
        self._skipped.inc()
        Metrics.counter(_NS, f"skipped_{indexed.skip_reason}").inc()
      else:
        usable.append(indexed)
    _LOG.info("Indexed %s: %d members, %d images.", archive.name, counts.members, len(usable))
    yield plan.ArchiveIndex.from_members(archive.index, usable)
    yield beam.pvalue.TaggedOutput("counts", counts)


class PlanShardsFn(beam.DoFn):
  """Metadata CSV path + all archive indexes -> ordered shard plans (`plan.encode_shard`).

  The CSV is streamed and each row kept, as its raw values, only when an
  archive holds its image, so a 1.4-million-row CSV costs time, not memory.
  Rows are parsed later, in parallel, where their image is written. This is
  the build's one serial step: it does no more than join, order and slice.
  """

  def __init__(self, shard_config: shard_utils.ShardConfig, archive_names: Sequence[str]):
    self._shard_config = shard_config
    self._archive_names = list(archive_names)
    self._rows = Metrics.counter(_NS, "metadata_rows")
    self._without_image = Metrics.counter(_NS, "metadata_rows_without_image")

  def process(self, metadata_path: str, indexes: Sequence[plan.ArchiveIndex]):
    counts = accounting.BuildCounts()
    with plan.gc_paused():
      present = plan.group_by_hash(indexes)
      found: dict[str, tuple[int, list[str]]] = {}
      with archives.open_file(metadata_path) as stream:
        for number, values in metadata.iter_values(stream, posixpath.basename(metadata_path)):
          counts.metadata_rows += 1
          key = archives.join_key(values[metadata.HASH_COLUMN])
          if key not in present:
            counts.metadata_rows_without_image += 1
          elif key in found:
            counts.duplicate_metadata_rows += 1
          else:
            found[key] = (number, values)
      examples = plan.plan_groups(present, found)
      del present, found
      if not examples:
        raise archives.ArchiveError(
            f"{', '.join(self._archive_names)} hold no member named like a PASS image"
            " (<hash>.jpg): nothing to build. Check that --manual_dir holds the PASS archives, or"
            " re-download them from https://zenodo.org/record/6615455."
        )
      total_size = sum(example.candidates[0].size for example in examples)
      num_shards = self._shard_config.get_number_shards(total_size, len(examples))
      shards = [plan.encode_shard(shard) for shard in plan.split_into_shards(examples, num_shards)]
      num_images = len(examples)
      del examples
    self._rows.inc(counts.metadata_rows)
    self._without_image.inc(counts.metadata_rows_without_image)
    Metrics.counter(_NS, "duplicate_metadata_rows").inc(counts.duplicate_metadata_rows)
    _LOG.info("Planned %d images in %d shards.", num_images, len(shards))
    yield from shards
    yield beam.pvalue.TaggedOutput("counts", counts)


class PlanPassShards(beam.PTransform):
  """Archives + metadata CSV -> PCollections of encoded shard plans and partial counts."""

  def __init__(
      self,
      archive_list: Sequence[Archive],
      metadata_path: str,
      shard_config: shard_utils.ShardConfig,
      strict: bool = False,
  ):
    super().__init__()
    self._archives = list(archive_list)
    self._metadata_path = metadata_path
    self._shard_config = shard_config
    self._strict = strict

  @property
  def archive_list(self) -> list[Archive]:
    return self._archives

  def expand(self, pbegin):
    indexed = (
        pbegin
        | "ListArchives" >> beam.Create(self._archives)
        | "SpreadArchives" >> beam.Reshuffle()
        | "IndexArchives" >> beam.ParDo(IndexArchiveFn(self._strict)).with_outputs("counts", main="index")
    )
    planned = (
        pbegin
        | "MetadataFile" >> beam.Create([self._metadata_path])
        | "PlanShards"
        >> beam.ParDo(
            PlanShardsFn(self._shard_config, [archive.name for archive in self._archives]),
            beam.pvalue.AsList(indexed.index),
        ).with_outputs("counts", main="shards")
    )
    counts = (indexed.counts, planned.counts) | "PlanCounts" >> beam.Flatten()
    return planned.shards, counts


class WriteShardFn(beam.DoFn):
  """Reads a shard's images by offset, prepares, encodes and writes them."""

  def __init__(
      self,
      archive_list: Sequence[Archive],
      filename_template: naming.ShardedFileTemplate,
      file_format: file_adapters.FileFormat,
      prepare: Callable[[bytes], images.PreparedImage],
      strict: bool,
  ):
    self._archives = list(archive_list)
    self._template = filename_template
    self._file_format = file_format
    self._prepare = prepare
    self._strict = strict
    self._written = Metrics.counter(_NS, "written")
    self._skipped = Metrics.counter(_NS, "skipped")
    self._shards = Metrics.counter(_NS, "written_shards")
    self._without_metadata = Metrics.counter(_NS, "images_without_metadata")
    self._invalid_dates = Metrics.counter(_NS, "invalid_dates")
    self._invalid_gps = Metrics.counter(_NS, "invalid_gps")

  def setup(self):
    self._features = features.features_dict()
    self._serializer = example_serializer.ExampleSerializer(self._features.get_serialized_info())
    self._reader = archives.MemberReader([archive.path for archive in self._archives])

  def teardown(self):
    self._reader.close()

  def _skip(self, counts, member: archives.Member, reason: str, detail: str) -> None:
    name = self._archives[member.archive].name
    _fail_if_strict(self._strict, name, member.name, reason, detail)
    counts.add_skipped(name, member.name, reason)
    self._skipped.inc()
    Metrics.counter(_NS, f"skipped_{reason}").inc()

  def _records(self, shard: plan.PlannedShard, counts: accounting.BuildCounts, sizes: list[int]):
    for example in shard.examples:
      chosen = None
      for member in example.candidates:
        if chosen is not None:
          self._skip(counts, member, accounting.DUPLICATE_HASH, f"{chosen.name} has the same hash")
          continue
        try:
          prepared = self._prepare(self._reader.read(member))
        except images.SkipImage as skip:
          self._skip(counts, member, skip.reason, skip.detail)
          continue
        chosen = member
        row = None
        if example.metadata is not None:
          row = metadata.parse_values(example.metadata[1], example.metadata[0])
          counts.invalid_dates += int(row.date_invalid)
          counts.invalid_gps += int(row.gps_invalid)
          self._invalid_dates.inc(int(row.date_invalid))
          self._invalid_gps.inc(int(row.gps_invalid))
        values = features.example_values(example.hash, prepared, row)
        serialized = self._serializer.serialize_example(self._features.encode_example(values))
        counts.add_written(self._archives[member.archive].name, prepared.reencoded)
        self._written.inc()
        if row is None:
          counts.images_without_metadata += 1
          self._without_metadata.inc()
        sizes.append(len(serialized))
        yield serialized

  def process(self, encoded_shard: bytes):
    shard = plan.decode_shard(encoded_shard)
    counts = accounting.BuildCounts()
    sizes: list[int] = []
    path = self._template.sharded_filepath(shard_index=shard.index, num_shards=shard.num_shards)
    partial = f"{path}.incomplete"
    shard_files.write_shard(partial, self._records(shard, counts, sizes), self._file_format)
    shard_files.rename(partial, str(path))
    self._shards.inc()
    _LOG.info(
        "Wrote shard %d/%d: %d images, %d skipped.",
        shard.index + 1, shard.num_shards, len(sizes), sum(counts.skipped.values()),
    )
    yield ShardResult(shard.index, str(path), len(sizes), sum(sizes))
    yield beam.pvalue.TaggedOutput("counts", counts)


class MergeCountsFn(beam.CombineFn):
  def create_accumulator(self):
    return accounting.BuildCounts()

  def add_input(self, accumulator, counts):
    return accumulator.merge(counts)

  def merge_accumulators(self, accumulators):
    return accounting.BuildCounts.merge_all(accumulators)

  def extract_output(self, accumulator):
    return accumulator


@dataclasses.dataclass(frozen=True)
class SplitOutputs:
  """Where the finalize step leaves what the builder reads after the pipeline."""

  split_info_path: str
  report_path: str


def finalize_split(
    results: list[ShardResult],
    counts: accounting.BuildCounts,
    *,
    template: naming.ShardedFileTemplate,
    outputs: SplitOutputs,
    report_extra: dict,
) -> None:
  """Checks the accounting, drops empty shards, writes split info and build report."""
  counts.check()
  in_shards = sum(result.num_examples for result in results)
  if in_shards != counts.written:
    raise accounting.AccountingError(
        f"The shards hold {in_shards} examples but {counts.written} images were counted as"
        " written. Nothing was published; please report this with the build log."
    )
  if counts.written == 0:
    raise archives.ArchiveError(
        f"No image could be written: {counts.members} members, skipped {dict(counts.skipped)},"
        f" for example {counts.skipped_examples}. The archives may be damaged: re-download them."
    )
  results = sorted(results, key=lambda result: result.index)
  kept = [result for result in results if result.num_examples]
  for result in results:
    if not result.num_examples:
      shard_files.delete(result.path)
  if len(kept) != len(results):  # Renumber so that shard names have no gaps.
    for new_index, result in enumerate(kept):
      new_path = str(template.sharded_filepath(shard_index=new_index, num_shards=len(kept)))
      shard_files.rename(result.path, new_path)
  split_info = {
      "shard_lengths": [result.num_examples for result in kept],
      "num_bytes": sum(result.num_bytes for result in kept),
  }
  shard_files.write_text(outputs.split_info_path, json.dumps(split_info))
  report = counts.to_report(
      report_extra.get("archives", []),
      **{key: value for key, value in report_extra.items() if key != "archives"},
      shards=len(kept),
  )
  shard_files.write_text(outputs.report_path, accounting.report_json(report))


class WriteShards(beam.PTransform):
  """(Encoded shard plans, partial counts) -> shard files, split info and build report."""

  def __init__(
      self,
      archive_list: Sequence[Archive],
      filename_template: naming.ShardedFileTemplate,
      file_format: file_adapters.FileFormat,
      prepare: Callable[[bytes], images.PreparedImage],
      outputs: SplitOutputs,
      report_extra: dict,
      strict: bool = False,
  ):
    super().__init__()
    self._write_fn = WriteShardFn(archive_list, filename_template, file_format, prepare, strict)
    self._template = filename_template
    self._outputs = outputs
    self._report_extra = report_extra

  def expand(self, shards_and_counts):
    shards, plan_counts = shards_and_counts
    written = (
        shards
        | "SpreadShards" >> beam.Reshuffle()
        | "WriteShard" >> beam.ParDo(self._write_fn).with_outputs("counts", main="results")
    )
    counts = (
        (plan_counts, written.counts)
        | "AllCounts" >> beam.Flatten()
        | "MergeCounts" >> beam.CombineGlobally(MergeCountsFn())
    )
    return (
        written.results
        | "CollectShardResults" >> beam.combiners.ToList()
        | "FinalizeSplit"
        >> beam.Map(
            finalize_split,
            beam.pvalue.AsSingleton(counts),
            template=self._template,
            outputs=self._outputs,
            report_extra=self._report_extra,
        )
    )
