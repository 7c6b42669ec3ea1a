#!/usr/bin/env python3
"""Benchmark: this project's Beam build of PASS against the TFDS catalog's `pass` builder.

    python benchmarks/benchmark.py [--work_dir DIR] [--quick] [--skip_catalog] [--repeat N]

Generates PASS-like corpora with `pass_tfds.testing.write_sample` (10 archives +
CSV, reused when their parameters match), then runs, one subprocess at a time:

* `beam_runner.py` with its defaults (DirectRunner, multi_processing, one
  worker per core) and with `--direct_num_workers=1`, on the small and large
  corpus (8k and 24k images);
* the TFDS catalog's own `pass` builder on the same files, its downloads
  pointed at them;
* a plain copy of the corpus files (the I/O floor);
* memory checks (4k vs 16k images; 1k images with a 1k-row vs a full
  1,439,588-row CSV) and a determinism check (default build vs an in_memory
  single-worker build, compared record by record).

Each run's wall time, CPU time (user+sys of the whole process tree) and peak
memory (RSS summed over the tree, sampled every 50 ms) are measured, printed as
a markdown table with the derived targets, and written to
`benchmarks/results/<name>.md` and `.json`. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import glob
import importlib.metadata
import json
import os
import platform
import random
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import threading
import time
from typing import Any

import psutil

from pass_tfds.testing import FULL_CSV_ROWS, PANDAS_NA_STRINGS

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import extra_targets  # noqa: E402  (benchmarks/ helper modules)
import scenarios  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS_DIR = os.path.join(REPO, "benchmarks", "results")
PYTHON = sys.executable
FULL_DATASET_IMAGES = 1_439_588
FULL_DATASET_GB = 178.5
NUM_ARCHIVES = 10
SAMPLE_INTERVAL = 0.05
MB = 1e6

# --------------------------------------------------------------------------
# Scripts run in subprocesses (the benchmark process itself never imports
# TensorFlow, so it stays small and starts nothing that competes for CPU).

GENERATE_SCRIPT = r"""
import json, sys, time
from pass_tfds.testing import write_sample
spec = json.loads(sys.argv[1])
start = time.perf_counter()
write_sample(spec["dir"], spec["images"], seed=spec["seed"], image_kb=spec["image_kb"],
             csv_rows=spec["csv_rows"], num_archives=spec["num_archives"],
             **({"pandas_safe_usernames": True} if spec["pandas_safe_usernames"] else {}))
print(json.dumps({"seconds": time.perf_counter() - start}))
"""

# The TFDS catalog's `pass` builder (tensorflow_datasets/datasets/pass), untouched,
# with DownloadManager.download answering from the local corpus: its `_URLS` is a
# dict holding a list of `Resource`s and a `Resource`; every URL's file name is
# mapped to <corpus>/<file name>. `iter_archive(path)` then streams that local tar
# (the extract method is guessed from the `.tar` name); nothing is extracted.
CATALOG_SCRIPT = r"""
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
corpus, data_dir = sys.argv[1], sys.argv[2]
import tensorflow_datasets as tfds
from etils import epath

def _local(resource):
  url = resource.url if isinstance(resource, tfds.download.Resource) else os.fspath(resource)
  path = os.path.join(corpus, url.rsplit("/", 1)[-1])
  if not os.path.exists(path):
    raise FileNotFoundError(f"{url} -> {path}: not in the corpus")
  return epath.Path(path)

def _map(structure):
  if isinstance(structure, dict):
    return {key: _map(value) for key, value in structure.items()}
  if isinstance(structure, (list, tuple)):
    return type(structure)(_map(value) for value in structure)
  return _local(structure)

def _download(self, url_or_urls):
  return _map(url_or_urls)

tfds.download.DownloadManager.download = _download
builder = tfds.builder("pass", data_dir=data_dir)
assert type(builder).__module__.startswith("tensorflow_datasets."), type(builder).__module__
builder.download_and_prepare(download_config=tfds.download.DownloadConfig())
print("CATALOG_EXAMPLES", builder.info.splits["train"].num_examples, os.fspath(builder.data_path))
"""

COPY_SCRIPT = r"""
import os, shutil, sys
source, target = sys.argv[1], sys.argv[2]
os.makedirs(target, exist_ok=True)
for name in sys.argv[3:]:
  shutil.copyfile(os.path.join(source, name), os.path.join(target, name))
"""

# Parses every record of two builds with tf.train.Example and compares the
# feature maps (not the raw bytes: proto map order may differ).
COMPARE_SCRIPT = r"""
import glob, hashlib, itertools, json, os, struct, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf

def shard_names(folder):
  return sorted(os.path.basename(p) for p in glob.glob(os.path.join(folder, "*-train.tfrecord-*")))

def canonical(raw):
  example = tf.train.Example.FromString(raw)
  items = []
  for key in sorted(example.features.feature):
    feature = example.features.feature[key]
    kind = feature.WhichOneof("kind")
    if kind == "bytes_list":
      value = tuple(feature.bytes_list.value)
    elif kind == "float_list":  # As bits: NaN (unknown GPS) must equal NaN.
      value = struct.pack(f"<{len(feature.float_list.value)}f", *feature.float_list.value)
    elif kind == "int64_list":
      value = tuple(feature.int64_list.value)
    else:
      value = None
    items.append((key, kind, value))
  return tuple(items)

a, b = sys.argv[1], sys.argv[2]
names_a, names_b = shard_names(a), shard_names(b)
result = {"shards_a": names_a, "shards_b": names_b, "same_shard_names": names_a == names_b,
          "records": 0, "mismatches": 0, "first_mismatch": None, "raw_bytes_identical": True}
digest = hashlib.sha256()
for name in sorted(set(names_a) & set(names_b)):
  records_a = tf.data.TFRecordDataset(os.path.join(a, name)).as_numpy_iterator()
  records_b = tf.data.TFRecordDataset(os.path.join(b, name)).as_numpy_iterator()
  for position, (raw_a, raw_b) in enumerate(itertools.zip_longest(records_a, records_b)):
    result["records"] += 1
    if raw_a is None or raw_b is None:
      same = False
    else:
      result["raw_bytes_identical"] &= raw_a == raw_b
      fields_a = canonical(raw_a)
      same = raw_a == raw_b or fields_a == canonical(raw_b)
      digest.update(repr(fields_a).encode())
    if not same:
      result["mismatches"] += 1
      if result["first_mismatch"] is None:
        result["first_mismatch"] = f"{name} record {position}"
