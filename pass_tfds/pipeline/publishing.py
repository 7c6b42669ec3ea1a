"""Moving finished shards to their published names, in a way a killed run can take back.

Finalize records every move (`record_moves`, in the work folder) before the
first one. A rerun after a kill finds the moved shards in the folder TFDS was
building in (`incomplete.*`), or in a version folder that a killed rename left
unfinished, and `take_back` returns them to the work folder, where the reuse
rule (`reuse.reusable`: size and CRC32C against their sidecars) verifies them
like any other stored piece. So a kill while publishing costs no finished work.

Beside `dataset_info.json`, `shards.json` lists what was published, from the
digests the shard writer computed (`shard_manifest`):

    {"format": "pass_tfds.shards", "version": 2, "file_format": "tfrecord",
     "shards": [{"name": "pass_dataset-train.tfrecord-00000-of-00020",
                 "size": 1234567, "crc32c": "1a2b3c4d", "sha256": "9f86d0...",
                 "records": 7200}, ...],
     "total": {"shards": 20, "size": 24691340, "records": 144000}}

`name` is the file name in the version folder, `size` its bytes, `crc32c` the
CRC32C (Castagnoli) of its bytes as 8 hex digits, `sha256` their SHA-256 as 64
hex digits (version 2; what Croissant readers check, see `croissant_build`),
`records` its examples. A copy of a build is checked against it file by file
(`pass_tfds.verify`).
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
from typing import Sequence

from pass_tfds.pipeline import shard_files

MOVES_NAME = "publish.json"
MANIFEST_NAME = "shards.json"
CROISSANT_NAME = "croissant.json"  # Written from shards.json by the builder (`pass_tfds.croissant_build`).
MANIFEST_FORMAT = "pass_tfds.shards"
MANIFEST_VERSION = 2  # 2: with each shard's sha256.


@dataclasses.dataclass(frozen=True)
class Move:
  source: str  # The finished file in the work folder.
  destination: str  # Its published path.
  size: int


def record_moves(work_dir: str, moves: Sequence[Move]) -> None:
  shard_files.write_json(posixpath.join(work_dir, MOVES_NAME),
                         {"moves": [dataclasses.asdict(move) for move in moves]})


def recorded_moves(work_dir: str) -> list[Move]:
  stored = shard_files.read_json(posixpath.join(work_dir, MOVES_NAME))
  if not isinstance(stored, dict):
    return []
  try:
    return [Move(**move) for move in stored["moves"]]
  except (KeyError, TypeError):
    return []


def take_back(work_dir: str, folders: Sequence[str]) -> int:
  """Moves published shards found in `folders` back to the work folder; returns how many.

  A shard goes back only where its work-folder file is missing and its size is
  the recorded one; whether it is reused is then up to its sidecar.
  """
  taken = 0
  for move in recorded_moves(work_dir):
    if shard_files.file_size(move.source) is not None:
      continue
    name = posixpath.basename(move.destination)
    for folder in folders:
      found = posixpath.join(folder.rstrip("/"), name)
      if shard_files.file_size(found) == move.size:
        shard_files.rename(found, move.source)
        taken += 1
        break
  return taken


def unfinished(version_dir: str, work_dir: str) -> bool:
  """True when `version_dir` holds files but lacks a shard the recorded moves put there.

  What a rename of the whole folder leaves when killed half way where it is
  not atomic (gs://: objects copied one by one).
  """
  moves = recorded_moves(work_dir)
  if not moves or not shard_files.list_files(posixpath.join(version_dir.rstrip("/"), "*")):
    return False
  return any(
      shard_files.file_size(posixpath.join(version_dir, posixpath.basename(move.destination))) != move.size
      for move in moves
  )


@dataclasses.dataclass(frozen=True)
class PublishedShard:
  name: str  # File name in the version folder.
  size: int
  crc32c: int
  sha256: str
  records: int


def shard_manifest(shards: Sequence[PublishedShard], file_format: str) -> dict:
  """The `shards.json` content (see the module doc)."""
  return {
      "format": MANIFEST_FORMAT,
      "version": MANIFEST_VERSION,
      "file_format": file_format,
      "shards": [{"name": shard.name, "size": shard.size, "crc32c": f"{shard.crc32c:08x}",
                  "sha256": shard.sha256, "records": shard.records} for shard in shards],
      "total": {"shards": len(shards), "size": sum(shard.size for shard in shards),
                "records": sum(shard.records for shard in shards)},
  }


def manifest_json(shards: Sequence[PublishedShard], file_format: str) -> str:
  return json.dumps(shard_manifest(shards, file_format), indent=2) + "\n"
