"""Counting what happened to every archive member and CSV row, and the build report.

Every regular-file member of the archives ends as written or skipped with one
of the reasons below; `BuildCounts.check()` refuses a build whose numbers do
not add up.
"""

from __future__ import annotations

import collections
import dataclasses
import json
from typing import Any, Iterable
from pass_tfds.errors import AccountingError

# Skip reasons: why a regular-file archive member was not written.
NOT_AN_IMAGE = "not_an_image"  # ._* AppleDouble, .DS_Store, text and other non-image names.
NAME_WITHOUT_HASH = "name_without_hash"  # An image name whose stem is not a hex hash.
EMPTY_FILE = "empty_file"
TRUNCATED = "truncated"  # Image data ends early.
UNDECODABLE = "undecodable"  # Garbage, HTML error pages, unsupported formats.
DECOMPRESSION_BOMB = "decompression_bomb"  # Pixel count above the limit; never decoded.
DUPLICATE_HASH = "duplicate_hash"  # Another member with the same hash was written.
SYMLINK = "symlink"  # A symbolic link: no bytes of its own.
HARD_LINK_ELSEWHERE = "hard_link_target_elsewhere"  # A hard link whose target another piece read.

SKIP_REASONS = (
    NOT_AN_IMAGE,
    NAME_WITHOUT_HASH,
    EMPTY_FILE,
    TRUNCATED,
    UNDECODABLE,
    DECOMPRESSION_BOMB,
    DUPLICATE_HASH,
    SYMLINK,
    HARD_LINK_ELSEWHERE,
)
# Reasons that `--strict` turns into a failed build: an image that should have
# been usable was not. Non-image files and exact duplicates are expected noise.
STRICT_REASONS = frozenset(
    {NAME_WITHOUT_HASH, EMPTY_FILE, TRUNCATED, UNDECODABLE, DECOMPRESSION_BOMB, HARD_LINK_ELSEWHERE}
)

METRICS_NAMESPACE = "pass_tfds"
_EXAMPLES_PER_REASON = 5


@dataclasses.dataclass
class ArchiveCounts:
  members: int = 0
  written: int = 0
  skipped: int = 0


