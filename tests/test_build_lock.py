"""The build lock's heartbeat: a long build must not look stale after a failed read or write."""

from __future__ import annotations

import json
import time

from pass_tfds.cli import build_lock


def _heartbeat(path: str) -> dict:
  """The lock's content; {} while the heartbeat thread is rewriting it (half written)."""
  try:
    with open(path, encoding="utf-8") as f:
      return json.load(f)
  except ValueError:
    return {}


def _wait_for(condition, seconds: float = 5.0) -> bool:
  deadline = time.time() + seconds
  while time.time() < deadline:
    if condition():
      return True
    time.sleep(0.02)
  return False


def test_the_heartbeat_goes_on_after_a_failed_read_and_a_failed_write(tmp_path, monkeypatch):
  folder = str(tmp_path / "pass_dataset" / "full" / "3.0.0")
  path = build_lock.lock_path(folder)
  with build_lock.held(folder, heartbeat=0.05) as holder:
    with open(path, "w", encoding="utf-8") as f:
      f.write('{"host": "half-writ')  # What a read sees mid-write, or after a failed request.
    assert _wait_for(lambda: _heartbeat(path).get("token") == holder.token), "the heartbeat stopped"
    original, failures = build_lock._write, []

    def failing_once(*args, **kwargs):
      if not failures:
        failures.append(1)
        raise OSError("connection reset")
      return original(*args, **kwargs)

    monkeypatch.setattr(build_lock, "_write", failing_once)
    assert _wait_for(lambda: "heartbeat" in _heartbeat(path))
    beat = _heartbeat(path)["heartbeat"]
    assert _wait_for(lambda: failures and _heartbeat(path).get("heartbeat", beat) > beat + 0.1)
    assert _wait_for(lambda: _heartbeat(path).get("token") == holder.token)
