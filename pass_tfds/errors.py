"""The project's errors: each one's message names the file or flag and says what to do.

Every error a person can act on derives from `PassTfdsError`, so the command
line recognises them by type (also when Beam re-raises them wrapped in its own)
and prints the message as one `error:` line.
"""

from __future__ import annotations


class PassTfdsError(Exception):
  """Base class: a failure whose message tells a person what to do."""


class SourceError(PassTfdsError):
  """A source file is missing, damaged, or not the published one."""


class ArchiveError(PassTfdsError):
  """An archive cannot be read as a complete tar file."""


class MetadataFormatError(PassTfdsError, ValueError):
  """The metadata CSV does not have PASS's layout or encoding."""


class StrictModeError(PassTfdsError):
  """A member was skipped while the build was asked to be strict."""


class AccountingError(PassTfdsError):
  """The build lost track of an archive member or a CSV row; nothing was published."""


class UsageError(PassTfdsError):
  """A flag or argument is not usable as given."""


class BuildLockedError(PassTfdsError):
  """Another live build holds the build folder."""
