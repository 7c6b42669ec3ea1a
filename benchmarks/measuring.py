"""Measuring one subprocess tree: wall and CPU time, summed RSS sampled every 50 ms, shards as they appear."""

from __future__ import annotations

import glob
import os
import resource
import struct
import subprocess
import sys
import threading
import time
from typing import Any

import psutil

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = sys.executable
SAMPLE_INTERVAL = 0.05
MB = 1e6


def child_env(tmp_dir: str | None = None) -> dict[str, str]:
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
  if tmp_dir:
    env["TMPDIR"] = tmp_dir
  return env


def _busy_seconds(times) -> float:
  return sum(times) - times.idle - getattr(times, "iowait", 0.0)


class TreeSampler(threading.Thread):
  """Every `interval` s: RSS summed over the process and all its descendants, and
  each process's own user+sys CPU (children fields excluded, so nothing counts twice)."""

  def __init__(self, root: psutil.Process, interval: float = SAMPLE_INTERVAL,
               watch: str | None = None, start: float | None = None):
    super().__init__(daemon=True)
    self.root = root
    self.watch = watch  # Glob of output files whose first appearance is timed.
    self.began = time.perf_counter() if start is None else start
    self.first_seen: dict[str, float] = {}
    self.interval = interval
    self.stop_event = threading.Event()
    self.cpu_by_process: dict[tuple[int, float], float] = {}
    self.rss_by_process: dict[tuple[int, float], int] = {}
    self.name_by_process: dict[tuple[int, float], str] = {}
    self.peak_rss_sum = 0
    self.peak_rss_single = 0
    self.peak_processes = 0
    self.samples = 0

  def sample(self) -> None:
    try:
      tree = [self.root] + self.root.children(recursive=True)
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
      tree = [self.root]
    rss_sum = alive = 0
    for process in tree:
      try:
        with process.oneshot():
          rss = process.memory_info().rss
          cpu = process.cpu_times()
          key = (process.pid, process.create_time())
          if key not in self.name_by_process:
            self.name_by_process[key] = process_role(process.cmdline())
      except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        continue
      self.rss_by_process[key] = max(self.rss_by_process.get(key, 0), rss)
      alive += 1
      rss_sum += rss
      self.peak_rss_single = max(self.peak_rss_single, rss)
      self.cpu_by_process[key] = cpu.user + cpu.system
    if self.watch:
      now = time.perf_counter() - self.began
      for path in glob.glob(self.watch):
        self.first_seen.setdefault(os.path.basename(path), now)
    self.samples += 1
    self.peak_rss_sum = max(self.peak_rss_sum, rss_sum)
    self.peak_processes = max(self.peak_processes, alive)

  def run(self) -> None:
    while not self.stop_event.is_set():
      self.sample()
      self.stop_event.wait(self.interval)

  def stop(self) -> None:
    self.stop_event.set()
    self.join()

  def processes(self) -> list[dict[str, Any]]:
    """Per process of the tree: its role, CPU seconds and peak RSS, in start order."""
    return [{"pid": key[0], "role": self.name_by_process.get(key, "?"),
             "cpu_s": round(cpu, 3), "peak_rss_mb": round(self.rss_by_process.get(key, 0) / MB, 1)}
            for key, cpu in sorted(self.cpu_by_process.items(), key=lambda item: item[0][1])]


def process_role(cmdline: list[str]) -> str:
  """A short name for a process of a measured tree."""
  text = " ".join(cmdline)
  if cmdline[:1] and os.path.basename(cmdline[0]) in ("sh", "bash", "dash"):
    return "shell wrapper"
  if "sdk_worker_main" in text or "worker_pool_main" in text:
    return "beam sdk worker"
  if "beam_runner.py" in text:
    return "beam_runner.py (pipeline driver)"
  if "tfds.builder(\"pass\"" in text or 'tfds.builder("pass"' in text:
    return "catalog builder"
  if "shutil.copyfile" in text:
    return "copy"
  return text[:80]


def shard_timeline(first_seen: dict[str, float], wall: float) -> dict[str, Any] | None:
  """Phases of a build from when its shard files appeared (sampled every 50 ms)."""
  if not first_seen:
    return None
  final = [t for name, t in first_seen.items() if not name.endswith(".incomplete")]
  started = min(first_seen.values())
  written = max(final) if final else None
  return {
      "before_first_shard_s": started,  # Start-up, the CSV lookup, the first shard.
      "writing_shards_s": None if written is None else written - started,
      "after_last_shard_s": None if written is None else wall - written,  # Finalize, exit.
      "shard_files_seen": len(final),
  }


def measure(cmd: list[str], log_path: str, env: dict[str, str] | None = None,
            watch: str | None = None, cwd: str = REPO) -> dict[str, Any]:
  """Runs `cmd` to completion; wall, CPU (tree), peak RSS sum (tree), and machine load."""
  os.sync()  # Earlier runs' dirty pages are written back now, not during this run.
  load = os.getloadavg()
  system_before = psutil.cpu_times()
  children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
  self_before = resource.getrusage(resource.RUSAGE_SELF)
  with open(log_path, "wb") as log:
    start = time.perf_counter()
    process = psutil.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    sampler = TreeSampler(process, watch=watch, start=start)
    sampler.start()
    returncode = process.wait()
    wall = time.perf_counter() - start
    sampler.stop()
  children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
  self_after = resource.getrusage(resource.RUSAGE_SELF)
  system_after = psutil.cpu_times()
  cpu_rusage = ((children_after.ru_utime - children_before.ru_utime)
                + (children_after.ru_stime - children_before.ru_stime))
  cpu_sampled = sum(sampler.cpu_by_process.values())
  cpu = max(cpu_rusage, cpu_sampled)
  own = ((self_after.ru_utime - self_before.ru_utime)
         + (self_after.ru_stime - self_before.ru_stime))
  busy = _busy_seconds(system_after) - _busy_seconds(system_before)
  other = max(0.0, busy - cpu - own)
  return {
      "returncode": returncode,
      "wall_s": wall,
      "cpu_s": cpu,
      "cpu_rusage_s": cpu_rusage,
      "cpu_rusage_user_s": children_after.ru_utime - children_before.ru_utime,
      "cpu_rusage_sys_s": children_after.ru_stime - children_before.ru_stime,
      "cpu_sampled_s": cpu_sampled,
      "peak_rss_sum_mb": sampler.peak_rss_sum / MB,
      "peak_rss_single_mb": sampler.peak_rss_single / MB,
      "peak_processes": sampler.peak_processes,
      "processes_seen": len(sampler.cpu_by_process),
      "processes": sampler.processes(),
      "timeline": shard_timeline(sampler.first_seen, wall),
      "samples": sampler.samples,
      "sampler_cpu_s": own,
      "other_cpu_s": other,
      "other_cpu_share": other / max(wall * (os.cpu_count() or 1), 1e-9),
      "loadavg_before": load,
  }


def tail(path: str, lines: int = 25) -> str:
  with open(path, "rb") as f:
    text = f.read().decode("utf-8", "replace")
  return "\n".join(text.splitlines()[-lines:])


def count_tfrecords(paths: list[str]) -> int:
  """Counts TFRecord records by walking their length headers (no TensorFlow)."""
  total = 0
  for path in paths:
    with open(path, "rb") as f:
      size, position = os.fstat(f.fileno()).st_size, 0
      while position < size:
        f.seek(position)
        (length,) = struct.unpack("<Q", f.read(8))
        position += 8 + 4 + length + 4
        total += 1
  return total
