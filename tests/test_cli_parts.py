"""Unit tests of the command line's parts: CPU count, Beam defaults, build lock, checks, filters."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from pass_tfds.cli import beam_defaults, build_lock, command as cli, console, cpus, failures, flag_checks, preflight
from pass_tfds import testing
from pass_tfds.dataset import source_checks
from pass_tfds.pipeline import tar_stream
from pass_tfds.errors import BuildLockedError, PassTfdsError, StrictModeError


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


def test_small_builds_run_in_one_process():
  small, large = beam_defaults.SMALL_BUILD_BYTES - 1, beam_defaults.SMALL_BUILD_BYTES
  flags = beam_defaults.with_local_flags([], source_bytes=small)
  assert "--direct_running_mode=in_memory" in flags
  assert not any(flag.startswith("--direct_num_workers") for flag in flags)
  flags = beam_defaults.with_local_flags([], source_bytes=large)
  assert "--direct_running_mode=multi_processing" in flags
  assert f"--direct_num_workers={cpus.available_cpus()}" in flags
  # Workers asked for: worker processes, however small the build.
  flags = beam_defaults.with_local_flags(["--direct_num_workers=2"], source_bytes=small)
  assert "--direct_running_mode=multi_processing" in flags and "--direct_num_workers=2" in flags
  flags = beam_defaults.with_local_flags(["--direct_running_mode=multi_threading"], source_bytes=small)
  assert "--direct_running_mode=in_memory" not in flags
  # tfds build and library calls: the builder passes the planned bytes.
  from apache_beam.options.pipeline_options import DirectOptions

  options = beam_defaults.with_local_options(None, source_bytes=small)
  assert options.view_as(DirectOptions).direct_running_mode == "in_memory"
  options = beam_defaults.with_local_options(None, source_bytes=large)
  assert options.view_as(DirectOptions).direct_running_mode == "multi_processing"
  assert beam_defaults.with_local_flags(["--runner", "DataflowRunner"], source_bytes=small) == [
      "--runner", "DataflowRunner"]
  # A resized config's images are decoded, resized and encoded: it weighs more per byte.
  assert beam_defaults.build_work(100, [None]) == 100
  assert beam_defaults.build_work(100, [None, 256, 64]) == 100 * (1 + 2 * beam_defaults.RESIZE_WEIGHT)


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
  assert other.exit_code == 2 and other.message == "the build failed: ValueError: odd"  # README: exit 2.


def test_an_unexpected_worker_error_is_named_by_its_innermost_line():
  wrapped = RuntimeError(
      "Traceback (most recent call last):\n  File \"x.py\", line 1, in f\n"
      "ZeroDivisionError: division by zero [while running 'BuildTrain/WritePieces']\n"
  )
  failure = failures.describe(wrapped, lambda path: "")
  assert failure.message == "the build failed: ZeroDivisionError: division by zero"


def test_an_error_while_tfds_makes_the_builder_is_named_by_its_cause_whole():
  kwargs = ", ".join(f"'option_{i}': 'a long value {i}'" for i in range(30))
  cause = "File format is already set to TFRECORD, and a much longer explanation follows. " * 3
  wrapped = RuntimeError(f'ValueError: Failed to construct dataset "pass_dataset", builder_kwargs'
                         f' "{{{kwargs}}}": {cause.strip()}')
  message = failures.describe(wrapped, lambda path: "").message
  assert message == f"the build failed: ValueError: {cause.strip()}"  # Not cut, no kwargs.


@pytest.mark.parametrize("text, remote, expected", [
    ("FailedPreconditionError: Error executing an HTTP request: libcurl code 6 meaning 'Could not"
     " resolve hostname', error details: Could not resolve host: www.googleapis.com\n\t when"
     " reading metadata of gs://bucket/data/pass_dataset/full/3.0.0/dataset_info.json", None,
     "cannot reach gs://bucket (no network or credentials): Could not resolve host:"
     " www.googleapis.com."),
    ("RetryError: Timeout of 120.0s exceeded, last exception: HTTPSConnectionPool(host="
     "'storage.googleapis.com', port=443): Max retries exceeded with url: /storage/v1/b/bucket/o/x"
     " (Caused by NameResolutionError(\"...: Failed to resolve 'storage.googleapis.com'\"))",
     "gs://my-bucket/pass", "cannot reach gs://my-bucket (no network or credentials): Failed to"
     " resolve 'storage.googleapis.com'."),
])
def test_an_unreachable_bucket_is_named_with_its_cause(text, remote, expected):
  failure = failures.describe(RuntimeError(text), lambda path: "", remote)
  assert failure.exit_code == 2
  assert failure.message.startswith(expected), failure.message
  assert "gcloud auth application-default login" in failure.message


# --- Runners ---------------------------------------------------------------------


@pytest.mark.parametrize("value, name, shares_disk", [
    (None, "DirectRunner", True),
    ("direct", "DirectRunner", True),
    ("DirectRunner", "DirectRunner", True),
    ("apache_beam.runners.direct.direct_runner.DirectRunner", "DirectRunner", True),
    ("dataflow", "DataflowRunner", False),
    ("DataflowRunner", "DataflowRunner", False),
    ("FlinkRunner", "FlinkRunner", False),
    ("DirectRuner", None, False),
    ("my.module.MyRunner", None, False),
])
def test_runner_names_resolve_as_beam_resolves_them(value, name, shares_disk):
  assert beam_defaults.runner_name(value) == name
  assert beam_defaults.shares_disk(value) == shares_disk


def test_every_runner_in_the_table_is_one_beam_can_import():
  import importlib

  for name, runner in beam_defaults.RUNNERS.items():
    module, cls = runner.path.rsplit(".", 1)
    assert cls == name and hasattr(importlib.import_module(module), cls), runner.path


# --- Pre-flight: what was typed, refused in one line before anything exists ------------

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> str:
  out = str(tmp_path_factory.mktemp("sample"))
  testing.write_sample(out, 20, image_kb=4, processes=1)
  return out


def refusal(tmp_path, *argv: str, program: str = "pass-tfds-build") -> str:
  """The `error:` line the pre-flight gives for `argv`; checks that nothing was created."""
  before = sorted(os.listdir(tmp_path))
  with pytest.raises(PassTfdsError) as raised:
    args, extra = cli.parse_args(list(argv), program)
    preflight.check(args, extra, program, REPO)
  failure = failures.describe(raised.value, lambda path: "")
  assert failure.exit_code == 2 and failure.expected, failure
  assert "\n" not in failure.message, failure.message
  assert sorted(os.listdir(tmp_path)) == before  # Nothing created.
  return f"error: {failure.message}"


def with_sample(tmp_path, sample, *argv: str) -> list[str]:
  return ["--data_dir", str(tmp_path / "data"), "--manual_dir", sample,
          "--checksums", os.path.join(sample, testing.CHECKSUMS_FILE), *argv]


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-5", "0.0001", "lots"])
def test_range_mb_must_be_a_finite_size_in_mib(tmp_path, sample, value):
  line = refusal(tmp_path, *with_sample(tmp_path, sample, "--range_mb", value))
  assert line.startswith(f"error: --range_mb {value}: ") and "MiB" in line, line


def test_range_mb_in_mib_as_bytes():
  assert flag_checks.range_bytes("160") == 160 << 20
  assert flag_checks.range_bytes("0.5") == 1 << 19
  assert flag_checks.range_bytes(str(512 / (1 << 20))) == 512


def test_num_shards_below_the_number_of_archives(tmp_path, sample):
  line = refusal(tmp_path, *with_sample(tmp_path, sample, "--num_shards", "3"))
  assert "--num_shards 3 is fewer than the 10 archives" in line and "--num_shards 10" in line
  line = refusal(tmp_path, *with_sample(tmp_path, sample, "--num_shards", "1", "--archives",
                                        "PASS.0.tar,PASS.1.tar"))
  assert "fewer than the 2 archives" in line


@pytest.mark.parametrize("typed, meant", [
    ("--manual-dir", "--manual_dir"), ("--num-shards", "--num_shards"),
    ("--temp-location", "--temp_location"),  # Beam's own, which Beam would drop silently.
    ("--checksum", "--checksums"),  # No argparse abbreviations.
    ("--overwrit", "--overwrite"),
])
def test_flags_are_echoed_as_typed(tmp_path, sample, typed, meant):
  line = refusal(tmp_path, *with_sample(tmp_path, sample, f"{typed}=x"))
  assert line.startswith(f"error: unknown flag {typed}: did you mean {meant}?"), line


def test_unknown_runner_names_the_valid_ones(tmp_path, sample):
  line = refusal(tmp_path, *with_sample(tmp_path, sample, "--runner=DirectRuner"))
  assert "--runner=DirectRuner is not a runner" in line and "did you mean DirectRunner?" in line
  assert "DataflowRunner" in line and "cannot see" not in line


def test_dry_run_is_for_dataflow(tmp_path, sample):
  line = refusal(tmp_path, *with_sample(tmp_path, sample, "--dry_run=True"))
  assert "--dry_run=True" in line and "DataflowRunner" in line


def test_data_dir_that_cannot_be_created(tmp_path, sample):
  line = refusal(tmp_path, *with_sample(tmp_path, sample)[2:], "--data_dir", "/proc/pass_tfds/data")
  assert "--data_dir /proc/pass_tfds/data is not writable" in line


def test_a_writable_data_dir_is_probed_without_leaving_anything(tmp_path):
  flag_checks.check_writable_dir("--data_dir", str(tmp_path / "a" / "b"))
  assert os.listdir(tmp_path) == []


def _manual_copy(sample, tmp_path) -> str:
  manual = str(tmp_path / "manual")
  shutil.copytree(sample, manual)
  return manual


def test_an_archive_name_that_is_a_folder(tmp_path, sample):
  manual = _manual_copy(sample, tmp_path)
  os.remove(os.path.join(manual, "PASS.2.tar"))
  os.mkdir(os.path.join(manual, "PASS.2.tar"))
  line = refusal(tmp_path, *with_sample(tmp_path, manual, "--verify", "none")[:-4],
                 "--verify", "none")
  assert f"{manual}/PASS.2.tar is a folder, not the file PASS publishes" in line, line


def test_extracted_archives_are_recognised(tmp_path, sample):
  manual = _manual_copy(sample, tmp_path)
  for i in range(10):
    os.remove(os.path.join(manual, f"PASS.{i}.tar"))
    os.mkdir(os.path.join(manual, f"PASS.{i}"))
  line = refusal(tmp_path, *with_sample(tmp_path, manual))
  assert "keep the .tar files; do not extract" in line and "PASS.9/" in line, line
  assert "missing" not in line


def test_many_missing_files_are_one_line_with_a_count(tmp_path):
  empty = tmp_path / "empty"
  empty.mkdir()
  line = refusal(tmp_path, "--data_dir", str(tmp_path / "data"), "--manual_dir", str(empty))
  assert f"11 of the 11 files are missing from {empty}" in line
  assert "PASS.0.tar" in line and "pass_metadata.csv" in line and "--verify none" not in line


def test_a_missing_archive_with_verify_none_does_not_suggest_it(tmp_path, sample):
  manual = _manual_copy(sample, tmp_path)
  os.remove(os.path.join(manual, "PASS.3.tar"))
  line = refusal(tmp_path, "--data_dir", str(tmp_path / "data"), "--manual_dir", manual,
                 "--verify", "none")
  assert f"PASS.3.tar is missing from {manual}: download" in line
  assert "--verify" not in line and "checksums" not in line


@pytest.mark.parametrize("program", ["pass-tfds-build", "beam_runner.py"])
def test_the_manual_dirs_own_checksums_are_suggested_by_name(tmp_path, sample, program):
  line = refusal(tmp_path, "--data_dir", str(tmp_path / "data"), "--manual_dir", sample,
                 program=program)
  own = os.path.join(sample, testing.CHECKSUMS_FILE)
  assert line.startswith("error: SourceError: 11 files are not the size the checksums file"), line
  assert (f"holds its own checksums.tsv: for a corpus of your own, add --checksums {own} to the"
          f" {program} command") in line, line
  assert "--verify none" not in line


def test_csv_with_a_stray_carriage_return_in_its_header(tmp_path, sample):
  manual = _manual_copy(sample, tmp_path)
  path = os.path.join(manual, testing.METADATA_FILE)
  data = open(path, "rb").read()
  with open(path, "wb") as f:
    f.write(data.replace(b"licensename", b"license\rname", 1)[:len(data)])
  line = refusal(tmp_path, *with_sample(tmp_path, manual, "--verify", "none"))
  assert f"{path}: the header line holds a stray carriage return" in line, line
  assert "universal-newline" not in line and "UTF-8" not in line


def test_a_finished_build_in_another_file_format_is_named(tmp_path):
  folder = tmp_path / "data" / "pass_dataset" / "full" / "3.0.0"
  folder.mkdir(parents=True)
  (folder / "dataset_info.json").write_text('{"fileFormat": "tfrecord"}')
  for extra in ([], ["--overwrite"]):
    line = refusal(tmp_path, "--data_dir", str(tmp_path / "data"), "--file_format",
                   "array_record", *extra)
    assert f"{folder} already holds a tfrecord build of pass_dataset/full" in line
    assert "use another --data_dir or delete it" in line


def test_the_request_is_what_the_builder_is_made_from(tmp_path, sample):
  args, extra = cli.parse_args(with_sample(tmp_path, sample, "--range_mb", "0.5", "--archives",
                                           "PASS.1.tar,PASS.0.tar", "--direct_running_mode=in_memory"))
  request = preflight.check(args, extra, "pass-tfds-build", REPO)
  assert request.archives == ("PASS.0.tar", "PASS.1.tar") and request.range_bytes == 1 << 19
  assert request.runner == "DirectRunner" and not request.dry_run and not request.already_built
  assert "--direct_running_mode=in_memory" in request.beam_flags
  kwargs = request.builder_kwargs()
  assert kwargs["sources_checked"] and kwargs["range_bytes"] == 1 << 19
  assert not os.path.exists(tmp_path / "data")
