"""Imports Apache Beam without its BigQuery notice, and without configuring logging.

Without the `gcp` extra, `import apache_beam` says "apitools not found, and
bigquery client libraries are not available..." through `logging.warning`. With
no handler on the root logger yet, that call also runs `logging.basicConfig()`:
the notice lands on stderr before any program has set up its logging, and the
root logger keeps a handler that prints every later record in Python's default
format. This project does not use BigQuery. `pass_tfds` imports Beam through
here first, so every entry point (beam_runner.py, pass-tfds-build,
`tfds build --imports pass_tfds`, a notebook) gets Beam the same way whatever
extras are installed.

Beam's SDK workers import Beam before any of this package's code runs: their
notice goes to the worker's stderr, which the `Console` filters.
"""

from __future__ import annotations

import logging
import sys

BIGQUERY_NOTICE = "apitools not found, and bigquery client libraries"


class _WithoutNotice(logging.Filter):

  def filter(self, record: logging.LogRecord) -> bool:
    return BIGQUERY_NOTICE not in record.getMessage()


class _LastResort(logging.Handler):
  """Does with a record what Python does when no handler is set (`logging.lastResort`)."""

  def emit(self, record: logging.LogRecord) -> None:
    last_resort = logging.lastResort
    if last_resort is not None and record.levelno >= last_resort.level:
      last_resort.handle(record)


def import_beam() -> None:
  """Imports `apache_beam` (once) with the BigQuery notice dropped and logging left as it was."""
  if "apache_beam" in sys.modules:
    return
  root = logging.getLogger()
  notice_filter = _WithoutNotice()
  # While the root logger has a handler, `logging.warning` does not call basicConfig.
  stand_in = None if root.handlers else _LastResort()
  root.addFilter(notice_filter)
  if stand_in is not None:
    root.addHandler(stand_in)
  try:
    import apache_beam  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
  finally:
    root.removeFilter(notice_filter)
    if stand_in is not None:
      root.removeHandler(stand_in)
