"""A failed build as one line: what went wrong, where, and what to do.

Errors are recognised by type along the exception chain. Beam's
multi_processing DirectRunner re-raises a worker's error as its own exception
whose text holds the original; `_from_beam_text` is the one place that reads
that text. A gs:// path that cannot be reached (no network, no credentials) is
recognised by the words of the clients underneath (TensorFlow's libcurl,
google-auth, urllib3). Every failure exits 2, an interrupted build 130.
"""

from __future__ import annotations

import dataclasses
import errno
import re
from typing import Callable

from pass_tfds.errors import BuildLockedError, PassTfdsError, UsageError

INTERRUPTED = 130
USAGE = 2
FAILED = 2  # As the README promises: any failure of a build is exit 2.
_ENOSPC_TEXT = "[Errno 28] No space left on device"
# The cause of an unreachable gs:// path, as the clients word it.
_UNREACHABLE = re.compile(
    r"Could not resolve host: [\w.-]+|Failed to resolve '[\w.-]+'|Name or service not known"
    r"|Temporary failure in name resolution|Could not connect to server|Unable to connect to proxy"
    r"|Failed to establish a new connection|Your default credentials were not found"
    r"|Could not automatically determine credentials|Network is unreachable")
_BUCKET = re.compile(r"gs://[a-z0-9][a-z0-9._-]*")
# TFDS's wrapper around an error raised while a builder is made: the cause follows it.
_TFDS_PREFIX = re.compile(r'Failed to construct dataset "[^"]*", builder_kwargs "\{.*?\}": ', re.DOTALL)


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


def unreachable(text: str, remote: str | None) -> str | None:
  """The line for an error whose `text` says Google Cloud cannot be reached; None otherwise.

  Names the gs:// bucket the text names, else `remote` (a gs:// folder of this build).
  """
  cause = _UNREACHABLE.search(text)
  if not cause:
    return None
  bucket = _BUCKET.search(text) or (_BUCKET.search(remote) if remote else None)
  where = bucket.group(0) if bucket else "Google Cloud"
  return (
      f"cannot reach {where} (no network or credentials): {cause.group(0)}. Check the"
      " connection, and `gcloud auth application-default login` for credentials, then run the"
      " same command again."
  )


def describe(error: BaseException, disk_full: Callable[[str | None], str],
             remote: str | None = None) -> Failure:
  """The one line for `error`; `disk_full(path)` words a full disk for this build.

  `remote`: a gs:// folder of this build, if any, for an unreachable-network error.
  """
  for seen in _chain(error):
    if isinstance(seen, KeyboardInterrupt):
      return Failure("interrupted; run the same command to resume.", INTERRUPTED, True)
    if isinstance(seen, (UsageError, BuildLockedError)):
      return Failure(str(seen), USAGE, True, plain=True)
    if isinstance(seen, PassTfdsError):  # About the data: its kind leads the line.
      return Failure(f"{type(seen).__name__}: {seen}", USAGE, True)
    if isinstance(seen, OSError) and seen.errno == errno.ENOSPC:
      return Failure(disk_full(seen.filename), USAGE, True)
  text = "\n".join(str(seen) for seen in _chain(error))
  parsed = _from_beam_text(text)
  if parsed:
    kind, message = parsed
    if kind == "ours":
      return Failure(message, USAGE, True)
    if kind == "enospc":
      return Failure(disk_full(None), USAGE, True)
    return Failure("interrupted; run the same command to resume.", INTERRUPTED, True)
  offline = unreachable(text, remote)
  if offline:
    return Failure(offline, USAGE, True)
  return Failure(f"the build failed: {_last_error_line(error)}", FAILED, False)


def _last_error_line(error: BaseException) -> str:
  """`Type: message` of the innermost error, whole: Beam wraps a worker's traceback in its own
  text, TFDS an error while making a builder in its kwargs."""
  text = _TFDS_PREFIX.sub("", str(error))
  lines = [line.strip() for line in text.splitlines()
           if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt)\b.*:", line.strip())]
  if lines:
    return lines[-1].split(" [while running", 1)[0]
  first = (text.strip().splitlines() or [""])[0]
  return f"{type(error).__name__}: {first}"
