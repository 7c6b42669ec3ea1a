"""What a build prints on stderr: everything goes to a log file, the terminal gets less.

Beam's workers and TensorFlow write to file descriptor 2 from other processes
and from C++, so the filter sits on the descriptor itself: a pipe, read by a
thread. On the default path the terminal does not get tracebacks (nor any
indented line: on stderr those are tracebacks' bodies), known noise
(Beam workers' start-up warnings, TensorFlow's `cuInit` line), or anything
after a failure was recognised; the log file gets every byte. `--verbose`
shows everything.
"""

from __future__ import annotations

import datetime
import os
import re
import sys
import tempfile
import threading

NOISE = re.compile(
    r"No semi_persistent_directory found"
    r"|Discarding unparseable args"
    r"|failed call to cuInit"
    r"|Unable to register cu(DNN|FFT|BLAS) factory"
    r"|computation placer already registered"
    r"|oneDNN custom operations are on"
    r"|This TensorFlow binary is optimized to use available CPU instructions"
    r"|To enable the following instructions"
    r"|absl::InitializeLog\(\) is called"
    r"|Could not find cuda drivers"
    # Beam's SDK workers log it while importing Beam without the gcp extra, before any of
    # our code runs (the launcher's own import drops it: beam_import.py).
    r"|apitools not found, and bigquery client libraries"
    r"|Logging handler created\."
    r"|^I\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] "  # TensorFlow's C++ INFO lines (absl format).
    r"|Variant folder .* has no dataset_info\.json"  # TFDS, before our own line for a missing build.
    r"|\[while running '"  # Beam's log line for a failed step: the error line says it better.
    # INFO lines logged in this process: the build's own per-step lines when its steps run
    # here (`--direct_running_mode=in_memory`; multi_processing workers log warnings only).
    # The progress line and the summary say it for a person; the log file keeps them.
    r"|^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ INFO "
)
_TRACEBACK = "Traceback (most recent call last):"
_CHAINS = (
    "During handling of the above exception",
    "The above exception was the direct cause",
    "Exception in thread ",
    "Exception ignored in",
)


def log_dir() -> str:
  return os.path.join(tempfile.gettempdir(), "pass_tfds-logs")


class LineFilter:
  """Decides, line by line, what reaches the terminal on the default path."""

  def __init__(self):
    self.muted = False
    self._in_traceback = False

  def keep(self, line: str) -> bool:
    if self.muted or NOISE.search(line) or not line.strip():
      return False
    stripped = line.rstrip("\n")
    if _TRACEBACK in stripped or stripped.startswith(_CHAINS):
      self._in_traceback = True
      return False
    if stripped[:1].isspace():  # A traceback's body (also one interleaved with another's).
      self._in_traceback = True
      return False
    if self._in_traceback or stripped == "KeyboardInterrupt":
      self._in_traceback = False  # The exception's own line ends the traceback.
      return False
    return True


class Console:
  """Context manager: routes descriptor 2 through a log file and a `LineFilter`."""

  def __init__(self, verbose: bool = False, name: str = "build"):
    self.verbose = verbose
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    os.makedirs(log_dir(), exist_ok=True)
    self.log_path = os.path.join(log_dir(), f"{name}-{stamp}-{os.getpid()}.log")
    self._filter = LineFilter()
    self._lock = threading.Lock()
    self._terminal = -1
    self._thread: threading.Thread | None = None

  def __enter__(self) -> "Console":
    sys.stderr.flush()
    self._log = open(self.log_path, "w", encoding="utf-8", errors="replace")
    self._terminal = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    self._thread = threading.Thread(target=self._pump, args=(read_end,), daemon=True)
    self._thread.start()
    return self

  def _pump(self, read_end: int) -> None:
    with os.fdopen(read_end, "r", encoding="utf-8", errors="replace", newline="") as lines:
      for line in lines:
        with self._lock:
          if self._log.closed:
            continue
          self._log.write(line)
          self._log.flush()
          if self.verbose or self._filter.keep(line):
            os.write(self._terminal, line.encode("utf-8", "replace"))

  def mute(self) -> None:
    """Nothing more from other code reaches the terminal (a failure is being reported)."""
    self._filter.muted = True

  def log(self, text: str) -> None:
    """Writes `text` to the log file only (and to the terminal with --verbose)."""
    with self._lock:
      self._log.write(text)
      self._log.flush()
      if self.verbose:
        os.write(self._terminal, text.encode("utf-8", "replace"))

  def say(self, line: str) -> None:
    """Writes one line to the terminal's stderr (and the log), whatever the filter."""
    with self._lock:
      self._log.write(line + "\n")
      self._log.flush()
      os.write(self._terminal, (line + "\n").encode("utf-8", "replace"))

  def __exit__(self, *exc) -> None:
    sys.stderr.flush()
    if self._filter.muted:
      # After a failure Beam's threads and workers still print while they wind down, until
      # the process ends: stderr stays routed to the log, and the terminal keeps only the
      # error line.
      return
    os.dup2(self._terminal, 2)  # Closes our pipe end; the thread ends once workers close theirs.
    if self._thread is not None:
      self._thread.join(timeout=2.0)
    with self._lock:
      self._log.close()
      os.close(self._terminal)

  def discard(self) -> None:
    """Deletes the log file (the build went well), and the logs folder if no other log is left."""
    try:
      os.remove(self.log_path)
      os.rmdir(os.path.dirname(self.log_path))
    except OSError:  # Gone already, or the folder holds other builds' logs.
      pass
