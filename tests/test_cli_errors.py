"""Every failure of the command line is one `error:` line naming the file or flag.

Each case runs the real `beam_runner.py` (or `tfds build`) in a subprocess on a
small generated sample and checks the exit code, that stderr holds at most a
few lines and no traceback, and what the line names. Nothing is downloaded:
proxies point at a closed port.
"""

from __future__ import annotations

import glob
import gzip
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from pass_tfds import testing
from pass_tfds.cli import build_lock
from pass_tfds.dataset import sources

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEAM_RUNNER = os.path.join(REPO, "beam_runner.py")
TFDS = os.path.join(os.path.dirname(sys.executable), "tfds")
IN_MEMORY = "--direct_running_mode=in_memory"
MAX_STDERR_LINES = 3


def _env(**extra: str) -> dict[str, str]:
  env = dict(os.environ, NO_GCE_CHECK="True")
  env.pop(sources.CHECKSUMS_ENV, None)
  env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # As a user runs it.
  for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
    env[name] = "http://127.0.0.1:9"
  for name in ("NO_PROXY", "no_proxy"):  # Beam's workers reach the runner over local gRPC.
    env[name] = "localhost,127.0.0.1"
  env.update(extra)
  return env


def cli(*args: str, manual_dir=None, checksums: bool = True, timeout: float = 300,
        **env: str) -> subprocess.CompletedProcess:
  command = [sys.executable, BEAM_RUNNER, *map(str, args)]
  if manual_dir is not None:
    command += ["--manual_dir", str(manual_dir)]
    if checksums:
      command += ["--checksums", os.path.join(str(manual_dir), testing.CHECKSUMS_FILE)]
  return subprocess.run(command, capture_output=True, text=True, env=_env(**env), cwd=REPO,
                        timeout=timeout, check=False)


def error_line(result: subprocess.CompletedProcess, *names: str, code: int = 2) -> str:
  """The one `error:` line; checks exit code, stderr size, and that it names `names`."""
  lines = [line for line in result.stderr.splitlines() if line.strip()]
  assert result.returncode == code, (result.returncode, result.stdout, result.stderr[-3000:])
  assert "Traceback" not in result.stderr, result.stderr[-3000:]
  assert 1 <= len(lines) <= MAX_STDERR_LINES, result.stderr[-3000:]
  assert lines[-1].startswith("error: "), result.stderr
  for name in names:
    assert str(name) in lines[-1], (name, lines[-1])
  return lines[-1]


def assert_nothing_started(result, data_dir) -> None:
  assert "Downloading and preparing" not in result.stdout, result.stdout
  assert not os.path.exists(data_dir), os.listdir(data_dir)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> str:
  out = str(tmp_path_factory.mktemp("corpus"))
  testing.write_sample(out, 20, image_kb=4, csv_rows=300, processes=1)  # CSV > 8 KB.
  return out


def copy_corpus(corpus: str, tmp_path) -> str:
  out = str(tmp_path / "corpus")
  shutil.copytree(corpus, out)
  return out


def rewrite_checksum(manual_dir: str, name: str) -> None:
  """Registers a changed file's size (sha256 is not checked with --verify size)."""
  path = os.path.join(manual_dir, testing.CHECKSUMS_FILE)
  rows = []
  for row in open(path, encoding="utf-8").read().splitlines():
    url, size, sha256, file_name = row.split("\t")
    if file_name == name:
      size = str(os.path.getsize(os.path.join(manual_dir, name)))
    rows.append("\t".join((url, size, sha256, file_name)))
  with open(path, "w", encoding="utf-8") as f:
    f.write("\n".join(rows) + "\n")


# --- Flags --------------------------------------------------------------------


def test_misspelt_flag_names_ours(corpus, tmp_path):
  result = cli("--data_dir", tmp_path / "data", "--num_shrds", "3", manual_dir=corpus)
  line = error_line(result, "--num_shrds", "--num_shards")
  assert "did you mean" in line
  assert_nothing_started(result, tmp_path / "data")


def test_unknown_flag_is_neither_ours_nor_beams(corpus, tmp_path):
  error_line(cli("--data_dir", tmp_path / "data", "--no_such_flag=1", manual_dir=corpus),
             "--no_such_flag", "Beam")


@pytest.mark.parametrize("value", ["0", "-2"])
def test_num_shards_must_be_positive(corpus, tmp_path, value):
  result = cli("--data_dir", tmp_path / "data", "--num_shards", value, manual_dir=corpus)
  error_line(result, "--num_shards", value)
  assert_nothing_started(result, tmp_path / "data")


