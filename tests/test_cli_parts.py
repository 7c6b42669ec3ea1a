"""Unit tests of the command line's parts: CPU count, Beam defaults, build lock, checks, filters."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from pass_tfds import beam_defaults, build_lock, console, cpus, failures, source_checks, tar_stream
from pass_tfds.errors import BuildLockedError, StrictModeError


# --- CPU count ----------------------------------------------------------------


def _cgroup(tmp_path, files: dict[str, str]) -> str:
  for name, text in files.items():
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
  return str(tmp_path)


@pytest.mark.parametrize("files, quota", [
    ({"cpu.max": "max 100000\n"}, None),
    ({"cpu.max": "150000 100000\n"}, 1.5),
    ({"cpu.max": "50000 100000\n"}, 0.5),
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    ({"cpu,cpuacct/cpu.cfs_quota_us": "300000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"}, 3.0),
    ({}, None),
])
def test_cgroup_quota_v1_and_v2(tmp_path, files, quota):
  assert cpus.cgroup_quota(_cgroup(tmp_path, files)) == quota


def test_available_cpus_is_capped_by_a_quota_and_at_least_one(tmp_path, monkeypatch):
  monkeypatch.setattr(cpus, "visible_cpus", lambda: 8)
  assert cpus.available_cpus(_cgroup(tmp_path / "a", {"cpu.max": "250000 100000"})) == 3
  assert cpus.available_cpus(_cgroup(tmp_path / "b", {"cpu.max": "10000 100000"})) == 1
  assert cpus.available_cpus(_cgroup(tmp_path / "c", {"cpu.max": "max 100000"})) == 8


def test_visible_cpus_without_sched_getaffinity(monkeypatch):
  """macOS has neither os.sched_getaffinity nor (before 3.13) os.process_cpu_count."""
  monkeypatch.delattr(os, "sched_getaffinity", raising=False)
  monkeypatch.delattr(os, "process_cpu_count", raising=False)
  monkeypatch.setattr(os, "cpu_count", lambda: 6)
  assert cpus.visible_cpus() == 6
  monkeypatch.setattr(os, "cpu_count", lambda: None)
  assert cpus.visible_cpus() == 1


# --- Beam defaults ------------------------------------------------------------


def test_local_defaults_when_no_runner_is_named():
  flags = beam_defaults.with_local_flags([])
  assert "--runner=DirectRunner" in flags
  assert "--direct_running_mode=multi_processing" in flags
  assert f"--direct_num_workers={cpus.available_cpus()}" in flags


def test_named_options_are_kept():
  flags = beam_defaults.with_local_flags(["--direct_running_mode=in_memory"])
  assert "--direct_running_mode=multi_processing" not in flags
  assert not any(flag.startswith("--direct_num_workers") for flag in flags)
  assert beam_defaults.with_local_flags(["--runner", "DataflowRunner"]) == ["--runner", "DataflowRunner"]


def test_pipeline_options_for_tfds_build():
  from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

  options = beam_defaults.with_local_options(None)
  assert options.view_as(StandardOptions).runner == "DirectRunner"
  assert options.view_as(DirectOptions).direct_running_mode == "multi_processing"
  kept = beam_defaults.with_local_options(PipelineOptions(["--direct_running_mode=in_memory"]))
  assert kept.view_as(DirectOptions).direct_running_mode == "in_memory"
  given = PipelineOptions([])
  assert beam_defaults.with_local_options(given, runner=object()) is given


# --- Build lock ---------------------------------------------------------------


def test_a_live_lock_refuses_a_second_build(tmp_path):
  folder = str(tmp_path / "pass_dataset" / "full" / "3.0.0")
  with build_lock.held(folder) as holder:
    with pytest.raises(BuildLockedError) as raised:
      build_lock.acquire(folder)
    message = str(raised.value)
    assert folder in message and f"pid {holder.pid}" in message and socket.gethostname() in message
  assert not os.path.exists(build_lock.lock_path(folder))


def _write_lock(folder: str, **fields) -> None:
  holder = dict(host=socket.gethostname(), pid=os.getpid(), started="2026-01-01T00:00:00",
                heartbeat=time.time(), token="other")
  holder.update(fields)
  os.makedirs(os.path.dirname(folder), exist_ok=True)
  with open(build_lock.lock_path(folder), "w") as f:
    json.dump(holder, f)


def test_a_dead_holder_on_this_host_is_stale(tmp_path):
  dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                        capture_output=True, text=True, check=True)
  folder = str(tmp_path / "v")
  _write_lock(folder, pid=int(dead.stdout))
  with build_lock.held(folder) as holder:
    assert holder.pid == os.getpid()


def test_an_old_heartbeat_from_another_host_is_stale(tmp_path):
  folder = str(tmp_path / "v")
  _write_lock(folder, host="elsewhere", heartbeat=time.time() - 3600)
  with build_lock.held(folder):
    pass
  _write_lock(folder, host="elsewhere", heartbeat=time.time())
  with pytest.raises(BuildLockedError, match="host elsewhere"):
    build_lock.acquire(folder)


def test_the_heartbeat_thread_refreshes_the_lock(tmp_path):
  folder = str(tmp_path / "v")
  with build_lock.held(folder, heartbeat=0.05):
    first = json.loads(open(build_lock.lock_path(folder)).read())["heartbeat"]
    time.sleep(0.3)
    later = json.loads(open(build_lock.lock_path(folder)).read())["heartbeat"]
  assert later > first


# --- Source checks -------------------------------------------------------------


@pytest.mark.parametrize("block", [3, 7, 1 << 20])
def test_first_invalid_utf8_gives_line_and_byte_offset(tmp_path, block, monkeypatch):
  monkeypatch.setattr(source_checks, "_BLOCK", block)
  data = b"header\n" + "é,ü\n".encode() * 30 + b"caf\xe9\n" + b"x\n"
  path = tmp_path / "m.csv"
  path.write_bytes(data)
  assert source_checks.first_invalid_utf8(str(path)) == (32, data.index(b"\xe9\n"))
  path.write_bytes("é\n".encode() * 100)
  assert source_checks.first_invalid_utf8(str(path)) is None


def test_compression_of(tmp_path):
  import gzip

  assert tar_stream.compression_of(gzip.compress(b"x" * 1000)[:8]) == "gzip"
  assert tar_stream.compression_of(b"plain" * 200) is None


# --- What reaches the terminal ----------------------------------------------------


def test_line_filter_drops_noise_and_tracebacks():
  keep = console.LineFilter().keep
  lines = [
      "2026 INFO Indexed PASS.0.tar: 6 members\n",
      "WARNING:...Worker: severity: WARN message: \"No semi_persistent_directory found: \"\n",
      "WARNING:... message: \"Discarding unparseable args: ['--direct_runner_use_stacked_bundle']\"\n",
      "E0000 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error\n",
      "Exception in thread run_worker:\n",
      "Traceback (most recent call last):\n",
      "  File \"x.py\", line 1, in <module>\n",
      "KeyboardInterrupt\n",
      "Planned 60 images in 1 shards.\n",
  ]
  assert [line for line in lines if keep(line)] == [lines[0], lines[-1]]


def test_failures_are_recognised_by_type_then_by_beam_text():
  def disk_full(path):
    return f"disk full at {path}"

  assert failures.describe(StrictModeError("bad member"), disk_full).message == (
      "StrictModeError: bad member")
  wrapped = RuntimeError("boom")
  wrapped.__cause__ = OSError(28, "No space left on device", "/data/x")
  assert failures.describe(wrapped, disk_full).message == "disk full at /data/x"
  beam = RuntimeError(
      "Pipeline failed\nTraceback ...\npass_tfds.errors.StrictModeError: --strict: PASS.6.tar:"
      " member skipped [while running 'WriteTrain/WriteShard']")
  assert failures.describe(beam, disk_full).message == (
      "StrictModeError: --strict: PASS.6.tar: member skipped")
  assert failures.describe(KeyboardInterrupt(), disk_full).exit_code == 130
  other = failures.describe(ValueError("odd\nmore"), disk_full)
  assert other.exit_code == 1 and other.message == "the build failed: ValueError: odd"


def test_an_unexpected_worker_error_is_named_by_its_innermost_line():
  wrapped = RuntimeError(
      "Traceback (most recent call last):\n  File \"x.py\", line 1, in f\n"
      "ZeroDivisionError: division by zero [while running 'BuildTrain/WritePieces']\n"
  )
  failure = failures.describe(wrapped, lambda path: "")
  assert failure.message == "the build failed: ZeroDivisionError: division by zero"
