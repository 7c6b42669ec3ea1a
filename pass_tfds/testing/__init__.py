"""Synthetic PASS-like corpora in the real layout, for tests, demos and benchmarks.

Test fixtures, kept out of the builder's own modules (as `tfds.testing` is).
The real PASS data (https://zenodo.org/record/6615455) cannot be downloaded
everywhere, so this package writes look-alikes:

* `write_sample`: `PASS.0.tar` ... `PASS.{n-1}.tar` with photo-like JPEGs, a
  `pass_metadata.csv` with messy Flickr-ish usernames, and a TFDS `checksums.tsv`;
* `write_quirk_corpus`: every awkward case the builder must survive, with the
  expected outcome of every archive member.

Both save a `manifest.json` (`SampleManifest`, read back with `load_manifest`).
Command line: `python -m pass_tfds.testing` (or `pass-tfds-sample`).

Importing this package imports `pass_tfds`, whose __init__ imports TFDS and
Beam (not TensorFlow: TFDS loads it lazily).
"""

from __future__ import annotations

from pass_tfds.testing.cli import main
from pass_tfds.testing.layout import (
    CHECKSUMS_FILE,
    CSV_HEADER,
    FULL_CSV_ROWS,
    LICENSE,
    METADATA_FILE,
    URL_PREFIX,
    archive_name,
)
from pass_tfds.testing.manifest import (
    MANIFEST_FILE,
    OUTCOMES,
    WRITTEN,
    WRITTEN_REENCODED,
    SampleManifest,
    load_manifest,
)
from pass_tfds.testing.quirk_corpus import (
    QUIRK_DATES,
    QUIRK_GPS,
    QUIRK_NORMAL_PER_ARCHIVE,
    QUIRK_ROWS_WITHOUT_IMAGE,
    QUIRK_USERNAMES,
    write_quirk_corpus,
)
from pass_tfds.testing.sample_corpus import write_sample
from pass_tfds.testing.usernames import PANDAS_NA_STRINGS

__all__ = [
    "CHECKSUMS_FILE",
    "CSV_HEADER",
    "FULL_CSV_ROWS",
    "LICENSE",
    "MANIFEST_FILE",
    "METADATA_FILE",
    "OUTCOMES",
    "PANDAS_NA_STRINGS",
    "QUIRK_DATES",
    "QUIRK_GPS",
    "QUIRK_NORMAL_PER_ARCHIVE",
    "QUIRK_ROWS_WITHOUT_IMAGE",
    "QUIRK_USERNAMES",
    "URL_PREFIX",
    "WRITTEN",
    "WRITTEN_REENCODED",
    "SampleManifest",
    "archive_name",
    "load_manifest",
    "main",
    "write_quirk_corpus",
    "write_sample",
]
