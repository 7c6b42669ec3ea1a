"""Checks a finished build, or a copy of one, against the `shards.json` written when it was published.

    python -m pass_tfds verify --data_dir D [--config full] [--version 3.0.0]

Each shard listed in `shards.json` (see `publishing`) is read once, front to
back, through Beam FileSystems (local or gs://), and its size, CRC32C and
sha256 (listed since version 2 of shards.json) are compared with what the shard
writer recorded. `croissant.json` (beside it since version 2) must list the
same files with the same sizes and sha256. One line per bad shard or file,
naming it and what to do; exit code 2 if any is bad, 0 if all are whole.
"""

from __future__ import annotations

import argparse
import posixpath
import sys
from typing import Sequence

from pass_tfds.pipeline import publishing, shard_files


def verify_build(version_dir: str) -> tuple[int, list[str]]:
  """(shards checked, one problem line per bad shard) for the build in `version_dir`."""
  version_dir = version_dir.rstrip("/")
  manifest_path = posixpath.join(version_dir, publishing.MANIFEST_NAME)
  manifest = shard_files.read_json(manifest_path)
  if not isinstance(manifest, dict) or manifest.get("format") != publishing.MANIFEST_FORMAT:
    return 0, [f"{manifest_path} is missing or unreadable: {version_dir} is not a finished pass_dataset"
               " build (or was built before pass_tfds wrote shards.json); build it again, or copy"
               " the whole version folder."]
  problems = []
  for shard in manifest["shards"]:
    path = posixpath.join(version_dir, shard["name"])
    found = shard_files.digest_of(path, with_sha256=True)
    if found is None:
      problems.append(f"{path} is missing: copy it again from the build.")
    elif found.size != shard["size"]:
      problems.append(f"{path} has {found.size:,} bytes, the build wrote {shard['size']:,}"
                      " (cut short or appended to): copy it again from the build.")
    elif f"{found.crc32c:08x}" != shard["crc32c"]:
      problems.append(f"{path} is damaged: its CRC32C is {found.crc32c:08x}, the build wrote"
                      f" {shard['crc32c']}: copy it again from the build.")
    elif shard.get("sha256", found.sha256) != found.sha256:
      problems.append(f"{path} is damaged: its sha256 is {found.sha256}, the build wrote"
                      f" {shard['sha256']}: copy it again from the build.")
  if manifest.get("version", 1) >= 2:
    problems += _croissant_problems(version_dir, manifest)
  return len(manifest["shards"]), problems


def _croissant_problems(version_dir: str, manifest: dict) -> list[str]:
  """croissant.json's FileObjects against shards.json: the same names, sizes and sha256."""
  path = posixpath.join(version_dir, publishing.CROISSANT_NAME)
  description = shard_files.read_json(path)
  if not isinstance(description, dict):
    return [f"{path} is missing or unreadable: copy it again from the build."]
  listed = sorted((node.get("name"), node.get("contentSize"), node.get("sha256"))
                  for node in description.get("distribution", []) if node.get("@type") == "cr:FileObject")
  published = sorted((shard["name"], f"{shard['size']} B", shard["sha256"]) for shard in manifest["shards"])
  if listed != published:
    return [f"{path} does not list the shards of {publishing.MANIFEST_NAME} (names, sizes, sha256):"
            " copy both again from the build."]
  return []


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(
      prog="python -m pass_tfds verify", allow_abbrev=False,
      description="Check every shard of a finished pass_dataset build (local or gs://) against the"
      " sizes, CRC32C and sha256 recorded when it was published (shards.json).")
  parser.add_argument("--data_dir", required=True, help="The TFDS data dir holding pass_dataset/.")
  parser.add_argument("--config", default="full", help="full (default), short_side_256, short_side_64.")
  parser.add_argument("--version", default=None, help="The dataset version folder (default: this release's).")
  args = parser.parse_args(argv)
  version = args.version
  if version is None:
    from pass_tfds.dataset.pass_dataset import PassDataset  # pylint: disable=import-outside-toplevel

    version = str(PassDataset.VERSION)
  version_dir = posixpath.join(args.data_dir.rstrip("/"), "pass_dataset", args.config, version)
  checked, problems = verify_build(version_dir)
  for problem in problems:
    print(f"error: {problem}", file=sys.stderr)
  if problems:
    return 2
  print(f"{checked} shards of {version_dir} verified: sizes, CRC32C and sha256 as published.")
  return 0
