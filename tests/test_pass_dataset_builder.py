"""TFDS's own builder test (`DatasetBuilderTestCase`) on `pass_tfds/dummy_data/`.

The dummy data is a 20-image PASS-like corpus in the real layout (ten archives
and pass_metadata.csv, see its README.md). TFDS hands it to the builder as the
manual dir; the builder checks it against a checksums file, so
`PASS_TFDS_CHECKSUMS` points at the dummy data's own `checksums.tsv` while the
tests run. All three configs are built, each with a Beam pipeline, on the
in-process DirectRunner (`in_memory`): TFDS's test case names no Beam options,
and nothing here needs worker processes (builds with them: test_build_end_to_end).
"""

from __future__ import annotations

import functools
import io
import os
import posixpath
import tarfile
from unittest import mock

from apache_beam.options.pipeline_options import PipelineOptions
import tensorflow_datasets as tfds
from tensorflow_datasets.core import download
from PIL import Image

import pass_tfds
from pass_tfds.dataset import sources

DUMMY_DATA = os.path.join(os.path.dirname(pass_tfds.__file__), "dataset", "dummy_data")


def _original_sizes(corpus: str) -> dict[str, tuple[int, int]]:
  """hash -> (width, height) of every image in the corpus's archives, read with Pillow."""
  sizes = {}
  for name in sorted(os.listdir(corpus)):
    if name.endswith(".tar"):
      with tarfile.open(os.path.join(corpus, name)) as archive:
        for member in archive:
          if member.isfile():
            with Image.open(archive.extractfile(member)) as picture:
              sizes[posixpath.basename(member.name)[:-len(".jpg")]] = picture.size
  return sizes


class PassDatasetBuilderTest(tfds.testing.DatasetBuilderTestCase):
  DATASET_CLASS = pass_tfds.PassDataset
  SPLITS = {"train": 20}
  SKIP_CHECKSUMS = True  # Nothing is downloaded: the dummy data is the manual dir.
  BUILDER_CONFIG_NAMES_TO_TEST = ["full", "short_side_256"]  # short_side_64: below.

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls._saved_checksums_env = os.environ.get(sources.CHECKSUMS_ENV)
    os.environ[sources.CHECKSUMS_ENV] = os.path.join(DUMMY_DATA, "checksums.tsv")

  @classmethod
  def tearDownClass(cls):
    if cls._saved_checksums_env is None:
      os.environ.pop(sources.CHECKSUMS_ENV, None)
    else:
      os.environ[sources.CHECKSUMS_ENV] = cls._saved_checksums_env
    super().tearDownClass()

  def _download_and_prepare_as_dataset(self, builder):
    in_process = functools.partial(
        download.DownloadConfig, beam_options=PipelineOptions(["--direct_running_mode=in_memory"]))
    with mock.patch.object(download, "DownloadConfig", in_process):
      super()._download_and_prepare_as_dataset(builder)

  def test_builds_every_config(self):
    # The inherited test builds BUILDER_CONFIG_NAMES_TO_TEST; this one builds
    # short_side_64 the same way and checks that its images were resized.
    every = [config.name for config in self.DATASET_CLASS.BUILDER_CONFIGS]
    self.assertCountEqual(self.BUILDER_CONFIG_NAMES_TO_TEST + ["short_side_64"], every)
    builder = self._make_builder(config="short_side_64")
    self._download_and_prepare_as_dataset(builder)
    originals = _original_sizes(DUMMY_DATA)
    examples = list(tfds.as_numpy(builder.as_dataset(split="train", decoders={
        "image": tfds.decode.SkipDecoding()})))
    self.assertEqual(len(examples), len(originals))
    for example in examples:
      original = originals[example["hash"].decode()]
      self.assertEqual((example["original_width"], example["original_height"]), original)
      with Image.open(io.BytesIO(example["image"])) as picture:
        shorter = min(picture.size)
      self.assertLessEqual(shorter, 64)
      if min(original) > 64:
        self.assertEqual(shorter, 64, example["hash"])

  def test_dummy_data_is_a_complete_small_corpus(self):
    names = set(os.listdir(DUMMY_DATA))
    self.assertTrue(set(sources.ALL_NAMES) <= names, sorted(names))
    total = sum(os.path.getsize(os.path.join(DUMMY_DATA, name)) for name in names)
    self.assertLess(total, 200_000)
    checksums = sources.read_checksums(os.path.join(DUMMY_DATA, "checksums.tsv"))
    paths = sources.check_manual_files(DUMMY_DATA, sources.ALL_NAMES, checksums, "sha256")
    self.assertEqual(set(paths), set(sources.ALL_NAMES))
