"""Checks of `beam_runner.py`'s flags that run before anything is built or created.

Each failure is a `UsageError` naming the flag and what to give instead.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import os
from typing import Sequence

from pass_tfds import beam_defaults, sources
from pass_tfds.errors import SourceError, UsageError
from pass_tfds.source_checks import is_remote

GCP_EXTRA = 'pip install "pass_tfds[gcp]"'


def unknown_beam_flags(flags: Sequence[str]) -> list[str]:
  """Names in `flags` that are no Beam pipeline option."""
  from apache_beam.options.pipeline_options import PipelineOptions

  beam_logger = logging.getLogger("apache_beam.options.pipeline_options")
  level = beam_logger.level
  beam_logger.setLevel(logging.ERROR)  # Beam's "Discarding unparseable args": said better below.
  try:
    options = PipelineOptions(list(flags))
    known = set(options.get_all_options())
    given = set(options.get_all_options(retain_unknown_options=True))
  finally:
    beam_logger.setLevel(level)
  return sorted(given - known)


def check_unknown_flags(flags: Sequence[str], ours: Sequence[str]) -> None:
  """Every flag is ours or Beam's; a near miss of ours says which one was meant."""
  for name in unknown_beam_flags(flags):
    close = difflib.get_close_matches(f"--{name}", ours, n=1, cutoff=0.75)
    if close:
      raise UsageError(f"unknown flag --{name}: did you mean {close[0]}?")
    raise UsageError(
        f"unknown flag --{name}: it is neither a flag of beam_runner.py (see --help) nor an"
        " Apache Beam pipeline option."
    )


def check_config(name: str, valid: Sequence[str]) -> None:
  if name in valid:
    return
  close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
  hint = f" (did you mean {close[0]}?)" if close else ""
  raise UsageError(
      f"--config {name} is not a config of pass_dataset{hint}: use one of {', '.join(valid)}."
  )


def check_archives(value: str | None) -> tuple[str, ...] | None:
  """The archive names `--archives` asks for; None for all."""
  if not value:
    return None
  names = [name.strip() for name in value.split(",") if name.strip()]
  try:
    sources.select_archives(names)
  except SourceError as error:
    raise UsageError(f"--archives {value}: {error}") from None
  return tuple(names)


def check_local_dir(flag: str, path: str) -> None:
  """A local folder path does not run through a regular file (it need not exist yet)."""
  if is_remote(path):
    return
  probe = os.path.abspath(path)
  while not os.path.exists(probe):
    parent = os.path.dirname(probe)
    if parent == probe:
      return
    probe = parent
  if not os.path.isdir(probe):
    what = "is" if probe == os.path.abspath(path) else f"runs through {probe}, which is"
    raise UsageError(f"{flag} {path} {what} a file, not a folder: choose another {flag}.")


def check_remote_runner(runner: str | None, data_dir: str, manual_dir: str | None,
                        dry_run: bool) -> None:
  """With a remote runner, workers must reach both folders and Beam must speak gs://."""
  if beam_defaults.is_local(runner):
    return
  if not dry_run:  # A dry run translates the job and writes nothing.
    for flag, path in (("--data_dir", data_dir), ("--manual_dir", manual_dir)):
      if path and not is_remote(path):
        raise UsageError(
            f"{flag} {path} is a local path, which {runner} workers cannot see: give a"
            f" gs:// folder for {flag}."
        )
  try:
    from apache_beam.io.gcp import gcsio  # noqa: F401
    from google.cloud import storage  # noqa: F401
  except ImportError:
    raise UsageError(
        f"--runner={runner} needs apache-beam's Google Cloud support, which is not installed:"
        f" run `{GCP_EXTRA}`."
    ) from None


def positive_int(text: str) -> int:
  """argparse type for counts such as --num_shards."""
  try:
    value = int(text)
  except ValueError:
    value = 0
  if value < 1:
    raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text}")
  return value
