"""What PASS's published files look like: names, CSV header, checksums URLs, sizes."""

from __future__ import annotations

from pass_tfds.pipeline.metadata import EXPECTED_HEADER
from pass_tfds.dataset.sources import RECORD_URL

METADATA_FILE = "pass_metadata.csv"
CHECKSUMS_FILE = "checksums.tsv"
CSV_HEADER = EXPECTED_HEADER
URL_PREFIX = f"{RECORD_URL}/files/"
FULL_CSV_ROWS = 1_439_588  # Rows of the real pass_metadata.csv.
LICENSE = "Attribution License"
RELEASE_MTIME = 1654560000  # 2022-06-07, PASS's Zenodo release: fixed for byte-identical tars.


def archive_name(index: int) -> str:
  return f"PASS.{index}.tar"
