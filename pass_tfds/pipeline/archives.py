"""PASS archives as files: opening them through Beam FileSystems and what a member's name says.

Nothing is extracted to disk. Files are opened through Beam's `FileSystems`,
so the same code reads a local path or `gs://bucket/PASS.0.tar` on Dataflow;
`tar_stream` reads the members.
"""

from __future__ import annotations

import posixpath
import re
from typing import IO

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from pass_tfds.pipeline import accounting

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})
_HEX_RE = re.compile(r"^[0-9a-fA-F]{8,64}$")


def classify_member_name(name: str, size: int) -> tuple[str | None, str | None]:
  """Returns (hash, skip reason) for a regular file's path inside an archive."""
  base = posixpath.basename(name)
  stem, suffix = posixpath.splitext(base)
  if base.startswith("._") or base.startswith(".") or suffix.lower() not in IMAGE_SUFFIXES:
    return None, accounting.NOT_AN_IMAGE
  if not _HEX_RE.match(stem):
    return None, accounting.NAME_WITHOUT_HASH
  if size == 0:
    return stem, accounting.EMPTY_FILE
  return stem, None


def open_file(path: str) -> IO[bytes]:
  """Opens a local or remote file for binary reading, as is (no decompression)."""
  return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def file_size(path: str) -> int:
  return FileSystems.match([path])[0].metadata_list[0].size_in_bytes
