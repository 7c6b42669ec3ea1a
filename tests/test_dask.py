"""Builds on Dask: a real `distributed` cluster (a scheduler and 2 worker processes on loopback).

`beam_runner.py --runner=DaskRunner --dask_client_address=...` publishes the
DirectRunner's shards byte for byte, with both workers writing pieces (as their
own log records say); a Dask build SIGKILLed while pieces are written resumes to
the same shards; `--dask_workers 2` starts a local cluster and leaves no process
behind. The DaskRunner has no metrics API: the report and its accounting proof
come from the pieces' sidecars, as on every runner.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

import dask_piece_log
from pass_tfds import testing
from pass_tfds.cli import beam_defaults, flag_checks, command as cli_main, preflight
from pass_tfds.errors import UsageError
from test_resume_after_kill import _add_duplicates

distributed = pytest.importorskip("distributed", reason="the dask extra: pip install 'pass_tfds[dask]'")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(REPO, "beam_runner.py")
IMAGES = 400
COPIES = 3  # Per archive, images of the next one: the duplicate step runs on Dask too.
FLAGS = ("--range_mb", "0.05")  # ~90 pieces of a few images each.
TIMEOUT = 600


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> str:
  out = str(tmp_path_factory.mktemp("dask_corpus"))
  manifest = testing.write_sample(out, IMAGES, image_kb=8, seed=19, processes=1)
  _add_duplicates(out, manifest)
  return out


@pytest.fixture(scope="module")
def cluster():
  """(client, worker pids) of a LocalCluster: 2 single-threaded worker processes."""
  with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                dashboard_address=None, host="127.0.0.1") as local, \
      distributed.Client(local) as client:
    pids = set(client.run(os.getpid).values())
    assert len(pids) == 2
    yield client, pids


def _env() -> dict[str, str]:
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  env.pop("PASS_TFDS_CHECKSUMS", None)
  return env


def _command(corpus: str, data_dir, *extra: str) -> list[str]:
  return [sys.executable, RUNNER, "--data_dir", str(data_dir), "--manual_dir", corpus,
          "--checksums", os.path.join(corpus, testing.CHECKSUMS_FILE), *FLAGS, *extra]


def _build(corpus: str, data_dir, *extra: str) -> tuple[dict, str]:
  """(build report, stdout) of a build that must succeed."""
  result = subprocess.run(_command(corpus, data_dir, *extra), cwd=REPO, env=_env(), capture_output=True,
                          text=True, timeout=TIMEOUT, check=False)
  assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-3000:])
  with open(os.path.join(_version_dir(data_dir), "build_report.json"), encoding="utf-8") as f:
    return json.load(f), result.stdout


def _version_dir(data_dir) -> str:
  return os.path.join(str(data_dir), "pass_dataset", "full", "3.0.0")


def _work_dir(data_dir) -> str:
  return os.path.join(str(data_dir), "pass_dataset", "full", "partial_3.0.0")


def _published(data_dir) -> dict[str, bytes]:
  """The shards and shards.json, by name."""
  paths = glob.glob(os.path.join(_version_dir(data_dir), "*.tfrecord-*"))
  paths.append(os.path.join(_version_dir(data_dir), "shards.json"))
  return {os.path.basename(path): open(path, "rb").read() for path in sorted(paths)}


def _dask(client) -> tuple[str, ...]:
  return ("--runner=DaskRunner", f"--dask_client_address={client.scheduler.address}")


def _log_pieces(client, path: str) -> None:
  client.run(dask_piece_log.install, path)


@pytest.fixture(scope="module")
def direct(corpus, tmp_path_factory):
  """(report, published files) of a DirectRunner build (2 worker processes) of the corpus."""
  data_dir = tmp_path_factory.mktemp("direct")
  report, _ = _build(corpus, data_dir, "--direct_num_workers=2")
  assert report["written"] == IMAGES and report["skipped"] == {"duplicate_hash": 10 * COPIES}
  assert report["pieces"] > 40
  return report, _published(data_dir)


def test_a_dask_cluster_build_spreads_the_pieces_and_publishes_the_direct_runners_bytes(
    corpus, cluster, direct, tmp_path):
  client, pids = cluster
  log = str(tmp_path / "pieces.log")
  _log_pieces(client, log)
  report, stdout = _build(corpus, tmp_path / "data", *_dask(client))
  direct_report, direct_files = direct
  assert _published(tmp_path / "data") == direct_files  # Shards and shards.json, byte for byte.
  assert report == direct_report  # Counts, proofs and pieces alike; no metrics were read.
  assert report["reconciled"] is True and "reconciled" in stdout
  pieces = dask_piece_log.read(log)
  assert len(pieces) == report["pieces"]  # Every planned piece ran on a worker ...
  assert all(runs == [(runs[0][0], "Wrote")] for runs in pieces.values())  # ... written once, never redone.
  by_worker = {pid: sum(runs[0][0] == pid for runs in pieces.values()) for pid in pids}
  assert set(by_worker) == pids and min(by_worker.values()) >= report["pieces"] // 4, by_worker


def test_a_killed_dask_build_resumes_to_the_clean_builds_bytes(corpus, cluster, direct, tmp_path):
  client, _ = cluster
  data_dir = tmp_path / "data"
  process = subprocess.Popen(_command(corpus, data_dir, *_dask(client)), cwd=REPO, env=_env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  planned = direct[0]["pieces"]
  try:
    deadline = time.time() + TIMEOUT
    while time.time() < deadline and process.poll() is None and len(_sidecars(data_dir)) < planned // 4:
      time.sleep(0.005)
    process.send_signal(signal.SIGKILL)  # The command only: the cluster and its workers go on.
    process.wait(timeout=60)
  finally:
    if process.poll() is None:
      process.kill()
  finished = len(_sidecars(data_dir))
  assert process.returncode == -signal.SIGKILL, f"the build ended (exit {process.returncode}) before the kill"
  assert planned // 4 <= finished < planned
  assert not os.path.exists(os.path.join(_version_dir(data_dir), "dataset_info.json"))
  report, _ = _build(corpus, data_dir, *_dask(client))
  assert _published(data_dir) == direct[1]
  assert report["reconciled"] is True and report["written"] == IMAGES
  # Every piece finished before the kill is reused. The cluster may finish the killed run's
  # pieces before the rerun reaches them (its tasks go on): those are reused too.
  assert finished <= report["reused_pieces"] <= report["pieces"]


def _sidecars(data_dir) -> list[str]:
  """Sidecars of finished pieces (not of duplicate fixes, nor the lookup's)."""
  return [path for path in glob.glob(os.path.join(_work_dir(data_dir), "PASS.*.json"))
          if "without-duplicates" not in path]


def test_dask_workers_starts_a_local_cluster_and_closes_it(corpus, direct, tmp_path):
  process = subprocess.Popen(
      _command(corpus, tmp_path / "data", "--runner=DaskRunner", "--dask_workers", "2"), cwd=REPO,
      env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
  stdout, stderr = process.communicate(timeout=TIMEOUT)
  assert process.returncode == 0, (stdout[-3000:], stderr[-3000:])
  assert "Starting a local Dask cluster of 2 worker processes." in stdout
  assert _published(tmp_path / "data") == direct[1]
  left = [p for p in psutil.process_iter(["status", "cmdline"])
          if _session(p.pid) == process.pid and p.info["status"] != psutil.STATUS_ZOMBIE]
  assert not left, [p.info["cmdline"] for p in left]  # Scheduler and workers closed with the build.


def _session(pid: int) -> int | None:
  try:
    return os.getsid(pid)
  except OSError:
    return None


def _request(*flags: str, data_dir: str) -> preflight.BuildRequest:
  args, extra = cli_main.parse_args(["--data_dir", data_dir, *flags])
  return preflight.check(args, extra, "beam_runner.py", REPO)


def test_dask_flags(cluster, tmp_path):
  data_dir = str(tmp_path)
  client, _ = cluster
  request = _request(*_dask(client), data_dir=data_dir)
  assert request.runner == "DaskRunner" and request.dask_workers is None
  assert "--dask_partition_size=1" in request.beam_flags  # One piece per dask.bag partition.
  assert "--runner=apache_beam.runners.dask.dask_runner.DaskRunner" in request.beam_flags
  request = _request("--runner=dask", "--dask_npartitions=8", "--dask_workers=3", data_dir=data_dir)
  assert request.dask_workers == 3  # No address: a local cluster of 3 workers.
  assert not [flag for flag in request.beam_flags if flag.startswith("--dask_partition_size")]
  direct = _request(data_dir=data_dir)
  assert direct.dask_workers is None and not [f for f in direct.beam_flags if f.startswith("--dask")]
  with pytest.raises(UsageError, match="--dask_workers starts a local Dask cluster, but"):
    _request("--runner=DaskRunner", "--dask_client_address=h:1", "--dask_workers=2", data_dir=data_dir)
  with pytest.raises(UsageError, match="not for DirectRunner"):
    _request("--dask_workers=2", data_dir=data_dir)
  with pytest.raises(UsageError, match="unknown flag --dask_client_adress"):
    _request("--runner=DaskRunner", "--dask_client_adress=h:1", data_dir=data_dir)
  assert flag_checks.wants_dask(["--runner", "DaskRunner"]) and not flag_checks.wants_dask(["--runner=direct"])


def test_an_address_without_a_scheduler_is_one_line_before_anything_is_created(corpus, tmp_path):
  import socket

  with socket.socket() as probe:  # A port nothing listens on.
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
  data_dir = tmp_path / "data"
  command = _command(corpus, data_dir, "--runner=DaskRunner", f"--dask_client_address=tcp://127.0.0.1:{port}")
  result = subprocess.run(command, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=120, check=False)
  assert result.returncode == 2
  (line,) = [line for line in result.stderr.splitlines() if line.strip()]
  assert line.startswith(f"error: --dask_client_address tcp://127.0.0.1:{port}: no Dask scheduler answers there")
  assert "--dask_workers N" in line
  assert not data_dir.exists()
  with pytest.raises(UsageError, match="a Dask scheduler's address is host:port"):
    flag_checks.check_dask_scheduler("--dask_client_address", "localhost")


def test_tfds_build_options_get_the_dask_partitioning_too():
  from apache_beam.options.pipeline_options import PipelineOptions

  options = beam_defaults.with_local_options(PipelineOptions(["--runner=DaskRunner"]))
  assert options.get_all_options(retain_unknown_options=True)["partition_size"] == 1
  kept = beam_defaults.with_local_options(PipelineOptions(["--runner=DaskRunner", "--dask_npartitions=4"]))
  assert "partition_size" not in kept.get_all_options(drop_default=True, retain_unknown_options=True)