@dataclasses.dataclass
class BuildCounts:
  """Mergeable counts; each piece of the build emits a partial one.

  Archive side: every member is written or skipped with a reason. CSV side
  (filled in by the finalize step): every row is a duplicate of an earlier
  row, has an unusable hash, names no member, names only skipped members, or
  is the row of a written image.
  """

  members: int = 0
  written: int = 0
  reencoded: int = 0
  skipped: collections.Counter = dataclasses.field(default_factory=collections.Counter)
  skipped_examples: dict[str, list[str]] = dataclasses.field(default_factory=dict)
  per_archive: dict[str, ArchiveCounts] = dataclasses.field(default_factory=dict)
  non_file_entries: int = 0  # Directories, devices: not members.
  invalid_dates: int = 0
  invalid_gps: int = 0
  images_without_metadata: int = 0
  metadata_rows: int = 0
  duplicate_metadata_rows: int = 0
  differing_duplicate_metadata_rows: int = 0
  duplicate_metadata_examples: list[str] = dataclasses.field(default_factory=list)
  unusable_hash_rows: int = 0
  unusable_hash_examples: list[str] = dataclasses.field(default_factory=list)
  metadata_rows_without_member: int = 0
  metadata_rows_of_skipped_images: int = 0
  images_with_metadata: int = 0

  def archive(self, name: str) -> ArchiveCounts:
    counts = self.per_archive.get(name)
    if counts is None:
      counts = self.per_archive[name] = ArchiveCounts()
    return counts

  def add_member(self, archive: str) -> None:
    self.add_members(archive, 1)

  def add_members(self, archive: str, number: int) -> None:
    self.members += number
    self.archive(archive).members += number

  def add_written(self, archive: str, reencoded: bool) -> None:
    self.written += 1
    self.reencoded += int(reencoded)
    self.archive(archive).written += 1

  def add_skipped(self, archive: str, member: str, reason: str) -> None:
    if reason not in SKIP_REASONS:
      raise ValueError(f"unknown skip reason {reason!r}")
    self.skipped[reason] += 1
    self.archive(archive).skipped += 1
    examples = self.skipped_examples.setdefault(reason, [])
    if len(examples) < _EXAMPLES_PER_REASON:
      examples.append(f"{archive}:{member}")

  def remove_written(self, archive: str, reencoded: bool) -> None:
    """Takes back one written image (a duplicate found after its piece was written)."""
    self.written -= 1
    self.reencoded -= int(reencoded)
    self.archive(archive).written -= 1

  def to_json(self) -> dict[str, Any]:
    value = dataclasses.asdict(self)
    value["skipped"] = dict(self.skipped)
    return value

  @classmethod
  def from_json(cls, value: dict[str, Any]) -> "BuildCounts":
    fields = dict(value)
    fields["skipped"] = collections.Counter(fields["skipped"])
    fields["per_archive"] = {name: ArchiveCounts(**counts) for name, counts in fields["per_archive"].items()}
    return cls(**fields)

  def merge(self, other: "BuildCounts") -> "BuildCounts":
    for field in dataclasses.fields(self):
      mine, theirs = getattr(self, field.name), getattr(other, field.name)
      if isinstance(mine, int):
        setattr(self, field.name, mine + theirs)
      elif isinstance(mine, list):
        setattr(self, field.name, (mine + [item for item in theirs if item not in mine])[:_EXAMPLES_PER_REASON])
    self.skipped.update(other.skipped)
    for reason, names in other.skipped_examples.items():
      merged = sorted(set(self.skipped_examples.get(reason, []) + names))
      self.skipped_examples[reason] = merged[:_EXAMPLES_PER_REASON]
    for name, counts in other.per_archive.items():
      mine = self.archive(name)
      mine.members += counts.members
      mine.written += counts.written
      mine.skipped += counts.skipped
    return self

  @classmethod
  def merge_all(cls, parts: Iterable["BuildCounts"]) -> "BuildCounts":
    total = cls()
    for part in parts:
      total.merge(part)
    return total

  def metadata_accounted(self) -> int:
    return (
        self.duplicate_metadata_rows + self.unusable_hash_rows + self.metadata_rows_without_member
        + self.metadata_rows_of_skipped_images + self.images_with_metadata
    )

  def problems(self) -> list[str]:
    """Every way in which the counts do not add up; empty when they reconcile."""
    accounted = self.written + sum(self.skipped.values())
    problems = []
    if self.members != accounted:
      problems.append(
          f"{self.members} archive members but {self.written} written +"
          f" {sum(self.skipped.values())} skipped = {accounted}"
      )
    for name, counts in sorted(self.per_archive.items()):
      if counts.members != counts.written + counts.skipped:
        problems.append(
            f"{name}: {counts.members} members but {counts.written} written +"
            f" {counts.skipped} skipped"
        )
    if self.metadata_rows != self.metadata_accounted():
      problems.append(
          f"{self.metadata_rows} CSV rows but {self.metadata_accounted()} placed"
          f" ({self.duplicate_metadata_rows} duplicate, {self.unusable_hash_rows} unusable hash,"
          f" {self.metadata_rows_without_member} without member, {self.metadata_rows_of_skipped_images}"
          f" of skipped images, {self.images_with_metadata} of written images)"
      )
    if self.written != self.images_with_metadata + self.images_without_metadata:
      problems.append(
          f"{self.written} written images but {self.images_with_metadata} with metadata +"
          f" {self.images_without_metadata} without"
      )
    return problems

  def check(self) -> None:
    """Raises `AccountingError` unless every member and every CSV row is accounted for."""
    problems = self.problems()
    if problems:
      raise AccountingError(
          "The build lost track of archive members or CSV rows: " + "; ".join(problems)
          + ". Nothing was published; please report this with the build log."
      )

  def to_report(self, archives: Iterable[str], **extra: Any) -> dict[str, Any]:
    """The `build_report.json` content; every archive of the build is listed, even with zeros."""
    skipped_total = sum(self.skipped.values())
    for name in archives:
      self.archive(name)
    return {
        "archives": list(archives),
        "members": self.members,
        "written": self.written,
        "reencoded": self.reencoded,
        "skipped": dict(sorted(self.skipped.items())),
        "skipped_total": skipped_total,
        "skipped_examples": dict(sorted(self.skipped_examples.items())),
        "non_file_entries": self.non_file_entries,
        "metadata_rows": self.metadata_rows,
        "duplicate_metadata_rows": self.duplicate_metadata_rows,
        "differing_duplicate_metadata_rows": self.differing_duplicate_metadata_rows,
        "duplicate_metadata_examples": self.duplicate_metadata_examples,
        "unusable_hash_rows": self.unusable_hash_rows,
        "unusable_hash_examples": self.unusable_hash_examples,
        "metadata_rows_without_member": self.metadata_rows_without_member,
        "metadata_rows_of_skipped_images": self.metadata_rows_of_skipped_images,
        "images_with_metadata": self.images_with_metadata,
        "images_without_metadata": self.images_without_metadata,
        "invalid_dates": self.invalid_dates,
        "invalid_gps": self.invalid_gps,
        "per_archive": {
            name: dataclasses.asdict(counts) for name, counts in sorted(self.per_archive.items())
        },
        "invariant": f"members ({self.members}) == written ({self.written})"
        f" + sum(skipped) ({skipped_total})",
        "metadata_invariant": f"metadata rows ({self.metadata_rows}) == duplicate"
        f" ({self.duplicate_metadata_rows}) + unusable hash ({self.unusable_hash_rows}) + without"
        f" member ({self.metadata_rows_without_member}) + of skipped images"
        f" ({self.metadata_rows_of_skipped_images}) + of written images ({self.images_with_metadata})",
        "reconciled": not self.problems(),
        **extra,
    }


def report_json(report: dict[str, Any]) -> str:
  return json.dumps(report, indent=2, sort_keys=False) + "\n"
