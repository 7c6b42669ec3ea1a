"""The command line (`beam_runner.py`, `pass-tfds-build`): one checked build request, then the build.

`main` is `command.main`, imported when called: Beam workers import modules of
this package (`beam_defaults`, `build_lock`) without the command line's imports.
"""

from __future__ import annotations

from typing import Sequence


def main(argv: Sequence[str] | None = None, repo_dir: str | None = None, **kwargs) -> int:
  """Runs a build from command-line flags; see `command.main`."""
  from pass_tfds.cli import command

  return command.main(argv, repo_dir=repo_dir, **kwargs)
