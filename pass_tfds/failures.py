"""A failed build as one line: what went wrong, where, and what to do.

Errors are recognised by type along the exception chain. Beam's
multi_processing DirectRunner re-raises a worker's error as its own exception
whose text holds the original; `_from_beam_text` is the one place that reads
that text.
"""

from __future__ import annotations

import dataclasses
import errno
import re
from typing import Callable

from pass_tfds.errors import BuildLockedError, PassTfdsError, UsageError

INTERRUPTED = 130
USAGE = 2
FAILED = 1
_ENOSPC_TEXT = "[Errno 28] No space left on device"


@dataclasses.dataclass(frozen=True)
class Failure:
  message: str
  exit_code: int
  expected: bool  # Recognised: the message says what happened.
  plain: bool = False  # About the command itself (flags, another build): no log to read.


def _chain(error: BaseException):
  seen = set()
  while error is not None and id(error) not in seen:
    seen.add(id(error))
    yield error
    error = error.__cause__ or error.__context__


def _all_subclasses(cls: type) -> list[type]:
  found = []
  for sub in cls.__subclasses__():
    found += [sub] + _all_subclasses(sub)
  return found


def _from_beam_text(text: str) -> tuple[str, str] | None:
  """("ours", message), ("enospc", "") or ("interrupted", "") read from a wrapped error's text."""
  names = sorted({cls.__name__ for cls in _all_subclasses(PassTfdsError)}, key=len, reverse=True)
  found = [(text.rfind(f"{name}: "), name) for name in names]
  start, name = max(found)
  if start != -1:
    message = text[start:].split(" [while running", 1)[0]
    return "ours", message.strip().split("\n\n", 1)[0].strip()
  if _ENOSPC_TEXT in text:
    return "enospc", ""
  if re.search(r"^KeyboardInterrupt", text, re.MULTILINE):
    return "interrupted", ""
  return None


def describe(error: BaseException, disk_full: Callable[[str | None], str]) -> Failure:
  """The one line for `error`; `disk_full(path)` words a full disk for this build."""
  for seen in _chain(error):
    if isinstance(seen, KeyboardInterrupt):
      return Failure("interrupted; run the same command to resume.", INTERRUPTED, True)
    if isinstance(seen, (UsageError, BuildLockedError)):
      return Failure(str(seen), USAGE, True, plain=True)
    if isinstance(seen, PassTfdsError):  # About the data: its kind leads the line.
      return Failure(f"{type(seen).__name__}: {seen}", USAGE, True)
    if isinstance(seen, OSError) and seen.errno == errno.ENOSPC:
      return Failure(disk_full(seen.filename), USAGE, True)
  parsed = _from_beam_text("\n".join(str(seen) for seen in _chain(error)))
  if parsed:
    kind, message = parsed
    if kind == "ours":
      return Failure(message, USAGE, True)
    if kind == "enospc":
      return Failure(disk_full(None), USAGE, True)
    return Failure("interrupted; run the same command to resume.", INTERRUPTED, True)
  return Failure(f"the build failed: {_last_error_line(error)}", FAILED, False)


def _last_error_line(error: BaseException) -> str:
  """`Type: message` of the innermost error: Beam wraps a worker's traceback in its own text."""
  text = str(error)
  lines = [line.strip() for line in text.splitlines()
           if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt)\b.*:", line.strip())]
  if lines:
    return lines[-1].split(" [while running", 1)[0][:300]
  first = (text.strip().splitlines() or [""])[0][:300]
  return f"{type(error).__name__}: {first}"