def test_unknown_archive(corpus, tmp_path):
  result = cli("--data_dir", tmp_path / "data", "--archives", "PASS.11.tar", manual_dir=corpus)
  error_line(result, "--archives", "PASS.11.tar", "PASS.9.tar")
  assert_nothing_started(result, tmp_path / "data")


def test_unknown_config_names_the_valid_ones(corpus, tmp_path):
  result = cli("--data_dir", tmp_path / "data", "--config", "short_side64", manual_dir=corpus)
  error_line(result, "--config short_side64", "full", "short_side_256", "short_side_64")
  assert_nothing_started(result, tmp_path / "data")


def test_data_dir_through_a_regular_file(corpus, tmp_path):
  blocker = tmp_path / "a_file"
  blocker.write_text("not a folder")
  error_line(cli("--data_dir", blocker / "data", manual_dir=corpus), "--data_dir", str(blocker))


@pytest.mark.parametrize("value", ["nan", "0"])
def test_range_mb_is_checked_before_anything_exists(corpus, tmp_path, value):
  result = cli("--data_dir", tmp_path / "data", "--range_mb", value, manual_dir=corpus)
  error_line(result, f"--range_mb {value}", "MiB")
  assert_nothing_started(result, tmp_path / "data")


def test_num_shards_below_the_archives_is_checked_before_anything_exists(corpus, tmp_path):
  result = cli("--data_dir", tmp_path / "data", "--num_shards", "3", manual_dir=corpus)
  error_line(result, "--num_shards 3", "10 archives")
  assert_nothing_started(result, tmp_path / "data")


def test_data_dir_that_cannot_be_created(corpus, tmp_path):
  error_line(cli("--data_dir", "/proc/pass_tfds/data", manual_dir=corpus),
             "--data_dir /proc/pass_tfds/data is not writable")


def test_an_archive_that_is_a_folder(corpus, tmp_path):
  manual = copy_corpus(corpus, tmp_path)
  os.remove(os.path.join(manual, "PASS.5.tar"))
  os.mkdir(os.path.join(manual, "PASS.5.tar"))
  result = cli("--data_dir", tmp_path / "data", "--verify", "none", manual_dir=manual)
  error_line(result, os.path.join(manual, "PASS.5.tar"), "is a folder")
  assert_nothing_started(result, tmp_path / "data")


def test_extracted_archives_say_keep_the_tar_files(corpus, tmp_path):
  manual = copy_corpus(corpus, tmp_path)
  for i in range(10):
    os.remove(os.path.join(manual, f"PASS.{i}.tar"))
    os.mkdir(os.path.join(manual, f"PASS.{i}"))
  result = cli("--data_dir", tmp_path / "data", manual_dir=manual)
  error_line(result, "keep the .tar files; do not extract", manual)
  assert len(result.stderr.strip().splitlines()) == 1


def test_a_flag_with_a_hyphen_is_echoed_as_typed(corpus, tmp_path):
  result = cli("--data_dir", tmp_path / "data", "--manual-dir", corpus)
  line = error_line(result, "unknown flag --manual-dir: did you mean --manual_dir?")
  assert "--manual_dir: did you mean" not in line


def test_no_flag_abbreviations(corpus, tmp_path):
  result = cli("--data_dir", tmp_path / "data", "--manual_dir", corpus, "--checksum",
               os.path.join(corpus, testing.CHECKSUMS_FILE))
  error_line(result, "unknown flag --checksum: did you mean --checksums?")
  assert_nothing_started(result, tmp_path / "data")


def test_a_misspelt_runner_is_refused_with_the_valid_ones(corpus, tmp_path):
  result = cli("--data_dir", tmp_path / "data", "--runner=DirectRuner", manual_dir=corpus)
  line = error_line(result, "--runner=DirectRuner", "DirectRunner", "DataflowRunner")
  assert "workers cannot see" not in line