result["content_sha256"] = digest.hexdigest()
result["identical"] = result["same_shard_names"] and result["mismatches"] == 0 and result["records"] > 0
print("COMPARE_JSON " + json.dumps(result))
"""

# --------------------------------------------------------------------------
# Corpora


@dataclasses.dataclass(frozen=True)
class CorpusSpec:
  images: int
  csv_rows: int
  seed: int = 0
  image_kb: int = 80
  pandas_safe_usernames: bool = True
  tiny: bool = False  # Written by full_count.py: images of a few hundred bytes, one CSV row each.

  @property
  def name(self) -> str:
    if self.tiny:
      return f"full_count_n{self.images}_seed{self.seed}"
    safe = "safe" if self.pandas_safe_usernames else "quirky"
    return f"n{self.images}_rows{self.csv_rows}_seed{self.seed}_kb{self.image_kb}_{safe}"

  @property
  def label(self) -> str:
    return human_count(self.images)

  def params(self) -> dict[str, Any]:
    params = dict(dataclasses.asdict(self), num_archives=NUM_ARCHIVES)
    if not self.tiny:  # Keeps the parameter files of corpora written before `tiny` existed valid.
      params.pop("tiny")
    return params


def tiny_spec(images: int, seed: int) -> CorpusSpec:
  return CorpusSpec(images, images, seed, image_kb=0, tiny=True)


def human_count(value: int) -> str:
  if value >= 1000 and value % 1000 == 0:
    return f"{value // 1000}k"
  return f"{value:,}"


def page_cache_write_seconds(directory: str, size: int = 1 << 30) -> float:
  """Seconds to write `size` bytes into a new file in the page cache (no fsync)."""
  path = os.path.join(directory, "page_cache_probe.bin")
  block = b"\x01" * (8 << 20)
  start = time.perf_counter()
  with open(path, "wb", buffering=0) as f:
    for _ in range(size // len(block)):
      f.write(block)
  seconds = time.perf_counter() - start
  os.remove(path)
  return seconds


def fresh_memory_probe(directory: str, idle: float = 20.0) -> dict[str, float]:
  """How much it costs here to write into memory the machine has not used lately.

  On a VM that hands freed memory back to its host, the first touch of such
  memory is slow; memory freed a moment ago is fast. Every builder's output
  lands in the page cache, so this cost is part of every write-heavy run.
  """
  time.sleep(idle)  # Let memory freed before the probe go back to the host.
  cold = page_cache_write_seconds(directory)
  warm = page_cache_write_seconds(directory)  # Right after freeing the same amount.
  return {"idle_s": idle, "cold_s_per_gib": cold, "recycled_s_per_gib": warm}


def corpus_files(directory: str) -> list[str]:
  return [f"PASS.{k}.tar" for k in range(NUM_ARCHIVES)] + ["pass_metadata.csv"]


def corpus_matches(directory: str, spec: CorpusSpec) -> bool:
  """The manifest (images, seed, CSV rows) and our parameter file (image_kb, ...) match."""
  try:
    with open(os.path.join(directory, "manifest.json"), encoding="utf-8") as f:
      manifest = json.load(f)
    with open(os.path.join(directory, "benchmark_corpus.json"), encoding="utf-8") as f:
      params = json.load(f)
  except (OSError, ValueError):
    return False
  counts = manifest.get("expected_counts", {})
  return (
      manifest.get("kind") == "sample"
      and manifest.get("seed") == spec.seed
      and counts.get("members") == spec.images
      and counts.get("metadata_rows") == spec.csv_rows
      and len(manifest.get("archives", ())) == NUM_ARCHIVES
      and params == spec.params()
      and all(os.path.exists(os.path.join(directory, name))
              for name in corpus_files(directory) + ["checksums.tsv"])
  )


def ensure_tiny_corpus(directory: str, spec: CorpusSpec) -> str:
  """The full-count style corpus (benchmarks/full_count.py), reused when its parameters match."""
  result = subprocess.run([PYTHON, os.path.join(REPO, "benchmarks", "full_count.py"), directory,
                           "--images", str(spec.images), "--seed", str(spec.seed)],
                          cwd=REPO, env=child_env(), capture_output=True, text=True)
  if result.returncode:
    sys.exit(f"error: full_count.py failed for {spec.name}:\n{result.stderr[-3000:]}")
  done = json.loads(result.stdout.strip().splitlines()[-1])
  print(f"  corpus {spec.name}: " + ("reused" if done.get("reused") else f"generated in"
                                      f" {done['seconds']:.0f} s"), flush=True)
  return directory


def ensure_corpus(work_dir: str, spec: CorpusSpec) -> str:
  directory = os.path.join(work_dir, "corpora", spec.name)
  if spec.tiny:
    return ensure_tiny_corpus(directory, spec)
  if corpus_matches(directory, spec):
    print(f"  corpus {spec.name}: reused", flush=True)
    return directory
  shutil.rmtree(directory, ignore_errors=True)
  os.makedirs(directory)
  job = dict(spec.params(), dir=directory)
  print(f"  corpus {spec.name}: generating ...", end="", flush=True)
  result = subprocess.run([PYTHON, "-c", GENERATE_SCRIPT, json.dumps(job)], cwd=REPO,
                          env=child_env(), capture_output=True, text=True)
  if result.returncode:
    sys.exit(f"\nerror: write_sample failed for {spec.name}:\n{result.stderr[-3000:]}")
  seconds = json.loads(result.stdout.strip().splitlines()[-1])["seconds"]
  if spec.pandas_safe_usernames:
    nullish = nullish_usernames(directory)
    if nullish:
      sys.exit(f"error: {spec.name}: {nullish} usernames pandas reads as NaN despite"
               " pandas_safe_usernames")
  with open(os.path.join(directory, "benchmark_corpus.json"), "w", encoding="utf-8") as f:
    json.dump(spec.params(), f)
  print(f" {seconds:.0f} s", flush=True)
  return directory


def nullish_usernames(directory: str) -> int:
  with open(os.path.join(directory, "pass_metadata.csv"), encoding="utf-8", newline="") as f:
    rows = csv.reader(f)
    next(rows)
    return sum(1 for row in rows if row[1] in PANDAS_NA_STRINGS)


def corpus_bytes(directory: str, archives_only: bool = True) -> int:
  names = corpus_files(directory)[:NUM_ARCHIVES] if archives_only else corpus_files(directory)
  return sum(os.path.getsize(os.path.join(directory, name)) for name in names)


def warm_read(directory: str) -> float:
  """Reads every corpus file once (page cache warm-up); returns the seconds taken."""
  start = time.perf_counter()
  for name in corpus_files(directory):
    with open(os.path.join(directory, name), "rb", buffering=0) as f:
      while f.read(8 << 20):
        pass
  return time.perf_counter() - start


# --------------------------------------------------------------------------
# Measuring one subprocess tree


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


# --------------------------------------------------------------------------
# The runs


@dataclasses.dataclass
class Kind:
  key: str
  title: str


OURS = Kind("ours", "this project, defaults ({workers} workers)")
OURS_1W = Kind("ours_1w", "this project, --direct_num_workers=1")
OURS_INMEM = Kind("ours_inmem", "this project, in_memory, 1 worker")
CATALOG = Kind("catalog", "TFDS catalog `pass` builder")
COPY = Kind("copy", "plain copy of the 11 files")
BASELINE = Kind("baseline", "baseline (3bd984c), defaults ({workers} workers)")
CAT = Kind("cat", "`cat` of the 10 archives to /dev/null")
GCS_OURS = Kind("gcs_ours", "this project through gcs_reads.py (in_memory, 1 worker)")
GCS_BASELINE = Kind("gcs_baseline", "baseline (3bd984c) through gcs_reads.py (in_memory, 1 worker)")
KINDS = {kind.key: kind for kind in (OURS, OURS_1W, OURS_INMEM, CATALOG, COPY, BASELINE, CAT,
                                     GCS_OURS, GCS_BASELINE)}
PROJECT_KINDS = (OURS, OURS_1W, OURS_INMEM, BASELINE, GCS_OURS, GCS_BASELINE)  # Build pass_dataset.


class Bench:
  def __init__(self, args: argparse.Namespace):
    self.args = args
    self.work_dir = os.path.abspath(args.work_dir)
    self.logs = os.path.join(self.work_dir, "logs")
    self.builds = os.path.join(self.work_dir, "builds")
    self.tmp = os.path.join(self.work_dir, "tmp")
    for folder in (self.logs, self.builds, self.tmp):
      os.makedirs(folder, exist_ok=True)
    self.runs: list[dict[str, Any]] = []
    self.warmups: dict[str, float] = {}
    self._baseline_dir: str | None = None

  def baseline_dir(self) -> str:
    if self._baseline_dir is None:
      self._baseline_dir = scenarios.export_baseline(REPO, self.work_dir)
    return self._baseline_dir

  def command(self, kind: Kind, corpus: str, data_dir: str,
              extra: tuple[str, ...] = ()) -> tuple[list[str], str, dict[str, str]]:
    """(argv, cwd, extra environment) of one run of `kind`."""
    flags = ["--data_dir", data_dir, "--manual_dir", corpus,
             "--checksums", os.path.join(corpus, "checksums.tsv")]
    ours_base = [PYTHON, os.path.join(REPO, "beam_runner.py")] + flags
    if kind is OURS:
      return ours_base + list(extra), REPO, {}
    if kind is OURS_1W:
      return ours_base + ["--direct_num_workers=1"] + list(extra), REPO, {}
    if kind is OURS_INMEM:
      return ours_base + ["--direct_running_mode=in_memory", "--direct_num_workers=1"] + list(extra), REPO, {}
    if kind is BASELINE:
      base = self.baseline_dir()
      return ([PYTHON, os.path.join(base, "beam_runner.py")] + flags + list(extra), base,
              {"PYTHONPATH": base})
    if kind is GCS_OURS:
      return ([PYTHON, scenarios.GCS_READS, REPO, corpus, data_dir, "--checksums",
               os.path.join(corpus, "checksums.tsv")] + list(extra), REPO, {})
    if kind is GCS_BASELINE:
      base = self.baseline_dir()
      return ([PYTHON, scenarios.GCS_READS, base, corpus, data_dir, "--checksums",
               os.path.join(corpus, "checksums.tsv")] + list(extra), base, {"PYTHONPATH": base})
    if kind is CATALOG:
      return [PYTHON, "-c", CATALOG_SCRIPT, corpus, data_dir], REPO, {}
    if kind is COPY:
      return [PYTHON, "-c", COPY_SCRIPT, corpus, data_dir] + corpus_files(corpus), REPO, {}
    if kind is CAT:
      archives = [os.path.join(corpus, name) for name in corpus_files(corpus)[:NUM_ARCHIVES]]
      return ["sh", "-c", 'cat "$@" > /dev/null', "cat"] + archives, REPO, {}
    raise ValueError(kind)

  # One run ---------------------------------------------------------------

  def run(self, kind: Kind, spec: CorpusSpec, corpus: str, rep: int, role: str = "",
          keep: bool = False, cold: bool = False, extra: tuple[str, ...] = (),
          data_dir: str | None = None, fresh: bool = True) -> dict[str, Any]:
    """One measured run. `cold`: the corpus is evicted from the page cache first
    (else read once, warm). `data_dir` + `fresh=False`: run into an existing folder."""
    label = f"{kind.key}-{spec.name}-r{rep}{'-' + role if role else ''}"
    data_dir = data_dir or os.path.join(self.builds, label)
    tmp_dir = os.path.join(self.tmp, label)
    if fresh:
      shutil.rmtree(data_dir, ignore_errors=True)
    shutil.rmtree(tmp_dir, ignore_errors=True)
    os.makedirs(tmp_dir)
    cmd, cwd, env_extra = self.command(kind, corpus, data_dir, extra)
    evict_s = None
    if cold:
      evict_s = scenarios.evict([corpus], PYTHON)
    else:
      if corpus not in self.warmups:  # The first read may come from disk.
        self.warmups[corpus] = warm_read(corpus)
      warm_read(corpus)  # Every run starts with the corpus in the page cache.

    log_path = os.path.join(self.logs, f"{label}.log")
    print(f"  {label:<60}", end="", flush=True)
    watch = None
    if kind in (OURS, OURS_1W, OURS_INMEM):  # Each piece's shard, as it is finished.
      watch = os.path.join(data_dir, "pass_dataset", "full", "partial_*", "PASS.*.tfrecord")
    elif kind is BASELINE:
      watch = os.path.join(data_dir, "pass_dataset", "full", "incomplete.*",
                           "pass_dataset-train.tfrecord-*")
    result = measure(cmd, log_path, env=dict(child_env(tmp_dir), **env_extra), watch=watch, cwd=cwd)
    result.update(kind=kind.key, corpus=spec.name, images=spec.images, csv_rows=spec.csv_rows,
                  rep=rep, role=role, label=label, log=log_path, data_dir=data_dir,
                  archive_bytes=corpus_bytes(corpus), all_bytes=corpus_bytes(corpus, False),
                  cold=cold, evict_s=evict_s, extra_flags=list(extra))
    if kind in (GCS_OURS, GCS_BASELINE):
      result["gcs"] = scenarios.parse_gcs_reads(log_path)
    result.update(self.check_output(kind, spec, corpus, data_dir, result["returncode"]))
    status = "ok" if result["ok"] else f"FAILED ({result['problem']})"
    print(f"{result['wall_s']:7.1f} s wall {result['cpu_s']:7.1f} s CPU"
          f" {result['peak_rss_sum_mb']:7.0f} MB  other CPU {result['other_cpu_share']:4.0%}"
          f"  {status}", flush=True)
    if not result["ok"]:
      print(tail(log_path), flush=True)
    if not keep:
      shutil.rmtree(data_dir, ignore_errors=True)
    shutil.rmtree(tmp_dir, ignore_errors=True)
    self.runs.append(result)
    return result

  def check_output(self, kind: Kind, spec: CorpusSpec, corpus: str, data_dir: str,
                   returncode: int) -> dict[str, Any]:
    """Did the run produce everything it should? Counts records of every build."""
    if returncode:
      return {"ok": False, "problem": f"exit code {returncode}", "examples": None}
    if kind is CAT:
      return {"ok": True, "problem": None, "examples": None}
    if kind is COPY:
      same = all(os.path.getsize(os.path.join(data_dir, name))
                 == os.path.getsize(os.path.join(corpus, name)) for name in corpus_files(corpus))
      return {"ok": same, "problem": None if same else "copy sizes differ", "examples": None}
    if kind is CATALOG:
      dataset = os.path.join(data_dir, "pass", "3.0.0")
      shards = glob.glob(os.path.join(dataset, "pass-train.tfrecord-*"))
    else:
      dataset = os.path.join(data_dir, "pass_dataset", "full", "3.0.0")
      shards = glob.glob(os.path.join(dataset, "pass_dataset-train.tfrecord-*"))
    examples = count_tfrecords(shards)
    extra: dict[str, Any] = {"examples": examples, "shards": len(shards), "dataset_dir": dataset}
    if kind is not CATALOG:
      with open(os.path.join(dataset, "build_report.json"), encoding="utf-8") as f:
        report = json.load(f)
      extra["report_written"] = report.get("written")
      extra["report_reconciled"] = report.get("reconciled")
      if report.get("written") != examples:
        return dict(extra, ok=False, problem=f"report says {report.get('written')} written,"
                    f" shards hold {examples}")
    if examples != spec.images:
      return dict(extra, ok=False, problem=f"{examples} examples written, expected {spec.images}")
    return dict(extra, ok=True, problem=None)

  # Extra checks ----------------------------------------------------------

  def compare(self, first: str, second: str) -> dict[str, Any]:
    result = subprocess.run([PYTHON, "-c", COMPARE_SCRIPT, first, second], cwd=REPO,
                            env=child_env(), capture_output=True, text=True)
    for line in result.stdout.splitlines():
      if line.startswith("COMPARE_JSON "):
        return json.loads(line[len("COMPARE_JSON "):])
    return {"identical": False, "error": result.stderr[-2000:]}

  def catalog_on_default_sample(self, seed: int) -> dict[str, Any]:
    """The catalog builder on write_sample's default (quirky) usernames: expected to crash."""
    spec = None
    for candidate_seed in range(seed, seed + 20):
      candidate = CorpusSpec(images=300, csv_rows=300, seed=candidate_seed, image_kb=20,
                             pandas_safe_usernames=False)
      directory = ensure_corpus(self.work_dir, candidate)
      if nullish_usernames(directory):
        spec = candidate
        break
    if spec is None:
      return {"ran": False, "note": "no default sample with a NaN-looking username found"}
    label = f"catalog-quirky-{spec.name}"
    data_dir = os.path.join(self.builds, label)
    shutil.rmtree(data_dir, ignore_errors=True)
    log_path = os.path.join(self.logs, f"{label}.log")
    with open(log_path, "wb") as log:
      returncode = subprocess.run([PYTHON, "-c", CATALOG_SCRIPT, directory, data_dir], cwd=REPO,
                                  env=child_env(), stdout=log, stderr=subprocess.STDOUT).returncode
    shutil.rmtree(data_dir, ignore_errors=True)
    lines = [line for line in tail(log_path, 60).splitlines() if line.strip()]
    error = next((line.strip() for line in reversed(lines) if "Error" in line), lines[-1] if lines else "")
    return {"ran": True, "corpus": spec.name, "nullish_usernames": nullish_usernames(directory),
            "failed": returncode != 0, "returncode": returncode, "error": error[:400],
            "log": log_path}


