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
import dataclasses
import os
import posixpath
from typing import Any, Iterable, Iterator

from pass_tfds.dataset import temp_dirs

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
  with temp_dirs.own_tempdir(), split_builder.maybe_beam_pipeline():  # Beam leaves empty folders in $TMPDIR.
    yield split_builder.beam_pipeline


_INDEX_MARK, _COUNT_MARK = 73_091, 86_427  # Five digits each, as TFDS writes numbers under 100,000.


@dataclasses.dataclass(frozen=True)
class ShardNames:
  """TFDS's naming of a split's files in the folder being built, as plain strings.

  `template` is TFDS's own object, kept for the `SplitInfo` the builder
  returns. It is not pickled: the pipeline's finalize step names shards from
  the strings alone, so a Beam worker need not import TFDS to unpickle it.
  """

  directory: str
  shard_name: str  # str.format(index=, num_shards=, width=): TFDS's relative shard path.
  template: Any = dataclasses.field(default=None, compare=False)

  def __getstate__(self) -> dict[str, str]:
    return {"directory": self.directory, "shard_name": self.shard_name}

  def __setstate__(self, state: dict[str, str]) -> None:
    for name, value in {**state, "template": None}.items():
      object.__setattr__(self, name, value)


def filename_template(builder: Any, split: str) -> ShardNames:
  """TFDS's naming of a split's shard files in the folder being built."""
  return shard_names(builder._get_filename_template(split_name=split))  # pylint: disable=protected-access


def shard_names(template: Any) -> ShardNames:
  """A TFDS `ShardedFileTemplate` as `ShardNames`."""
  marked = template.relative_filepath(shard_index=_INDEX_MARK, num_shards=_COUNT_MARK)
  if marked.count(str(_INDEX_MARK)) != 1 or marked.count(str(_COUNT_MARK)) != 1:
    raise ValueError(f"TFDS names shards in a way pass_tfds does not know: {marked}")
  shard_name = (marked.replace("{", "{{").replace("}", "}}")
                .replace(str(_INDEX_MARK), "{index:0{width}d}").replace(str(_COUNT_MARK), "{num_shards:0{width}d}"))
  return ShardNames(directory=os.fspath(template.data_dir), shard_name=shard_name, template=template)


def shard_path(names: ShardNames, index: int, num_shards: int) -> str:
  """Shard `index` of `num_shards`, named as TFDS names it (numbers at least 5 digits wide)."""
  width = max(5, len(str(num_shards)))
  return posixpath.join(names.directory, names.shard_name.format(index=index, num_shards=num_shards, width=width))


def split_info_path(names: ShardNames) -> str:
  return f"{names.template.filepath_prefix()}.split_info.json"


def split_info(name: str, shard_lengths: list[int], num_bytes: int, names: ShardNames) -> Any:
  import tensorflow_datasets as tfds

  return tfds.core.SplitInfo(
      name=name, shard_lengths=shard_lengths, num_bytes=num_bytes, filename_template=names.template
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