def test_the_console_script_names_itself(corpus, tmp_path):
  """Under `pass-tfds-build`: its own name in --help and in the checksums hint."""
  script = os.path.join(os.path.dirname(sys.executable), "pass-tfds-build")
  env = _env(PYTHONPATH=REPO)
  usage = subprocess.run([script, "--help"], capture_output=True, text=True, env=env, check=True)
  assert usage.stdout.startswith("usage: pass-tfds-build "), usage.stdout
  result = subprocess.run([script, "--data_dir", str(tmp_path / "data"), "--manual_dir", corpus],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
  own = os.path.join(corpus, testing.CHECKSUMS_FILE)
  line = error_line(result, f"add --checksums {own} to the pass-tfds-build command")
  assert "beam_runner.py" not in line and "--verify none" not in line
  assert len(result.stderr.strip().splitlines()) == 1
  runner = subprocess.run([sys.executable, BEAM_RUNNER, "--help"], capture_output=True, text=True,
                          env=env, check=True)
  assert runner.stdout.startswith("usage: beam_runner.py "), runner.stdout
  sample = os.path.join(os.path.dirname(sys.executable), "pass-tfds-sample")
  usage = subprocess.run([sample, "--help"], capture_output=True, text=True, env=env, check=True)
  assert usage.stdout.startswith("usage: pass-tfds-sample ")
  assert "(--num_images NUM_IMAGES | --quirks)" in usage.stdout  # Required: not in brackets.


def test_manual_sources_are_checked_once_per_build(corpus, tmp_path):
  """The pre-flight checks them; the builder, told so, does not check them again."""
  script = textwrap.dedent(f"""
      import sys
      from pass_tfds.cli import command as cli
      from pass_tfds.dataset import source_checks, sources

      calls = {{"sources": 0, "sha256": 0}}
      check, sha256 = source_checks.check_manual_sources, sources._sha256

      def counted_check(*args, **kwargs):
        calls["sources"] += 1
        return check(*args, **kwargs)

      def counted_sha256(path):
        calls["sha256"] += 1
        return sha256(path)

      source_checks.check_manual_sources, sources._sha256 = counted_check, counted_sha256
      status = cli.main(["--data_dir", {str(tmp_path / "data")!r}, "--manual_dir", {corpus!r},
                         "--checksums", {os.path.join(corpus, testing.CHECKSUMS_FILE)!r},
                         "--verify", "sha256", {IN_MEMORY!r}])
      print("calls", calls["sources"], calls["sha256"], "status", status)
  """)
  result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=_env(PYTHONPATH=REPO), cwd=REPO, timeout=300, check=False)
  assert "calls 1 11 status 0" in result.stdout, (result.stdout, result.stderr[-3000:])


def test_missing_manual_dir_is_one_line(tmp_path):
  missing = tmp_path / "no_such_folder"
  result = cli("--data_dir", tmp_path / "data", manual_dir=missing, checksums=False)
  line = error_line(result, "--manual_dir", str(missing), "does not exist")
  assert "PASS.0.tar is missing" not in result.stderr, line
  assert_nothing_started(result, tmp_path / "data")


def test_verbose_shows_the_traceback(corpus, tmp_path):
  result = cli("--data_dir", tmp_path / "data", "--archives", "PASS.11.tar", "--verbose",
               manual_dir=corpus)
  assert result.returncode == 2
  assert "Traceback" in result.stderr and "error: --archives" in result.stderr


# --- Source files, before any work ----------------------------------------------


def test_csv_not_utf8_names_file_line_and_byte_offset(corpus, tmp_path):
  manual = copy_corpus(corpus, tmp_path)
  path = os.path.join(manual, testing.METADATA_FILE)
  data = open(path, "rb").read()
  lines = data.split(b"\n")
  assert len(data) > 8192
  lines[250] = lines[250].replace(b",", b",caf\xe9", 1)  # A latin-1 é, far past the first 8 KB.
  data = b"\n".join(lines)
  open(path, "wb").write(data)
  rewrite_checksum(manual, testing.METADATA_FILE)
  offset = data.index(b"caf\xe9") + 3
  result = cli("--data_dir", tmp_path / "data", manual_dir=manual)
  line = error_line(result, path, "UTF-8", "line 251", f"byte offset {offset:,}")
  assert "full log" not in line
  assert_nothing_started(result, tmp_path / "data")


def test_gzip_tar_named_tar(corpus, tmp_path):
  manual = copy_corpus(corpus, tmp_path)
  path = os.path.join(manual, "PASS.3.tar")
  with open(path, "rb") as f:
    packed = gzip.compress(f.read())
  with open(path, "wb") as f:
    f.write(packed)
  result = cli("--data_dir", tmp_path / "data", manual_dir=manual)
  error_line(result, path, "gzip-compressed", "plain tar")
  assert_nothing_started(result, tmp_path / "data")


# --- Dataflow, before submission ---------------------------------------------------

DATAFLOW = ("--runner=DataflowRunner", "--project=p", "--region=europe-west4",
            "--temp_location=gs://pass-tfds-test/tmp")


