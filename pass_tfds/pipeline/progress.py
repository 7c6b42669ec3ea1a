"""Progress a person can plan with: shards done of total, images/s, MB/s, elapsed and ETA.

Read from the build's work folder, which every runner writes to: `plan.json`
(written before the pipeline starts: how many pieces, how many source bytes)
and one sidecar per finished piece (the counts the build report adds up).
Works the same for a local build and, polling gs://, for a Dataflow job.
"""

from __future__ import annotations

import dataclasses
import posixpath
import sys
import threading
import time
from typing import Callable, Sequence, TextIO

from pass_tfds.pipeline import shard_files
from pass_tfds.pipeline.plan import PIECE_NAME, Piece

PLAN_NAME = "plan.json"


def write_plan(work_dir: str, pieces: Sequence[Piece]) -> None:
  shard_files.write_json(posixpath.join(work_dir, PLAN_NAME), {
      "pieces": len(pieces),
      "source_bytes": sum(piece.end - piece.start for piece in pieces),
  })


@dataclasses.dataclass
class Snapshot:
  """What the work folder says at one moment."""

  pieces_total: int = 0
  source_total: int = 0
  pieces_done: int = 0
  pieces_reused: int = 0
  images: int = 0
  source_done: int = 0  # Source bytes of the pieces finished by this run.
  images_done: int = 0  # Images in the pieces finished by this run.


def format_duration(seconds: float) -> str:
  seconds = int(round(seconds))
  if seconds < 60:
    return f"{seconds}s"
  if seconds < 3600:
    return f"{seconds // 60}m{seconds % 60:02d}s"
  return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def describe(snapshot: Snapshot, elapsed: float) -> str:
  """One line: shards done of total, images, rates over this run's pieces, elapsed, ETA."""
  total = snapshot.pieces_total or 1
  line = (
      f"[{format_duration(elapsed):>6}] shards {snapshot.pieces_done:,}/{snapshot.pieces_total:,}"
      f" ({100 * snapshot.pieces_done / total:.0f}%)"
  )
  if snapshot.pieces_reused:
    line += f", {snapshot.pieces_reused:,} reused"
  line += f"; {snapshot.images:,} images"
  if snapshot.source_done and elapsed > 0:
    rate = snapshot.source_done / elapsed
    line += f"; {snapshot.images_done / elapsed:,.0f} images/s, {rate / 1e6:,.1f} MB/s"
    remaining = snapshot.source_total - snapshot.source_done - _reused_bytes(snapshot)
    if remaining > 0:
      line += f", ETA {format_duration(remaining / rate)}"
  return line


def _reused_bytes(snapshot: Snapshot) -> int:
  # Reused pieces are assumed average-sized; they only shorten what remains.
  return int(snapshot.source_total * snapshot.pieces_reused / (snapshot.pieces_total or 1))


class Progress(threading.Thread):
  """Prints progress every `interval` seconds: one updating line on a terminal, else plain lines."""

  def __init__(self, work_dir: str, interval: float = 3.0, out: TextIO = sys.stdout,
               clock: Callable[[], float] = time.monotonic):
    super().__init__(daemon=True)
    self._work_dir = work_dir
    self._interval = interval
    self._out = out
    self._clock = clock
    self._began = clock()
    self._done = threading.Event()
    self._seen: dict[str, tuple[int, int, bool]] = {}  # sidecar -> (records, source bytes, reused)
    self._known_before = self._sidecars()  # Pieces of an earlier run: reused, not this run's work.
    self._tty = hasattr(out, "isatty") and out.isatty()
    self._last = ""

  def _sidecars(self) -> set[str]:
    names = set()
    for path in shard_files.list_files(posixpath.join(self._work_dir, "*.json")):
      stem = posixpath.basename(path)[:-len(".json")]
      if PIECE_NAME.match(stem):
        names.add(path)
    return names

  def snapshot(self) -> Snapshot:
    plan = shard_files.read_json(posixpath.join(self._work_dir, PLAN_NAME)) or {}
    snapshot = Snapshot(plan.get("pieces", 0), plan.get("source_bytes", 0))
    for path in self._sidecars():
      if path not in self._seen:
        sidecar = shard_files.read_json(path)
        if not isinstance(sidecar, dict):
          continue
        self._seen[path] = (sidecar["records"], sidecar["end"] - sidecar["start"], path in self._known_before)
      records, source, reused = self._seen[path]
      snapshot.pieces_done += 1
      snapshot.images += records
      if reused:
        snapshot.pieces_reused += 1
      else:
        snapshot.source_done += source
        snapshot.images_done += records
    return snapshot

  def _print(self) -> None:
    try:
      line = describe(self.snapshot(), self._clock() - self._began)
    except Exception:  # pylint: disable=broad-except  (a folder being written or removed)
      return
    if self._tty:
      self._out.write("\r" + line.ljust(len(self._last)))
      self._out.flush()
    elif line != self._last:
      print(line, file=self._out, flush=True)
    self._last = line

  def run(self) -> None:
    while not self._done.wait(self._interval):
      self._print()

  def stop(self) -> None:
    self._done.set()
    if self._tty and self._last:
      self._out.write("\n")
      self._out.flush()
