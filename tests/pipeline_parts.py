"""Test helper: the build's parts wired by hand on a local corpus, without TFDS's builder."""

from __future__ import annotations

import functools
import os

from tensorflow_datasets.core import naming

from pass_tfds.dataset import tfds_internals
from pass_tfds.pipeline import plan, reuse, shard_files, transforms


def finalize_config(corpus: str, out: str, archive_names, *, num_shards=None, range_bytes=plan.DEFAULT_RANGE_BYTES,
                    file_format=shard_files.TFRECORD, max_missing_metadata=None) -> transforms.FinalizeConfig:
  archive_list = [
      plan.SourceArchive(i, name, os.path.join(corpus, name), *reuse.size_and_identity(os.path.join(corpus, name)))
      for i, name in enumerate(archive_names)
  ]
  template = naming.ShardedFileTemplate(
      data_dir=out, template="{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_X_OF_Y}",
      dataset_name="pass_dataset", split="train", filetype_suffix=file_format,
  )
  settings = transforms.BuildSettings(
      work_dir=os.path.join(out, "partial"), file_format=file_format, short_side=None, jpeg_quality=90,
      strict=False, fingerprint="test", read_size=1 << 20, max_missing_metadata=max_missing_metadata,
  )
  return transforms.FinalizeConfig(
      pieces=tuple(plan.plan_pieces(archive_list, range_bytes, num_shards)),
      archive_names=tuple(archive_names),
      settings=settings,
      shard_path=functools.partial(tfds_internals.shard_path, tfds_internals.shard_names(template)),
      outputs=transforms.SplitOutputs(os.path.join(out, "split.json"), os.path.join(out, "build_report.json"),
                                      os.path.join(out, "shards.json")),
      report_extra={},
  )


def run_steps(config: transforms.FinalizeConfig, metadata_path: str):
  """(lookup info, piece results): the pipeline's steps up to finalize, called directly."""
  (lookup,) = transforms.BuildLookupFn(config.settings).process(metadata_path)
  write = transforms.WritePieceFn(config.settings)
  write.setup()
  results = [result for piece in config.pieces for _, result in write.process(piece, lookup)]  # (config index, result)
  return lookup, results