def test_dataflow_with_a_local_data_dir(corpus, tmp_path):
  result = cli("--data_dir", tmp_path / "data", *DATAFLOW, manual_dir=corpus)
  error_line(result, "--data_dir", str(tmp_path / "data"), "gs://")


def test_dataflow_with_a_local_manual_dir(corpus, tmp_path):
  result = cli("--data_dir", "gs://pass-tfds-test/data", *DATAFLOW, manual_dir=corpus)
  error_line(result, "--manual_dir", corpus, "gs://")


def test_dataflow_dry_run_offline_names_the_bucket_and_the_cause(tmp_path):
  """TFDS reads gs://.../dataset_info.json first; offline that fails in TensorFlow's client.

  Through the test's closed proxy TensorFlow's client retries with backoff for minutes before
  it gives up (a user without a network waits for it too); one retry shows the same error.
  """
  result = cli("--data_dir", "gs://pass-tfds-test/data", "--manual_dir", "gs://pass-tfds-test/pass",
               *DATAFLOW, "--dry_run=True", "--sdk_container_image=example/pass-tfds:3.0.0",
               GCS_RETRY_CONFIG_MAX_RETRIES="1")
  line = error_line(result, "cannot reach gs://pass-tfds-test (no network or credentials): ")
  assert line.rstrip().endswith("then run the same command again."), line  # Not cut.
  assert "full log" not in line and "builder_kwargs" not in line


def test_dataflow_without_the_gcp_extra(tmp_path):
  blocker = tmp_path / "site"
  blocker.mkdir()
  (blocker / "sitecustomize.py").write_text(textwrap.dedent("""
      import sys

      class _NoGcp:
        def find_spec(self, name, path=None, target=None):
          if name == "google.cloud.storage" or name.startswith("google.cloud.storage."):
            raise ImportError("No module named 'google.cloud.storage' (blocked by the test)")
          return None

      sys.meta_path.insert(0, _NoGcp())
  """))
  result = cli("--data_dir", "gs://pass-tfds-test/data", "--manual_dir", "gs://pass-tfds-test/pass",
               *DATAFLOW, PYTHONPATH=f"{blocker}{os.pathsep}{REPO}")
  error_line(result, "--runner=DataflowRunner", 'pip install "pass_tfds[gcp]"')


# --- During the build --------------------------------------------------------------


def test_strict_error_from_a_multi_processing_worker(quirk_corpus, tmp_path):
  manual, _ = quirk_corpus
  result = cli("--data_dir", tmp_path / "data", "--strict", "--direct_num_workers=2", manual_dir=manual)
  assert "--direct_running_mode=multi_processing" in result.stdout
  line = error_line(result, "--strict", ".tar", "member")
  assert "full log: " in line
  log = line.split("full log: ", 1)[1].rstrip(")")
  assert "Traceback" in open(log, encoding="utf-8").read()


@pytest.fixture
def small_disk(tmp_path):
  mount = tmp_path / "small_disk"
  mount.mkdir()
  done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                        capture_output=True, check=False)
  if done.returncode:
    pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
  yield mount
  subprocess.run(["umount", str(mount)], check=False)


def test_disk_full(tmp_path, small_disk):
  manual = str(tmp_path / "corpus")
  testing.write_sample(manual, 60, image_kb=30, processes=1)  # About 2 MB for a 1 MB disk.
  needed = sum(os.path.getsize(os.path.join(manual, name)) for name in sources.ALL_NAMES)
  result = cli("--data_dir", small_disk / "data", manual_dir=manual)
  line = error_line(result, "disk is full", str(small_disk / "data"), "--data_dir")
  assert f"{needed / 1e6:,.1f} MB" in line, (needed, line)


def test_ctrl_c_says_how_to_resume(tmp_path):
  manual = str(tmp_path / "corpus")
  testing.write_sample(manual, 1500, image_kb=20, processes=2)
  # Small pieces (~120): the build is still writing them when the first one is finished.
  command = [sys.executable, BEAM_RUNNER, "--data_dir", str(tmp_path / "data"), "--manual_dir",
             manual, "--checksums", os.path.join(manual, testing.CHECKSUMS_FILE), "--range_mb", "0.25"]
  process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=_env(), cwd=REPO, start_new_session=True)
  config_dir = tmp_path / "data" / "pass_dataset" / "full"
  lock = build_lock.lock_path(str(config_dir / "3.0.0"))
  deadline = time.time() + 120
  # A finished piece's sidecar: the pipeline is running (a fixed sleep raced a fast build).
  while not glob.glob(str(config_dir / "partial_3.0.0" / "PASS.*.json")) and time.time() < deadline \
      and process.poll() is None:
    time.sleep(0.05)
  os.killpg(process.pid, signal.SIGINT)  # What Ctrl-C sends: the whole process group.
  stdout, stderr = process.communicate(timeout=120)
  result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
  error_line(result, "interrupted; run the same command to resume", code=130)
  assert not os.path.exists(lock)


