"""Each assumption `pass_tfds.dataset.tfds_internals` makes about tensorflow-datasets, checked on the installed version.

When one fails after a TFDS upgrade, the message says which assumption broke.
"""

from __future__ import annotations

import functools
import glob
import inspect
import os
import pickle

import tensorflow_datasets as tfds
from tensorflow_datasets.core import file_adapters, naming, split_builder
from tensorflow_datasets.core.utils import file_utils

import pass_tfds  # noqa: F401  (registers pass_dataset)
from pass_tfds.dataset import tfds_internals


def test_split_builder_runs_a_beam_pipeline_from_the_download_config():
  parameters = inspect.signature(split_builder.SplitBuilder).parameters
  for name in ("split_dict", "features", "dataset_size", "max_examples_per_split", "beam_options",
               "beam_runner", "shard_config", "example_writer", "ignore_duplicates"):
    assert name in parameters, f"SplitBuilder no longer takes {name}"
  assert hasattr(split_builder.SplitBuilder, "maybe_beam_pipeline")
  assert isinstance(inspect.getattr_static(split_builder.SplitBuilder, "beam_pipeline"),
                    (property, functools.cached_property))


def test_the_builder_has_the_private_hooks_we_call(tmp_path):
  builder = tfds.builder("pass_dataset", data_dir=str(tmp_path))
  assert callable(builder._example_writer)  # pylint: disable=protected-access
  names = tfds_internals.filename_template(builder, "train")
  assert isinstance(names.template, naming.ShardedFileTemplate)
  assert tfds_internals.shard_path(names, 3, 20).endswith("pass_dataset-train.tfrecord-00003-of-00020")
  assert tfds_internals.split_info_path(names).endswith("3.0.0/pass_dataset-train.split_info.json")
  info = tfds_internals.split_info("train", [2, 3], 100, names)
  assert info.num_examples == 5 and info.num_shards == 2


def test_shard_names_are_tfds_own_also_after_pickling_without_tfds_object(tmp_path):
  builder = tfds.builder("pass_dataset", data_dir=str(tmp_path / "{odd} dir"))
  names = tfds_internals.filename_template(builder, "train")
  unpickled = pickle.loads(pickle.dumps(names))
  assert unpickled.template is None and b"tensorflow_datasets" not in pickle.dumps(names)
  for index, count in ((0, 1), (3, 20), (99_998, 99_999), (5, 100_000), (123_455, 123_456)):
    tfds_path = os.fspath(names.template.sharded_filepath(shard_index=index, num_shards=count))
    assert tfds_internals.shard_path(names, index, count) == tfds_path
    assert tfds_internals.shard_path(unpickled, index, count) == tfds_path


def test_download_and_prepare_builds_in_an_incomplete_folder_beside_the_version(tmp_path):
  version_dir = str(tmp_path / "pass_dataset" / "full" / "3.0.0")
  with file_utils.incomplete_dir(version_dir) as building:
    building = building.rstrip("/")
    assert os.path.dirname(building) == os.path.dirname(version_dir)
    assert os.path.basename(building).startswith(tfds_internals.INCOMPLETE_PREFIX)
    assert glob.glob(tfds_internals.building_dir_pattern(version_dir)) == [building]


def test_manual_dir_raises_assertion_error_when_missing_or_empty(tmp_path):
  def manager(folder):
    return tfds.download.DownloadManager(
        download_dir=str(tmp_path), manual_dir=str(folder), manual_dir_instructions="put files there")

  assert tfds_internals.manual_dir(manager(tmp_path / "none")) is None
  (tmp_path / "m").mkdir()
  assert tfds_internals.manual_dir(manager(tmp_path / "m")) is None
  (tmp_path / "m" / "f").write_text("x")
  assert tfds_internals.manual_dir(manager(tmp_path / "m")) == str(tmp_path / "m")


def test_array_record_files_are_what_tfds_reads(tmp_path):
  path = str(tmp_path / "x.array_record")
  records = [b"a", b"bb", b"ccc"]
  tfds_internals.write_array_records(path, iter(records))
  adapter = file_adapters.ADAPTER_FOR_FORMAT[file_adapters.FileFormat.ARRAY_RECORD]
  assert adapter.num_examples(path) == 3
  assert list(tfds_internals.read_array_records(path, batch=2)) == records
  source = inspect.getsource(adapter.write_examples)
  assert repr(tfds_internals.ARRAY_RECORD_OPTIONS) in source, "TFDS writes ArrayRecord with other options"


def test_max_examples_per_split_is_refused_not_ignored(tmp_path):
  import pytest

  from pass_tfds.errors import UsageError

  builder = tfds.builder("pass_dataset", data_dir=str(tmp_path))
  config = tfds.download.DownloadConfig(manual_dir=str(tmp_path), max_examples_per_split=5)
  with pytest.raises(UsageError, match="max_examples_per_split is not supported"):
    builder.download_and_prepare(download_config=config)
