"""A build's temporary folders, all in one folder of its own, removed when it ends.

Beam and TFDS make temporary folders in this process and leave them, empty,
in `$TMPDIR` after every build: TFDS's `tmp*tfds` (`DatasetInfo.
initialize_from_bucket`, when a builder is made), Beam's `tmp*` (the stager,
once per runner tried), `beam-requirements-cache` (the stager, even with no
requirements) and `beam-temp*` (the Prism job server the DirectRunner tries
first; nothing stops it when Prism cannot start). Inside `own_tempdir()`,
Python's `tempfile` module puts everything in one new folder inside `$TMPDIR`,
deleted on the way out, whether the block failed or not. Only this process
is affected: Beam's worker processes keep `$TMPDIR` (and clean up after
themselves). `tempfile.tempdir` is process-wide: a temporary file another
thread of this process makes during a build lands in that folder too, and
goes with it.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
from typing import Iterator

_PREFIX = "pass_tfds-tmp-"
_LOCK = threading.Lock()
_depth = 0


@contextlib.contextmanager
def own_tempdir() -> Iterator[str]:
  """`tempfile.gettempdir()` is a new folder in the block, removed with its content after it.

  Nested blocks share the outermost block's folder.
  """
  global _depth
  with _LOCK:
    if _depth:
      _depth += 1
      own = None
    else:
      previous = tempfile.tempdir
      own = tempfile.mkdtemp(prefix=_PREFIX)
      tempfile.tempdir = own
      _depth = 1
  try:
    yield tempfile.gettempdir()
  finally:
    with _LOCK:
      _depth -= 1
      if own is not None:
        tempfile.tempdir = previous
        shutil.rmtree(own, ignore_errors=True)
