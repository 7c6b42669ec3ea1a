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
def quirk_corpus(tmp_path_factory) -> tuple[str, object]:
  """(folder, manifest) of the quirk corpus (`testing.write_quirk_corpus`), written once.

  Shared by every test that builds from it: read it, never change it.
  """
  from pass_tfds import testing

  out = str(tmp_path_factory.mktemp("quirk_corpus"))
  return out, testing.write_quirk_corpus(out)


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory) -> str:
  """A 20-image sample of 4 KB images (`testing.write_sample`), written once.

  Shared: read it, or copy it to damage it.
  """
  from pass_tfds import testing

  out = str(tmp_path_factory.mktemp("small_sample"))
  testing.write_sample(out, 20, image_kb=4)
  return out


@pytest.fixture(scope="session")
def fresh_env(tmp_path_factory) -> fresh_venv.FreshEnv:
  """A new venv holding the wheel and its declared dependencies, from the registry (minutes)."""
  return fresh_venv.make(tmp_path_factory.mktemp("install"))
