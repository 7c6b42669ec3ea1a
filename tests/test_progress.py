"""Progress lines: shards done of total, images/s, MB/s, elapsed and ETA, from the work folder."""

from __future__ import annotations

import io
import json
import os

from pass_tfds.pipeline import plan, progress


def _sidecar(folder, name, records, start, end):
  with open(os.path.join(folder, f"{name}.json"), "w") as f:
    json.dump({"records": records, "start": start, "end": end}, f)


class _Clock:
  def __init__(self):
    self.now = 100.0

  def __call__(self):
    return self.now


def test_lines_count_shards_images_rates_and_eta(tmp_path):
  archive = plan.SourceArchive(0, "PASS.0.tar", "p", 4_000_000)
  pieces = plan.plan_pieces([archive], num_shards=4)
  progress.write_plan(str(tmp_path), pieces)
  _sidecar(tmp_path, pieces[0].name, 250, pieces[0].start, pieces[0].end)  # From an earlier run.
  clock = _Clock()
  out = io.StringIO()
  watcher = progress.Progress(str(tmp_path), out=out, clock=clock)
  _sidecar(tmp_path, pieces[1].name, 250, pieces[1].start, pieces[1].end)
  _sidecar(tmp_path, "PASS.0.tar.000000000000-000001000000.without-duplicates-0a", 1, 0, 1)  # Not a piece.
  clock.now += 10
  watcher._print()  # pylint: disable=protected-access
  line = out.getvalue().strip()
  assert line == "[   10s] shards 2/4 (50%), 1 reused; 500 images; 25 images/s, 0.1 MB/s, ETA 20s", line
  watcher._print()  # pylint: disable=protected-access
  assert out.getvalue().count("\n") == 1  # Plain lines only when something changed.


def test_a_terminal_gets_one_updating_line(tmp_path):
  class Terminal(io.StringIO):
    def isatty(self):
      return True

  archive = plan.SourceArchive(0, "PASS.0.tar", "p", 1_000_000)
  progress.write_plan(str(tmp_path), plan.plan_pieces([archive], num_shards=1))
  out = Terminal()
  watcher = progress.Progress(str(tmp_path), out=out, clock=_Clock())
  watcher._print()  # pylint: disable=protected-access
  watcher.stop()
  assert out.getvalue().startswith("\r[    0s] shards 0/1 (0%)") and out.getvalue().endswith("\n")


def test_durations_read_as_a_person_would():
  assert [progress.format_duration(s) for s in (5, 75, 3 * 3600 + 120)] == ["5s", "1m15s", "3h02m"]
