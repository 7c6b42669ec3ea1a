"""Without a manual dir, the builder asks TFDS's download manager for the 11 Zenodo files.

There is no network here, so, as TFDS's own DatasetBuilderTestCase does, the
download manager's `download` hands back local files (the dummy data) while
the rest of the build runs for real.
"""

import os
from unittest import mock

from apache_beam.options.pipeline_options import PipelineOptions
import tensorflow_datasets as tfds

import pass_tfds
from pass_tfds.dataset import sources

DUMMY = os.path.join(os.path.dirname(pass_tfds.__file__), "dataset", "dummy_data")


def test_downloads_the_published_files(tmp_path):
  requested = {}

  def fake_download(self, url_or_urls):
    requested.update(url_or_urls)
    return {name: os.path.join(DUMMY, name) for name in url_or_urls}

  builder = tfds.builder("pass_dataset", data_dir=str(tmp_path))
  with mock.patch.object(tfds.download.DownloadManager, "download", fake_download):
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(
            beam_options=PipelineOptions(["--direct_running_mode=in_memory"]))  # No worker processes needed.
    )
  published = pass_tfds.PassDataset.url_infos
  assert sorted(requested) == sorted(sources.ALL_NAMES)
  assert set(requested.values()) <= set(published), "every URL has a registered size and sha256"
  assert builder.info.splits["train"].num_examples == 20
