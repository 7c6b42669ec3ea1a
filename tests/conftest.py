"""Shared fixtures."""

from __future__ import annotations

from typing import Iterator

import pytest

import gcs_emulator


@pytest.fixture(scope="session")
def gcs() -> Iterator[gcs_emulator.GcsEmulator]:
  """A GCS emulator on 127.0.0.1 for the whole session, with bucket `gcs.bucket`.

  While it runs, os.environ points Beam's gs:// FileSystem at it; pass
  `gcs.env()` to subprocesses. Give each test its own `gcs.new_prefix()`.
  """
  with gcs_emulator.running() as emulator:
    yield emulator
