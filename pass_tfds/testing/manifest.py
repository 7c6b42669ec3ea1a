"""`manifest.json`: what a corpus writer produced and what a correct build reports."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from pass_tfds.pipeline.accounting import SKIP_REASONS
from pass_tfds.testing.layout import METADATA_FILE

MANIFEST_FILE = "manifest.json"
WRITTEN = "written"
WRITTEN_REENCODED = "written_reencoded"
OUTCOMES = (WRITTEN, WRITTEN_REENCODED) + SKIP_REASONS


@dataclasses.dataclass(frozen=True)
class SampleManifest:
  """What a writer produced; saved as `manifest.json` in the output folder.

  `images`: for `write_sample`, hash -> {"archive", "member", "width", "height"};
  for the quirk corpus, member path -> the same plus "hash" (None when the name
  holds no hash; width/height None when the file is not a complete picture).
  `expected` (quirk corpus): member path -> "written", "written_reencoded" or a
  skip reason of `pass_tfds.pipeline.accounting`. `expected_counts`: the numbers a
  correct build reports for these files.
  """

  archives: list[str]
  metadata_file: str = METADATA_FILE
  images: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
  expected: dict[str, str] = dataclasses.field(default_factory=dict)
  expected_counts: dict[str, Any] = dataclasses.field(default_factory=dict)
  kind: str = "sample"  # "sample" or "quirks".
  seed: int = 0

  def to_json(self) -> str:
    fields = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
    return json.dumps(fields, ensure_ascii=False, indent=1) + "\n"

  @classmethod
  def from_json(cls, text: str) -> "SampleManifest":
    return cls(**json.loads(text))

  def save(self, out_dir: str) -> str:
    path = os.path.join(out_dir, MANIFEST_FILE)
    with open(path, "w", encoding="utf-8") as f:
      f.write(self.to_json())
    return path


def load_manifest(out_dir: str) -> SampleManifest:
  with open(os.path.join(out_dir, MANIFEST_FILE), encoding="utf-8") as f:
    return SampleManifest.from_json(f.read())
