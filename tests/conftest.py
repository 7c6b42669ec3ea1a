"""Shared fixtures."""

from __future__ import annotations

from typing import Iterator

import pytest

import fresh_venv
import gcs_emulator


@pytest.fixture(scope="session")
def gcs() -> Iterator[gcs_emulator.GcsEmulator]:
  """A GCS emulator on 127.0.0.1 for the whole session, with bucket `gcs.bucket`.

  While it runs, os.environ points Beam's gs:// FileSystem at it; pass
  `gcs.env()` to subprocesses. Give each test its own `gcs.new_prefix()`.
  """
  with gcs_emulator.running() as emulator:
    yield emulator


@pytest.fixture(scope="session")
def fresh_env(tmp_path_factory) -> fresh_venv.FreshEnv:
  """A new venv holding the wheel and its declared dependencies, from the registry (minutes)."""
  return fresh_venv.make(tmp_path_factory.mktemp("install"))