def test_second_build_into_a_held_folder_fails_at_once(corpus, tmp_path):
  data_dir = tmp_path / "data"
  folder = str(data_dir / "pass_dataset" / "full" / "3.0.0")
  holder = subprocess.Popen(
      [sys.executable, "-c", textwrap.dedent(f"""
          import sys, time
          from pass_tfds.cli import build_lock
          with build_lock.held({folder!r}):
            print("held", flush=True)
            time.sleep(120)
      """)], stdout=subprocess.PIPE, text=True, env=_env(PYTHONPATH=REPO), cwd=REPO)
  try:
    assert holder.stdout.readline().strip() == "held"
    started = time.time()
    result = cli("--data_dir", data_dir, IN_MEMORY, manual_dir=corpus)
    seconds = time.time() - started
  finally:
    holder.kill()
    holder.wait()
  error_line(result, folder, f"pid {holder.pid}", "another build", "started")
  assert seconds < 60


def test_already_built_is_reused_not_rebuilt(corpus, tmp_path):
  data_dir = tmp_path / "data"
  first = cli("--data_dir", data_dir, manual_dir=corpus)
  assert first.returncode == 0, first.stderr[-3000:]
  flags = first.stdout.splitlines()[0]
  assert "--direct_running_mode=in_memory" in flags  # A small corpus: one process.
  assert "--direct_num_workers" not in flags
  assert not [line for line in first.stderr.splitlines() if line.strip()
              and " INFO " not in line], first.stderr  # No warnings nor tracebacks.
  again = cli("--data_dir", data_dir, manual_dir=corpus)
  assert again.returncode == 0, again.stderr
  assert "already built" in again.stdout and "--overwrite" in again.stdout
  assert "Built pass_dataset" not in again.stdout and "images written" not in again.stdout
  # TFDS cannot open that folder for another file format ("File format is already set to
  # TFRECORD"), not even to overwrite it: said before TFDS is asked.
  folder = str(data_dir / "pass_dataset" / "full" / "3.0.0")
  for extra in ((), ("--overwrite",)):
    other = cli("--data_dir", data_dir, "--file_format", "array_record", *extra, manual_dir=corpus)
    line = error_line(other, f"{folder} already holds a tfrecord build of pass_dataset/full",
                      "use another --data_dir or delete it")
    assert "full log" not in line
  assert os.path.exists(os.path.join(folder, "dataset_info.json"))


# --- tfds build ------------------------------------------------------------------


def tfds_build(manual_dir, data_dir, *flags: str, **env: str) -> subprocess.CompletedProcess:
  return subprocess.run(
      [TFDS, "build", "pass_dataset", "--imports", "pass_tfds", "--manual_dir", str(manual_dir),
       "--data_dir", str(data_dir), *flags],
      capture_output=True, text=True, env=_env(PYTHONPATH=REPO, **env), cwd=str(data_dir.parent),
      timeout=600, check=False,
  )


def test_tfds_build_hint_names_the_environment_variable(corpus, tmp_path):
  result = tfds_build(corpus, tmp_path / "data", "--config", "full")
  assert result.returncode != 0
  own = os.path.join(corpus, testing.CHECKSUMS_FILE)
  assert f"set {sources.CHECKSUMS_ENV}={own} for tfds build" in result.stderr
  assert "--checksums" not in result.stderr


def test_tfds_build_uses_the_local_defaults(corpus, tmp_path):
  """No Beam options: the DirectRunner with the local defaults (this small corpus: one process), nothing fetched."""
  result = tfds_build(corpus, tmp_path / "data", "--config", "full",
                      PASS_TFDS_CHECKSUMS=os.path.join(corpus, testing.CHECKSUMS_FILE))
  assert result.returncode == 0, result.stderr[-3000:]
  # TFDS's command logs to stdout: Beam's "Running pipeline with PrismRunner." would be there.
  assert "prism" not in (result.stdout + result.stderr).lower(), result.stdout[-3000:]
  assert os.path.exists(tmp_path / "data" / "pass_dataset" / "full" / "3.0.0" / "dataset_info.json")
