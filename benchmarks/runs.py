"""The kinds of run the benchmark times, and `Bench`, which runs one and checks what it wrote."""

from __future__ import annotations

import argparse
import dataclasses
import glob
import json
import os
import shutil
import subprocess
from typing import Any

import scenarios
from child_scripts import CATALOG_SCRIPT, COMPARE_SCRIPT, COPY_SCRIPT
from corpora import (NUM_ARCHIVES, CorpusSpec, corpus_bytes, corpus_files, ensure_corpus,
                     nullish_usernames, warm_read)
from measuring import PYTHON, REPO, child_env, count_tfrecords, measure, tail


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
