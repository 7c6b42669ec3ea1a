"""TFDS's own builder test (`DatasetBuilderTestCase`) on `pass_tfds/dummy_data/`.

The dummy data is a 20-image PASS-like corpus in the real layout (ten archives
and pass_metadata.csv, see its README.md). TFDS hands it to the builder as the
manual dir; the builder checks it against a checksums file, so
`PASS_TFDS_CHECKSUMS` points at the dummy data's own `checksums.tsv` while the
tests run. All three configs are built, each with a Beam pipeline.
"""

import os

import tensorflow_datasets as tfds

import pass_tfds
from pass_tfds import sources

DUMMY_DATA = os.path.join(os.path.dirname(pass_tfds.__file__), "dummy_data")


class PassDatasetBuilderTest(tfds.testing.DatasetBuilderTestCase):
  DATASET_CLASS = pass_tfds.PassDataset
  SPLITS = {"train": 20}
  SKIP_CHECKSUMS = True  # Nothing is downloaded: the dummy data is the manual dir.

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

  def test_builds_every_config(self):
    # `test_download_and_prepare_as_dataset` (inherited) builds these three.
    self.assertEqual(
        [config.name for config in self.DATASET_CLASS.BUILDER_CONFIGS],
        ["full", "short_side_256", "short_side_64"],
    )

  def test_dummy_data_is_a_complete_small_corpus(self):
    names = set(os.listdir(DUMMY_DATA))
    self.assertTrue(set(sources.ALL_NAMES) <= names, sorted(names))
    total = sum(os.path.getsize(os.path.join(DUMMY_DATA, name)) for name in names)
    self.assertLess(total, 200_000)
    checksums = sources.read_checksums(os.path.join(DUMMY_DATA, "checksums.tsv"))
    paths = sources.check_manual_files(DUMMY_DATA, sources.ALL_NAMES, checksums, "sha256")
    self.assertEqual(set(paths), set(sources.ALL_NAMES))
