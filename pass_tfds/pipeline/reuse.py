"""When a file an earlier run stored may be reused: one rule for every cache of the build.

A stored file (a piece's shard, a shard without its duplicates, the CSV
lookup) is reused only when its sidecar was written for the same `key` as
this run's, and the file still has the size and CRC32C its sidecar records.
A piece's sidecar also records the sha256 its writer computed (for
`shards.json`); the file's size and CRC32C vouch for it, so a rerun does not
spend a sha256 pass (3 times CRC32C's cost here) on every reused piece.
The key holds everything that determines the file's bytes: the identity of
each source read (`source_identity`), the settings, the file format and the
code version (`code_version`). Where the file goes in the build (its shard
number, its path) is never read back from a sidecar: it comes from today's plan.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
from typing import Any

from apache_beam.io.filesystems import FileSystems
import google_crc32c

from pass_tfds.pipeline import shard_files

# The modules whose code decides the bytes of a shard or of the lookup, by path inside pass_tfds/.
_BYTE_MODULES = (
    "dataset/features", "pipeline/archives", "pipeline/example_codec", "pipeline/image_keys",
    "pipeline/images", "pipeline/metadata", "pipeline/metadata_csv_reader", "pipeline/metadata_lookup",
    "pipeline/pieces", "pipeline/reconcile", "pipeline/shard_files", "pipeline/tar_stream",
)


def size_and_identity(path: str) -> tuple[int, str]:
  """A source file's size, and what tells its bytes apart without reading them, as text.

  Size and modification time, as Beam's FileSystems report them; on a remote
  filesystem also the checksum it keeps (gs://: the object's CRC32C, which
  changes with every new upload of the object).
  """
  metadata = FileSystems.match([path])[0].metadata_list[0]
  identity: dict[str, Any] = {"size": metadata.size_in_bytes, "mtime": metadata.last_updated_in_seconds}
  if not shard_files.is_local(path):
    identity["checksum"] = FileSystems.checksum(path)
  return metadata.size_in_bytes, json.dumps(identity, sort_keys=True)


def source_identity(path: str) -> str:
  return size_and_identity(path)[1]


@functools.lru_cache(maxsize=1)
def code_version() -> str:
  """pass_tfds's and Pillow's versions and a CRC32C of the modules that decide a shard's bytes."""
  package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  crc = 0
  for name in _BYTE_MODULES:
    with open(os.path.join(package, f"{name}.py"), "rb") as f:
      crc = google_crc32c.extend(crc, f.read())
  return f"pass_tfds {_version('pass_tfds')} Pillow {_version('pillow')} code {crc:08x}"


def _version(distribution: str) -> str:
  try:
    return importlib.metadata.version(distribution)
  except importlib.metadata.PackageNotFoundError:
    return "unknown"


def make_key(**parts: Any) -> dict[str, Any]:
  """A key as a sidecar stores it (JSON values: tuples become lists), so that equal means equal."""
  return json.loads(json.dumps(parts, sort_keys=True))


def reusable(stored: object, key: dict[str, Any], path: str) -> bool:
  """True when the sidecar `stored` was written for `key` and the file at `path` still verifies."""
  if not isinstance(stored, dict) or stored.get("key") != key:
    return False
  try:
    recorded = shard_files.FileDigest(stored["size"], stored["crc32c"])
  except KeyError:
    return False
  # Size and CRC32C: a sha256 the sidecar records (a piece's) is carried with the file it verifies.
  return shard_files.digest_of(path) == recorded
