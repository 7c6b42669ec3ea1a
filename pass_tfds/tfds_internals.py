"""Every use of tensorflow-datasets beyond its public API, in one place.

The builder writes its own shards (see `transforms`), so it reaches into
TFDS for the pieces TFDS keeps for itself: the Beam pipeline its split
builder runs, the shard file naming, the split info, the ArrayRecord writer
options, how a manual dir is found, and the `incomplete.*` folder
`download_and_prepare` builds in. `tests/test_tfds_internals.py` checks each
assumption on the installed version, so a TFDS upgrade fails one clear test
instead of a build. Tested with tensorflow-datasets 4.9.10.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from typing import Any, Iterable, Iterator

ARRAY_RECORD_OPTIONS = "group_size:1"  # What TFDS's ArrayRecord adapter writes: random access by record.
INCOMPLETE_PREFIX = "incomplete."  # utils.incomplete_dir: <parent>/incomplete.<random>_<version>/


@contextlib.contextmanager
def beam_pipeline(builder: Any, download_config: Any, beam_options: Any,
                  beam_runner: Any) -> Iterator[Any]:
  """The Beam pipeline TFDS would run the builder's splits in, run when the block exits."""
  from tensorflow_datasets.core import split_builder as split_builder_lib

  split_builder = split_builder_lib.SplitBuilder(
      split_dict=builder.info.splits,
      features=builder.info.features,
      dataset_size=builder.info.dataset_size,
      max_examples_per_split=download_config.max_examples_per_split,
      beam_options=beam_options,
      beam_runner=beam_runner,
      shard_config=download_config.get_shard_config(),
      example_writer=builder._example_writer(),  # pylint: disable=protected-access
      ignore_duplicates=download_config.ignore_duplicates,
  )
  with split_builder.maybe_beam_pipeline():
    yield split_builder.beam_pipeline


def filename_template(builder: Any, split: str) -> Any:
  """TFDS's naming of a split's shard files in the folder being built."""
  return builder._get_filename_template(split_name=split)  # pylint: disable=protected-access


def shard_path(template: Any, index: int, num_shards: int) -> str:
  return os.fspath(template.sharded_filepath(shard_index=index, num_shards=num_shards))


def split_info_path(template: Any) -> str:
  return f"{template.filepath_prefix()}.split_info.json"


def split_info(name: str, shard_lengths: list[int], num_bytes: int, template: Any) -> Any:
  import tensorflow_datasets as tfds

  return tfds.core.SplitInfo(
      name=name, shard_lengths=shard_lengths, num_bytes=num_bytes, filename_template=template
  )


def manual_dir(dl_manager: Any) -> str | None:
  """TFDS's default manual dir (<download_dir>/manual) if it holds files, else None.

  TFDS raises AssertionError for an empty or missing one.
  """
  try:
    return os.fspath(dl_manager.manual_dir)
  except AssertionError:
    return None


def building_dir_pattern(version_dir: str) -> str:
  """A glob for the folders `download_and_prepare` builds `version_dir` in."""
  parent, version = posixpath.split(version_dir.rstrip("/"))
  return posixpath.join(parent, f"{INCOMPLETE_PREFIX}*_{version}")


def write_array_records(path: str, records: Iterable[bytes]) -> None:
  """An ArrayRecord file at a local `path`, written as TFDS's own adapter writes it."""
  from array_record.python import array_record_module

  writer = array_record_module.ArrayRecordWriter(path, ARRAY_RECORD_OPTIONS)
  try:
    for record in records:
      writer.write(record)
  finally:
    writer.close()


def read_array_records(path: str, batch: int = 1024) -> Iterator[bytes]:
  """Every record of a local ArrayRecord file, in order."""
  from array_record.python import array_record_module

  reader = array_record_module.ArrayRecordReader(path)
  try:
    total = reader.num_records()
    for start in range(0, total, batch):
      yield from reader.read(start, min(start + batch, total))
  finally:
    reader.close()
