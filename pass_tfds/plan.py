"""Joining, de-duplicating, ordering and sharding on the small index: no image bytes.

Pure functions: the same index and metadata give the same plan whatever runner,
worker count or arrival order produced them, so `train[:10%]` means the same
images everywhere.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

from pass_tfds.archives import IndexedMember, Member, join_key

_KEY_SALT = b"pass_dataset/train/"


class PlannedExample(NamedTuple):
  """One unique image: where its copies lie, in the order to try them."""

  key: bytes  # Position in the shuffled dataset order.
  hash: str  # As written in the member's file name.
  candidates: tuple[Member, ...]  # Same hash; first readable one is written.
  metadata: Any  # The image's CSV row as found (parsed where it is written), or None.


@dataclasses.dataclass(frozen=True, slots=True)
class PlannedShard:
  index: int
  num_shards: int
  examples: tuple[PlannedExample, ...]


def shuffle_key(key: str) -> bytes:
  """A deterministic pseudo-random position for a join key, as TFDS does with example keys."""
  return hashlib.blake2b(_KEY_SALT + key.encode(), digest_size=16).digest()


def group_by_hash(members: Iterable[IndexedMember]) -> dict[str, list[IndexedMember]]:
  """Usable image members grouped by join key (copies of one hash together)."""
  groups: dict[str, list[IndexedMember]] = {}
  for indexed in members:
    if indexed.skip_reason is None and indexed.hash is not None:
      key = join_key(indexed.hash)
      copies = groups.get(key)
      if copies is None:
        groups[key] = [indexed]
      else:
        copies.append(indexed)
  return groups


def _location(indexed: IndexedMember) -> tuple[int, int]:
  return indexed.member.archive, indexed.member.offset


def plan_groups(
    groups: Mapping[str, list[IndexedMember]], metadata: Mapping[str, Any]
) -> list[PlannedExample]:
  """One `PlannedExample` per hash with its CSV row, sorted by shuffle key.

  Copies of one hash are tried in (archive, offset) order, so the same copy
  wins on every run.
  """
  planned = []
  for key, copies in groups.items():
    if len(copies) > 1:
      copies.sort(key=_location)
    planned.append(
        PlannedExample(
            shuffle_key(key),
            copies[0].hash,
            tuple(copy.member for copy in copies),
            metadata.get(key),
        )
    )
  planned.sort()
  return planned


def plan_examples(
    members: Iterable[IndexedMember], metadata: Mapping[str, Any]
) -> list[PlannedExample]:
  """Groups image members by hash, attaches their CSV row, sorts by shuffle key."""
  return plan_groups(group_by_hash(members), metadata)


def split_into_shards(examples: Sequence[PlannedExample], num_shards: int) -> list[PlannedShard]:
  """Contiguous, near-equal slices of the ordered examples."""
  num_shards = max(1, min(num_shards, len(examples)))
  bounds = [round(len(examples) * i / num_shards) for i in range(num_shards + 1)]
  return [
      PlannedShard(index, num_shards, tuple(examples[bounds[index]:bounds[index + 1]]))
      for index in range(num_shards)
  ]
