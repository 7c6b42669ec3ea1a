"""One build per build folder: a lock file beside it, through Beam's FileSystems.

`held(folder)` writes `<folder>.lock` (host, pid, start time, heartbeat) and a
thread refreshes the heartbeat while the build runs. A second build finds a
live holder and fails at once, naming it. A lock is stale, and taken over,
when its holder ran on this host and that process is gone, or when its
heartbeat is older than `stale_after` seconds (a killed build on another
machine). Local paths are created atomically; on gs:// the writer re-reads the
lock after a moment to see that it won.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import logging
import os
import socket
import threading
import time
import uuid
from typing import Iterator

from apache_beam.io.filesystems import FileSystems

from pass_tfds.errors import BuildLockedError
from pass_tfds.dataset.source_checks import is_remote

HEARTBEAT_SECONDS = 30.0
STALE_AFTER_SECONDS = 300.0
_SETTLE_SECONDS = 1.0  # gs:// only: how long a racing writer has to show up.


@dataclasses.dataclass(frozen=True)
class Holder:
  host: str
  pid: int
  started: str  # ISO 8601, local time of the holder.
  heartbeat: float  # Seconds since the epoch.
  token: str

  def describe(self) -> str:
    return f"host {self.host}, pid {self.pid}, started {self.started}"


def lock_path(folder: str) -> str:
  return str(folder).rstrip("/") + ".lock"


def _read(path: str) -> Holder | None:
  try:
    with FileSystems.open(path) as stream:
      return Holder(**json.loads(stream.read().decode("utf-8")))
  except Exception:  # pylint: disable=broad-except  (absent, half-written or foreign)
    return None


def _write(path: str, holder: Holder, exclusive: bool = False) -> bool:
  """Writes the lock; with `exclusive` (local paths), only if no file is there."""
  data = json.dumps(dataclasses.asdict(holder)).encode("utf-8")
  if exclusive and not is_remote(path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
      descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
      return False
    with os.fdopen(descriptor, "wb") as f:
      f.write(data)
    return True
  with FileSystems.create(path) as stream:
    stream.write(data)
  return True


def _process_alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  return True


def is_stale(holder: Holder, stale_after: float = STALE_AFTER_SECONDS) -> bool:
  """Its process is gone (same host), or it has not beaten for `stale_after` seconds."""
  if holder.host == socket.gethostname() and not _process_alive(holder.pid):
    return True
  return time.time() - holder.heartbeat > stale_after


def _delete(path: str) -> None:
  try:
    FileSystems.delete([path])
  except Exception:  # pylint: disable=broad-except  (already gone)
    pass


def acquire(folder: str, stale_after: float = STALE_AFTER_SECONDS) -> Holder:
  """Takes the lock of `folder` or raises `BuildLockedError` naming the live holder."""
  path = lock_path(folder)
  mine = Holder(
      host=socket.gethostname(), pid=os.getpid(),
      started=datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
      heartbeat=time.time(), token=uuid.uuid4().hex,
  )
  for _ in range(3):
    other = _read(path)
    if other is not None and not is_stale(other, stale_after):
      raise BuildLockedError(
          f"{folder} is being built by another build ({other.describe()}): wait for it to"
          f" finish or use another --data_dir. If that build is dead, delete {path}."
      )
    if other is not None:
      logging.getLogger(__name__).warning(
          "Taking over the lock of a build that is gone (%s): %s", other.describe(), path)
      _delete(path)
    elif FileSystems.exists(path):  # Being written right now, or unreadable.
      time.sleep(0.2)
      if _read(path) is None and FileSystems.exists(path):
        _delete(path)
      continue
    if not _write(path, mine, exclusive=True):
      continue  # Another build created it first: look again.
    if is_remote(path):
      time.sleep(_SETTLE_SECONDS)
      if (_read(path) or mine).token != mine.token:
        continue
    return mine
  other = _read(path)
  raise BuildLockedError(
      f"{folder} is being built by another build"
      f"{f' ({other.describe()})' if other else ''}: wait for it to finish or use another"
      f" --data_dir. If that build is dead, delete {path}."
  )


class _Heartbeat(threading.Thread):
  def __init__(self, path: str, holder: Holder, interval: float):
    super().__init__(daemon=True, name="build-lock-heartbeat")
    self._path, self._holder, self._interval = path, holder, interval
    self.stopped = threading.Event()

  def run(self) -> None:
    while not self.stopped.wait(self._interval):
      try:
        if not self._beat():
          logging.getLogger(__name__).warning("The build lock %s was taken from this build.",
                                              self._path)
          return
      except Exception as error:  # pylint: disable=broad-except  (a network blip: beat again next time)
        logging.getLogger(__name__).warning("Could not refresh the build lock %s (%s); trying again.",
                                            self._path, error)

  def _beat(self) -> bool:
    """Refreshes the heartbeat; False when another build holds the lock now.

    A lock that cannot be read (gone for a moment, half-written, a failed
    request) is not taken: it is written again, and read again next beat.
    """
    try:
      with FileSystems.open(self._path) as stream:
        current = Holder(**json.loads(stream.read().decode("utf-8")))
    except Exception:  # pylint: disable=broad-except  (unreadable now: say so, keep the lock)
      current = None
    if current is not None and current.token != self._holder.token:
      return False
    _write(self._path, dataclasses.replace(self._holder, heartbeat=time.time()))
    return True


@contextlib.contextmanager
def held(folder: str, heartbeat: float = HEARTBEAT_SECONDS,
         stale_after: float = STALE_AFTER_SECONDS) -> Iterator[Holder]:
  """Holds the lock of `folder` while the block runs; releases it however the block ends."""
  path = lock_path(folder)
  holder = acquire(folder, stale_after)
  beat = _Heartbeat(path, holder, heartbeat)
  beat.start()
  try:
    yield holder
  finally:
    beat.stopped.set()
    current = _read(path)
    if current is not None and current.token == holder.token:
      _delete(path)