# --------------------------------------------------------------------------
# Summaries


def median_of(runs: list[dict[str, Any]], key: str) -> float | None:
  values = [run[key] for run in runs if run.get("ok") and run.get(key) is not None]
  return statistics.median(values) if values else None


def summarize_runs(runs: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
  groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
  for run in runs:
    groups.setdefault((run["kind"], run["corpus"], run["role"]), []).append(run)
  summary = {}
  for key, members in groups.items():
    first = members[0]
    summary[key] = {
        "kind": first["kind"],
        "corpus": first["corpus"],
        "role": first["role"],
        "images": first["images"],
        "csv_rows": first["csv_rows"],
        "archive_bytes": first["archive_bytes"],
        "runs": len(members),
        "ok_runs": sum(1 for run in members if run.get("ok")),
        "wall_s": median_of(members, "wall_s"),
        "cpu_s": median_of(members, "cpu_s"),
        "sys_s": median_of(members, "cpu_rusage_sys_s"),
        "peak_rss_sum_mb": median_of(members, "peak_rss_sum_mb"),
        "other_cpu_share": max((run["other_cpu_share"] for run in members), default=0.0),
        "walls": [round(run["wall_s"], 2) for run in members],
        "gcs": next((run["gcs"] for run in members if run.get("gcs")), None),
    }
  return summary


def fmt(value: float | None, digits: int = 1, suffix: str = "") -> str:
  if value is None:
    return "n/a"
  return f"{value:,.{digits}f}{suffix}"


def ratio(a: float | None, b: float | None) -> float | None:
  if a is None or b is None or b == 0:
    return None
  return a / b


def marginal(small: dict | None, large: dict | None, key: str = "wall_s") -> float | None:
  """Images per second of `key` between the two sizes: (n_large - n_small) / delta."""
  if not small or not large or small[key] is None or large[key] is None:
    return None
  delta = large[key] - small[key]
  if delta <= 0:
    return None
  return (large["images"] - small["images"]) / delta


def median_run(runs: list[dict[str, Any]], kind: str, corpus: str, role: str) -> dict | None:
  chosen = sorted((run for run in runs if run["kind"] == kind and run["corpus"] == corpus
                   and run["role"] == role and run.get("ok")), key=lambda run: run["wall_s"])
  return chosen[(len(chosen) - 1) // 2] if chosen else None


def describe_processes(processes: list[dict[str, Any]]) -> str:
  """'role: CPU s, MB' per role; tiny helper processes (launchers) are counted apart."""
  groups: dict[str, list[dict[str, Any]]] = {}
  helpers = 0
  for process in processes:
    if process["role"] == "shell wrapper" or (process["cpu_s"] < 0.05
                                               and process["peak_rss_mb"] < 20):
      helpers += 1
      continue
    groups.setdefault(process["role"], []).append(process)
  parts = []
  for role, members in groups.items():
    cpu = " + ".join(f"{m['cpu_s']:.1f}" for m in members)
    rss = " + ".join(f"{m['peak_rss_mb']:.0f}" for m in members)
    count = f"{len(members)} x " if len(members) > 1 else ""
    parts.append(f"{count}{role}: {cpu} s CPU, {rss} MB")
  if helpers:
    parts.append(f"{helpers} `sh -c` wrapper(s)")
  return "; ".join(parts)


def verdict(ok: bool | None) -> str:
  return "SKIPPED" if ok is None else ("PASS" if ok else "FAIL")


def machine_facts() -> dict[str, Any]:
  model = ""
  try:
    with open("/proc/cpuinfo", encoding="utf-8") as f:
      model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
  except OSError:
    pass
  versions = {}
  for package in ("tensorflow-datasets", "apache-beam", "pillow", "tensorflow", "pandas",
                  "numpy", "protobuf", "psutil"):
    try:
      versions[package] = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
      versions[package] = None
  return {
      "nproc": os.cpu_count(),
      "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
      "cpu_model": model,
      "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
      "python": platform.python_version(),
      "platform": platform.platform(),
      "versions": versions,
      "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
  }


def build_report(bench: Bench, sizes: dict[str, CorpusSpec], facts: dict[str, Any],
                 extras: dict[str, Any]) -> tuple[str, dict[str, Any]]:
  args = bench.args
  summary = summarize_runs(bench.runs)
  small, large = sizes["small"], sizes["large"]
  workers = facts["cpu_affinity"] or facts["nproc"]

  def get(kind: Kind, spec: CorpusSpec, role: str = "") -> dict[str, Any] | None:
    return summary.get((kind.key, spec.name, role))

  # Table -------------------------------------------------------------------
  header = ("| run | images | wall s | CPU s (of which sys) | peak MB (all processes) | images/s"
            " | MB/s | wall / catalog | wall / copy | other CPU on machine |")
  lines = [header, "|" + "---|" * 10]
  order = [(COPY, small), (OURS, small), (OURS_1W, small), (CATALOG, small),
           (COPY, large), (OURS, large), (OURS_1W, large), (CATALOG, large),
           (OURS, sizes["mem_small"], "mem_small"), (OURS, sizes["mem_large"], "mem_large"),
           (OURS, sizes["csv_small"], "csv_small"), (OURS, sizes["csv_full"], "csv_full"),
           (OURS_INMEM, large, "determinism")]
  for kind, spec, *role in order:
    role = role[0] if role else ""
    row = get(kind, spec, role)
    if row is None:
      continue
    title = kind.title.format(workers=workers)
    if role.startswith("mem"):
      title += " (memory check)"
    if role.startswith("csv"):
      title += f", {spec.csv_rows:,}-row CSV"
    if role == "determinism":
      title += " (determinism check)"
    wall = row["wall_s"]
    catalog = get(CATALOG, spec)
    copy = get(COPY, spec)
    vs_catalog = ratio(wall, catalog["wall_s"]) if catalog and kind is not CATALOG else None
    vs_copy = ratio(wall, copy["wall_s"]) if copy and kind is not COPY else None
    cpu_text = fmt(row["cpu_s"], 1)
    if row.get("sys_s") is not None:
      cpu_text += f" ({fmt(row['sys_s'], 1)})"
    failed = "" if row["ok_runs"] == row["runs"] else f" ({row['runs'] - row['ok_runs']} FAILED)"
    lines.append(
        f"| {title}{failed} | {spec.images:,} | {fmt(wall, 2)} | {cpu_text}"
        f" | {fmt(row['peak_rss_sum_mb'], 0)} | {fmt(ratio(spec.images, wall), 0)}"
        f" | {fmt(ratio(row['archive_bytes'] / MB, wall), 0)}"
        f" | {fmt(vs_catalog, 2) if vs_catalog else '—'} | {fmt(vs_copy, 1) if vs_copy else '—'}"
        f" | {row['other_cpu_share']:.0%} |"
    )
  table = "\n".join(lines)

  # Derived targets -----------------------------------------------------------
  ours_s, ours_l = get(OURS, small), get(OURS, large)
  one_s, one_l = get(OURS_1W, small), get(OURS_1W, large)
  cat_s, cat_l = get(CATALOG, small), get(CATALOG, large)
  copy_s, copy_l = get(COPY, small), get(COPY, large)
  marg = {
      "ours": marginal(ours_s, ours_l),
      "ours_1w": marginal(one_s, one_l),
      "catalog": marginal(cat_s, cat_l),
      "copy": marginal(copy_s, copy_l),
  }
  delta_images = large.images - small.images

  def intercept(small_row, rate):
    if not small_row or rate is None:
      return None
    return small_row["wall_s"] - small.images / rate

  def cpu_per_image(small_row, large_row):
    if not small_row or not large_row or small_row["cpu_s"] is None or large_row["cpu_s"] is None:
      return None
    return (large_row["cpu_s"] - small_row["cpu_s"]) / delta_images

  targets = []

  def target(name, value_text, ok, detail=""):
    targets.append({"target": name, "value": value_text, "verdict": verdict(ok), "detail": detail})

  speedup_vs_catalog = ratio(marg["ours"], marg["catalog"])
  target(f"marginal throughput {human_count(small.images)}->{human_count(large.images)}:"
         " this project / catalog >= 1.5x",
         f"{fmt(marg['ours'], 0)} vs {fmt(marg['catalog'], 0)} images/s ="
         f" {fmt(speedup_vs_catalog, 2, 'x')}",
         None if speedup_vs_catalog is None else speedup_vs_catalog >= 1.5)
  e2e = ratio(ours_l["wall_s"] if ours_l else None, cat_l["wall_s"] if cat_l else None)
  target(f"end-to-end wall at {human_count(large.images)}: this project / catalog <= 0.8",
         f"{fmt(ours_l and ours_l['wall_s'], 1)} s / {fmt(cat_l and cat_l['wall_s'], 1)} s ="
         f" {fmt(e2e, 2)}",
         None if e2e is None else e2e <= 0.8)
  worker_speedup = ratio(marg["ours"], marg["ours_1w"])
  target(f"{workers} workers vs 1: marginal throughput >= 1.6x",
         f"{fmt(marg['ours'], 0)} vs {fmt(marg['ours_1w'], 0)} images/s ="
         f" {fmt(worker_speedup, 2, 'x')}",
         None if worker_speedup is None else worker_speedup >= 1.6)
  mem_s = get(OURS, sizes["mem_small"], "mem_small")
  mem_l = get(OURS, sizes["mem_large"], "mem_large")
  mem_growth = (ratio(mem_l["peak_rss_sum_mb"], mem_s["peak_rss_sum_mb"]) - 1
                if mem_s and mem_l else None)
  target(f"peak memory {human_count(sizes['mem_small'].images)} vs"
         f" {human_count(sizes['mem_large'].images)} images within 15%",
         f"{fmt(mem_s and mem_s['peak_rss_sum_mb'], 0)} MB vs"
         f" {fmt(mem_l and mem_l['peak_rss_sum_mb'], 0)} MB ({fmt(mem_growth and mem_growth * 100, 1)}%)",
         None if mem_growth is None else abs(mem_growth) <= 0.15)
  csv_s = get(OURS, sizes["csv_small"], "csv_small")
  csv_f = get(OURS, sizes["csv_full"], "csv_full")
  csv_delta = (csv_f["peak_rss_sum_mb"] - csv_s["peak_rss_sum_mb"]) if csv_s and csv_f else None
  target(f"{human_count(sizes['csv_full'].images)} images: {sizes['csv_full'].csv_rows:,}-row CSV"
         f" vs {sizes['csv_small'].csv_rows:,}-row CSV, peak memory delta <= 500 MB",
         f"{fmt(csv_f and csv_f['peak_rss_sum_mb'], 0)} MB - {fmt(csv_s and csv_s['peak_rss_sum_mb'], 0)} MB"
         f" = {fmt(csv_delta, 0)} MB (wall {fmt(csv_f and csv_f['wall_s'], 1)} s vs"
         f" {fmt(csv_s and csv_s['wall_s'], 1)} s)",
         None if csv_delta is None else csv_delta <= 500)
  determinism = extras.get("determinism")
  if determinism and "identical" in determinism:
    detail = (f"{len(determinism.get('shards_a', []))} shards, {determinism.get('records', 0):,}"
              f" records compared, {determinism.get('mismatches', 0)} mismatches;"
              f" raw bytes identical: {determinism.get('raw_bytes_identical')}"
              + ("" if determinism.get("raw_bytes_identical") else
                 " (same fields; protobuf map order differs between processes)"))
    if determinism.get("error"):
      detail = determinism["error"][-300:]
    target(f"determinism: {human_count(large.images)} default build == in_memory 1-worker build"
           " (shard names, records in order)", detail, bool(determinism.get("identical")))
  else:
    target("determinism", "not run", None)

  # Issues 9 and 10: full count, gs:// bytes, cold cache, resume (computed apart).
  issue_specs = {key: sizes[key] for key in ("full", "full_base", "gcs", "cold")}
  if extras.get("gcs_full_ran"):
    issue_specs["gcs_full"] = sizes["full"]
  issues = extra_targets.compute(lambda key, spec, role: summary.get((key, spec.name, role)),
                                 issue_specs, extras)
  targets.extend(issues["targets"])

  # Cost per image and the full dataset --------------------------------------
  per_image = {
      "ours": cpu_per_image(ours_s, ours_l),
      "ours_1w": cpu_per_image(one_s, one_l),
      "catalog": cpu_per_image(cat_s, cat_l),
  }
  full_cpu_hours = (per_image["ours"] * FULL_DATASET_IMAGES / 3600) if per_image["ours"] else None
  est_lines = []
  if full_cpu_hours is not None:
    per_image_kb = ours_l["archive_bytes"] / large.images / 1024
    real_kb = FULL_DATASET_GB * 1e9 / FULL_DATASET_IMAGES / 1024
    byte_scaled = full_cpu_hours * real_kb / per_image_kb
    vcpus = 4  # n1-standard-4
    total_gb = 2 * FULL_DATASET_GB  # Read the archives, write about as much (`full` keeps bytes).
    local_minutes = FULL_DATASET_IMAGES / marg["ours"] / 60 if marg["ours"] else None
    est_lines += [
        f"- CPU per image (marginal, {human_count(small.images)}->{human_count(large.images)}):"
        f" this project {fmt(per_image['ours'] and per_image['ours'] * 1e3, 3)} ms"
        f" ({workers} workers), {fmt(per_image['ours_1w'] and per_image['ours_1w'] * 1e3, 3)} ms"
        f" (1 worker); catalog {fmt(per_image['catalog'] and per_image['catalog'] * 1e3, 3)} ms.",
        f"- Full PASS on paper ({FULL_DATASET_IMAGES:,} images, {FULL_DATASET_GB} GB):"
        f" {per_image['ours'] * 1e3:.3f} ms x {FULL_DATASET_IMAGES:,} ="
        f" **{full_cpu_hours:.2f} CPU hours** ({full_cpu_hours * 60:.0f} CPU minutes; up to"
        f" {byte_scaled:.2f} h if every cost grew with bytes: the real images average"
        f" {real_kb:.0f} KB, the sample's {per_image_kb:.0f} KB). The `full` config never"
        " decodes an image, so this is parsing, serializing, checksumming and copying bytes.",
        f"- On Dataflow with n1-standard-4 workers ({vcpus} vCPUs): {full_cpu_hours / vcpus:.2f}"
        f" worker-hours of CPU, i.e. 4 workers ~ {full_cpu_hours / (4 * vcpus) * 60:.1f} min,"
        f" 10 workers ~ {full_cpu_hours / (10 * vcpus) * 60:.1f} min if kept busy. The job is"
        f" I/O-bound instead: {total_gb:.0f} GB moved through GCS take"
        f" {total_gb * 1e3 / (4 * 100) / 60:.0f} min with 4 workers or"
        f" {total_gb * 1e3 / (10 * 100) / 60:.0f} min with 10 at ~100 MB/s per worker, plus"
        " 3-5 min of job start-up; so ~4-10 workers for well under an hour, each holding one"
        " piece's read buffer and the 78 MB CSV lookup.",
        f"- On this machine the marginal rate ({fmt(marg['ours'], 0)} images/s) would build"
        f" the full dataset in ~{fmt(local_minutes, 0)} min of processing, if the disk delivered"
        f" {FULL_DATASET_GB} GB at {fmt(marg['ours'] and marg['ours'] * real_kb * 1024 / MB, 0)}"
        " MB/s (these runs read from the page cache).",
    ]
  # Where time and memory go: per-process CPU and peak RSS of the median large runs.
  breakdown_lines = []
  breakdowns = {}
  for kind in (OURS, OURS_1W, CATALOG):
    run = median_run(bench.runs, kind.key, large.name, "")
    if run:
      breakdowns[kind.key] = {"label": run["label"], "processes": run["processes"],
                              "timeline": run.get("timeline")}
      phases = ""
      timeline = run.get("timeline")
      if timeline and timeline.get("writing_shards_s") is not None:
        phases = (f" Phases: {timeline['before_first_shard_s']:.1f} s until the first shard file"
                  f" (start-up, the CSV lookup, the first piece), {timeline['writing_shards_s']:.1f} s writing"
                  f" {timeline['shard_files_seen']} shards, {timeline['after_last_shard_s']:.1f} s"
                  " after the last (finalize, exit).")
      breakdown_lines.append(f"- {kind.title.format(workers=workers)}, {human_count(large.images)}"
                             f" ({run['wall_s']:.1f} s wall, {run['cpu_s']:.1f} s CPU:"
                             f" {run['cpu_rusage_user_s']:.1f} user + {run['cpu_rusage_sys_s']:.1f}"
                             f" sys): {describe_processes(run['processes'])}.{phases}")
  mem_slope_kb = None
  if mem_s and mem_l:
    mem_slope_kb = ((mem_l["peak_rss_sum_mb"] - mem_s["peak_rss_sum_mb"]) * 1000
                    / (sizes["mem_large"].images - sizes["mem_small"].images))
  if mem_slope_kb is not None:
    breakdown_lines.append(
        f"- Peak memory grows by {mem_slope_kb:.1f} KB per image (summed over processes,"
        f" {human_count(sizes['mem_small'].images)}->{human_count(sizes['mem_large'].images)});"
        f" linearly extrapolated, {FULL_DATASET_IMAGES:,} images would add"
        f" {mem_slope_kb * FULL_DATASET_IMAGES / 1e6:.1f} GB (an extrapolation of a small difference:"
        " what a build keeps per image is its 16-byte key and counts, for the proofs).")
  if csv_s and csv_f:
    breakdown_lines.append(
        f"- Reading the {sizes['csv_full'].csv_rows:,}-row CSV costs"
        f" {csv_f['wall_s'] - csv_s['wall_s']:+.1f} s wall and"
        f" {csv_f['cpu_s'] - csv_s['cpu_s']:+.1f} s CPU over the"
        f" {sizes['csv_small'].csv_rows:,}-row one.")

  intercepts = {key: intercept(row, marg[key]) for key, row in
                (("ours", ours_s), ("ours_1w", one_s), ("catalog", cat_s), ("copy", copy_s))}

  derived = {
      "marginal_images_per_s": marg,
      "fixed_cost_s": intercepts,
      "cpu_s_per_image": per_image,
      "speedup_vs_catalog_marginal": speedup_vs_catalog,
      "end_to_end_ratio_large": e2e,
      "worker_speedup_marginal": worker_speedup,
      "memory_growth_small_to_large": mem_growth,
      "full_csv_delta_mb": csv_delta,
      "memory_kb_per_image": mem_slope_kb,
      "process_breakdown": breakdowns,
      "full_dataset_cpu_hours": full_cpu_hours,
      "issues_9_10": {key: value for key, value in issues.items() if key != "targets"},
      "targets": targets,
  }

  # Markdown ----------------------------------------------------------------
  load_before = extras.get("load_before")
  load_after = extras.get("load_after")
  md = []
  md.append(f"# pass_tfds benchmark{' (--quick smoke run)' if args.quick else ''}\n")
  md.append(f"Command: `python benchmarks/benchmark.py {' '.join(extras['argv'])}`  ")
  md.append(f"Date: {facts['date']}; total benchmark time {extras['total_minutes']:.1f} min.\n")
  md.append("## Machine\n")
  md.append(f"- {facts['nproc']} CPUs ({facts['cpu_model']}), {facts['ram_gb']} GB RAM,"
            f" {facts['platform']}")
  md.append(f"- Python {facts['python']}; "
            + ", ".join(f"{name} {version}" for name, version in facts["versions"].items()))
  md.append(f"- Load average before: {', '.join(f'{v:.2f}' for v in load_before)};"
            f" after: {', '.join(f'{v:.2f}' for v in load_after)}. Other agents may share this"
            " machine: the last column is the CPU used by processes outside the measured tree"
            " during each run, as a share of all CPUs (max over repeats).")
  fresh = extras.get("fresh_memory")
  if fresh:
    md.append(f"- Writing 1 GiB into the page cache took {fresh['cold_s_per_gib']:.2f} s after"
              f" {fresh['idle_s']:.0f} s idle and {fresh['recycled_s_per_gib']:.2f} s right after"
              " freeing 1 GiB. A large gap means a VM that returns freed memory to its host:"
              " first touches of memory are then slow (kernel time), and by how much varies"
              " from run to run with what ran just before. Every run here writes about as many"
              " bytes as it reads, so this shows in the `sys` column.")
  md.append("")
  md.append("## Results\n")
  md.append(f"Median of {args.repeat} run(s) each; runs strictly one after another, sizes"
            " alternated, builders in a fresh random order each repeat (seeded). Each corpus is"
            " read once (page-cache warm-up) before every run, and `sync` runs before each. MB/s = archive bytes (10 tars) / wall."
            " Wall / catalog and wall / copy compare with the same corpus.\n")
  md.append(table + "\n")
  md.append("## Targets\n")
  md.append("| target | measured | verdict |")
  md.append("|---|---|---|")
  for item in targets:
    md.append(f"| {item['target']} | {item['value']} | **{item['verdict']}** |")
  md.append("")
  md.extend(extra_targets.markdown(issues, issue_specs, workers))
  md.append("## Derived\n")
  md.append(f"- Marginal throughput ({human_count(small.images)}->{human_count(large.images)},"
            " images/s): " + ", ".join(f"{key} {fmt(value, 0)}" for key, value in marg.items()))
  md.append("- Fixed cost (wall at 0 images, extrapolated): "
            + ", ".join(f"{key} {fmt(value, 1, ' s')}" for key, value in intercepts.items()))
  md.extend(est_lines)
  md.append("")
  if breakdown_lines:
    md.append("## Where the time and memory go\n")
    md.append("Per process of the median run (CPU s, peak RSS):\n")
    md.extend(breakdown_lines)
    md.append("")
  quirky = extras.get("catalog_quirky")
  if quirky and quirky.get("ran"):
    md.append("## The catalog builder and the default sample\n")
    md.append(
        "The corpora here are written with `write_sample(..., pandas_safe_usernames=True)`:"
        f" the catalog builder reads the CSV with pandas, which turns usernames such as `NA`,"
        f" `null`, `nan`, `None`, `N/A` into NaN. On the default sample ({quirky['corpus']},"
        f" {quirky['nullish_usernames']} such usernames) the catalog builder"
        f" {'FAILS' if quirky['failed'] else 'did not fail'}: `{quirky['error']}`. This project"
        " reads the same files (it reads every CSV value as a string).\n")
  md.append("## Notes\n")
  md.append(
      "- CPU s = user+sys of the whole process tree: the larger of psutil samples of every"
      " process (every 50 ms) and the `RUSAGE_CHILDREN` delta. Peak MB = max over samples of"
      " the RSS summed over the process and all its descendants (shared pages, e.g. libraries"
      " mapped by several Beam workers, count once per process).")
  md.append(
      "- The page cache cannot be dropped without privileges: numbers are for warm reads."
      " Writes go to the page cache too (no fsync), for the builders and the copy alike.")
  md.append(f"- Raw numbers: `{args.results_name}.json`; logs of each run under"
            f" `{bench.logs}`.")
  markdown = "\n".join(md) + "\n"
  raw = {
      "argv": extras["argv"],
      "facts": facts,
      "sizes": {key: spec.params() for key, spec in sizes.items()},
      "summary": [dict(value) for value in summary.values()],
      "derived": derived,
      "extras": {key: value for key, value in extras.items() if key != "argv"},
      "runs": bench.runs,
      "warmup_first_read_s": bench.warmups,
  }
  return markdown, raw


# --------------------------------------------------------------------------
# Main


SECTIONS = ("builds", "full", "gcs", "cold", "resume", "resume_full")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
  parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
  parser.add_argument("--work_dir", default="/tmp/pass_bench",
                      help="corpora, builds and logs (default /tmp/pass_bench)")
  parser.add_argument("--quick", action="store_true", help="small corpora: a smoke run")
  parser.add_argument("--skip_catalog", action="store_true", help="do not run the catalog builder")
  parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (median)")
  parser.add_argument("--seed", type=int, default=0, help="write_sample seed")
  parser.add_argument("--image_kb", type=int, default=80, help="average JPEG size")
  parser.add_argument("--results_name", default=None,
                      help="results file stem in benchmarks/results (default latest, quick for"
                      " --quick)")
  parser.add_argument("--wait_for_idle", type=float, default=120.0,
                      help="wait up to this many seconds for the 1-min load average to fall"
                      " below 1.0 before timing (default 120)")
  parser.add_argument("--prepare_only", action="store_true", help="generate the corpora and exit")
  parser.add_argument("--sections", default=",".join(SECTIONS),
                      help="comma-separated subset of " + ",".join(SECTIONS) + " (default all):"
                      " `builds` = the 8k/24k throughput, memory and determinism runs; the others"
                      " are the full count, gs:// bytes, cold page cache and resume scenarios"
                      " (resume_full: on the full-count corpus)")
  args = parser.parse_args(argv)
  args.sections = [part.strip() for part in args.sections.split(",") if part.strip()]
  unknown = sorted(set(args.sections) - set(SECTIONS))
  if unknown:
    parser.error(f"unknown --sections {unknown}; choose from {', '.join(SECTIONS)}")
  if args.repeat < 1:
    parser.error("--repeat must be >= 1")
  if args.results_name is None:
    args.results_name = "quick" if args.quick else "latest"
  return args


def corpus_sizes(args: argparse.Namespace) -> dict[str, CorpusSpec]:
  def spec(images: int, rows: int | None = None) -> CorpusSpec:
    return CorpusSpec(images, images if rows is None else rows, args.seed, args.image_kb)

  if args.quick:
    small, large = spec(1000), spec(3000)
    return {"small": small, "large": large, "mem_small": spec(1000),
            "mem_large": spec(3000), "csv_small": spec(500), "csv_full": spec(500, 200_000),
            "full": tiny_spec(50_000, args.seed), "full_base": tiny_spec(5_000, args.seed),
            "gcs": small, "cold": large, "resume": large}
  small, large = spec(8000), spec(24000)
  return {"small": small, "large": large, "mem_small": spec(4000),
          "mem_large": spec(16000), "csv_small": spec(1000), "csv_full": spec(1000, FULL_CSV_ROWS),
          "full": tiny_spec(FULL_DATASET_IMAGES, args.seed), "full_base": tiny_spec(10_000, args.seed),
          "gcs": small, "cold": large, "resume": large}


def resume_range_mb(args: argparse.Namespace) -> int:
  """Small enough for ~30 pieces on the resume corpus (24k: 64 MiB; --quick, 3k: 4 MiB)."""
  return 4 if args.quick else 64


def resume_full_range_mb(args: argparse.Namespace) -> int:
  """10 pieces per archive of the full-count corpus (154 MB tars; --quick: 5 MB), so that a kill
  half way leaves what it leaves in the real dataset, whose 18.7 GB archives are ~112 pieces each.
  With the default 160 MiB each of these tars is one piece, and a resume is decided by which
  worker holds the pieces left."""
  return 1 if args.quick else 16


def wait_for_idle(limit: float) -> None:
  deadline = time.time() + limit
  while os.getloadavg()[0] >= 1.0 and time.time() < deadline:
    print(f"  load average {os.getloadavg()[0]:.2f}: waiting ...", flush=True)
    time.sleep(15)


def run_resume(bench: Bench, spec: CorpusSpec, corpus: str, range_mb: int | None) -> dict[str, Any]:
  """Clean build; the same build SIGKILLed half way, then rerun into the same folder.

  `range_mb` None: the default pieces."""
  extra = ("--range_mb", str(range_mb)) if range_mb else ()
  clean = bench.run(OURS, spec, corpus, 0, role="resume_clean", extra=extra, keep=True)
  label = f"{OURS.key}-{spec.name}-r0-resume_killed"
  data_dir = os.path.join(bench.builds, label)
  shutil.rmtree(data_dir, ignore_errors=True)
  cmd, cwd, env_extra = bench.command(OURS, corpus, data_dir, extra)
  warm_read(corpus)
  print(f"  {label:<60}", end="", flush=True)
  kill = scenarios.kill_half_way(cmd, os.path.join(bench.logs, f"{label}.log"), data_dir,
                                 dict(child_env(bench.tmp), **env_extra), cwd)
  print(f"killed={kill['killed']} at {kill['at_s']:.1f} s, {kill['sidecars_at_kill']} of"
        f" {kill['planned_pieces']} pieces done", flush=True)
  kill.pop("sidecar_names_at_kill", None)
  rerun = bench.run(OURS, spec, corpus, 0, role="resume_rerun", extra=extra, keep=True,
                    data_dir=data_dir, fresh=False)
  result: dict[str, Any] = {"images": spec.images, "range_mb": range_mb, "kill": kill,
                            "clean_wall_s": clean["wall_s"] if clean["ok"] else None,
                            "rerun_wall_s": rerun["wall_s"] if rerun["ok"] else None,
                            "reused_pieces": scenarios.reused_pieces(rerun["log"]),
                            "leftovers": scenarios.leftovers(data_dir)}
  if clean["ok"] and rerun["ok"]:
    result["compare"] = scenarios.compare_payloads(clean["dataset_dir"], rerun["dataset_dir"])
  print(f"  resume: {result['reused_pieces']} reused; identical records:"
        f" {(result.get('compare') or {}).get('identical')}; left: {result['leftovers']}", flush=True)
  for run in (clean, rerun):
    shutil.rmtree(run["data_dir"], ignore_errors=True)
  return result


def run_issue_scenarios(bench: Bench, sizes: dict[str, CorpusSpec], corpora: dict[CorpusSpec, str],
                        extras: dict[str, Any]) -> None:
  """Issues 9 and 10: full count vs the baseline, gs:// bytes, cold page cache, resume."""
  args = bench.args
  full, base = sizes["full"], sizes["full_base"]
  full_runs = {}
  if "full" in args.sections:
    print(f"Full count ({full.images:,} images) against the baseline (3bd984c):", flush=True)
    for spec, role in ((base, "full_base"), (full, "full")):
      for kind in (OURS, OURS_1W, BASELINE):
        full_runs[(kind.key, role)] = bench.run(kind, spec, corpora[spec], 0, role=role)

  if "gcs" in args.sections:
    print("gs:// reads (gcs_reads.py):", flush=True)
    gcs = sizes["gcs"]
    for kind in (GCS_OURS, GCS_BASELINE):
      bench.run(kind, gcs, corpora[gcs], 0, role="gcs")
    # The in_memory single-worker run through gcs_reads.py is about as slow as the
    # one-worker build: run it on the full count only when that took under 150 s.
    one_full = full_runs.get((OURS_1W.key, "full"))
    if one_full and one_full["ok"] and one_full["wall_s"] < 150:
      bench.run(GCS_OURS, full, corpora[full], 0, role="gcs")
      extras["gcs_full_ran"] = True
    else:
      extras["gcs_full_note"] = (
          "not run: " + (f"the one-worker full-count build took {one_full['wall_s']:.0f} s" if one_full
                         else "the full-count section did not run")
          + " (rule: only after a one-worker full-count build under 150 s, so that it stays"
          " under 3 min)")

  cold = sizes["cold"]
  if "cold" in args.sections:
    run_cold(bench, cold, corpora[cold])
  if "resume" in args.sections:
    print("Resume after SIGKILL:", flush=True)
    extras["resume"] = run_resume(bench, sizes["resume"], corpora[sizes["resume"]],
                                  resume_range_mb(args))
  if "resume_full" in args.sections:
    print("Resume after SIGKILL, full count:", flush=True)
    extras["resume_full"] = run_resume(bench, full, corpora[full], resume_full_range_mb(args))


def run_cold(bench: Bench, cold: CorpusSpec, corpus: str) -> None:
  """The project, the catalog builder and `cat`, each after evicting the corpus."""
  args = bench.args
  reps = 1 if args.quick else 3
  print(f"Cold page cache ({cold.images:,} images, {reps} round(s)):", flush=True)
  for rep in range(reps):
    kinds = [OURS, CAT] + ([] if args.skip_catalog else [CATALOG])
    random.Random(f"{args.seed}-cold-{rep}").shuffle(kinds)
    for kind in kinds:
      bench.run(kind, cold, corpus, rep, role="cold", cold=True)


def main(argv: list[str] | None = None) -> int:
  args = parse_args(argv)
  argv_used = sys.argv[1:] if argv is None else list(argv)
  began = time.time()
  sizes = corpus_sizes(args)
  facts = machine_facts()
  bench = Bench(args)
  print(f"Corpora in {bench.work_dir}/corpora:", flush=True)
  corpora = {}
  for spec in dict.fromkeys(sizes.values()):
    corpora[spec] = ensure_corpus(bench.work_dir, spec)
  if args.prepare_only:
    return 0
  extras: dict[str, Any] = {"argv": argv_used}
  print("Page-cache write probe (1 GiB, after 20 s idle, then again at once):", flush=True)
  extras["fresh_memory"] = fresh_memory_probe(bench.tmp)
  print(f"  {extras['fresh_memory']['cold_s_per_gib']:.2f} s, then"
        f" {extras['fresh_memory']['recycled_s_per_gib']:.2f} s", flush=True)
  if not args.skip_catalog and "builds" in args.sections:
    print("Catalog builder on the default sample (quirky usernames; expected to fail):", flush=True)
    extras["catalog_quirky"] = bench.catalog_on_default_sample(args.seed)
    quirky = extras["catalog_quirky"]
    if quirky.get("ran"):
      print(f"  {'failed as expected' if quirky['failed'] else 'did NOT fail'}: {quirky['error']}",
            flush=True)

  # Untimed warm-up: the first large write of a session is slow on a VM whose page
  # cache has not yet grown (first touch of guest memory); imports get cached too.
  print("Warm-up (untimed):", flush=True)
  small, large = sizes["small"], sizes["large"]
  warmup_kinds = [COPY, OURS] + ([] if args.skip_catalog else [CATALOG])
  for kind in warmup_kinds if "builds" in args.sections else ():
    run = bench.run(kind, large if kind is COPY else small,
                    corpora[large if kind is COPY else small], 0, role="warmup")
    bench.runs.remove(run)
    extras.setdefault("warmup_runs", []).append(run)

  wait_for_idle(args.wait_for_idle)
  extras["load_before"] = os.getloadavg()
  print(f"Load average before timing: {extras['load_before']}", flush=True)

  if "builds" in args.sections:
    keep_default_large = None
    for rep in range(args.repeat):
      print(f"Repeat {rep + 1}/{args.repeat}: throughput", flush=True)
      plan = []
      for spec in (small, large):
        kinds = [COPY, OURS, OURS_1W] + ([] if args.skip_catalog else [CATALOG])
        # A fresh order every repeat: what ran just before a run changes how fast its
        # writes are here (see fresh_memory_probe), so no builder always follows the same one.
        random.Random(f"{args.seed}-{rep}-{spec.name}").shuffle(kinds)
        plan += [(kind, spec) for kind in kinds]
      for kind, spec in plan:
        keep = kind is OURS and spec is large and rep == args.repeat - 1
        result = bench.run(kind, spec, corpora[spec], rep, keep=keep)
        if keep and result["ok"]:
          keep_default_large = result
      print(f"Repeat {rep + 1}/{args.repeat}: memory", flush=True)
      for key in ("mem_small", "mem_large", "csv_small", "csv_full"):
        spec = sizes[key]
        bench.run(OURS, spec, corpora[spec], rep, role=key)

    print("Determinism:", flush=True)
    inmem = bench.run(OURS_INMEM, large, corpora[large], 0, role="determinism", keep=True)
    if keep_default_large and inmem["ok"]:
      extras["determinism"] = bench.compare(keep_default_large["dataset_dir"], inmem["dataset_dir"])
      extras["determinism"]["builds"] = [keep_default_large["label"], inmem["label"]]
    else:
      extras["determinism"] = {"identical": False, "error": "a build failed; see the logs"}
    print(f"  identical: {extras['determinism'].get('identical')}"
          f" ({extras['determinism'].get('records', 0):,} records)", flush=True)
    for run in (keep_default_large, inmem):
      if run:
        shutil.rmtree(run["data_dir"], ignore_errors=True)

  run_issue_scenarios(bench, sizes, corpora, extras)

  extras["load_after"] = os.getloadavg()
  extras["total_minutes"] = (time.time() - began) / 60
  markdown, raw = build_report(bench, sizes, facts, extras)
  os.makedirs(RESULTS_DIR, exist_ok=True)
  md_path = os.path.join(RESULTS_DIR, f"{args.results_name}.md")
  json_path = os.path.join(RESULTS_DIR, f"{args.results_name}.json")
  with open(md_path, "w", encoding="utf-8") as f:
    f.write(markdown)
  with open(json_path, "w", encoding="utf-8") as f:
    json.dump(raw, f, indent=1, default=str)
  print()
  print(markdown)
  print(f"Wrote {md_path} and {json_path}")
  failed = [item for item in raw["derived"]["targets"] if item["verdict"] == "FAIL"]
  return 1 if failed or any(not run["ok"] for run in bench.runs) else 0


if __name__ == "__main__":
  sys.exit(main())
