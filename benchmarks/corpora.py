"""The benchmark's corpora: PASS-like samples written once and reused while their parameters match."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from typing import Any

from pass_tfds.testing import PANDAS_NA_STRINGS

from child_scripts import GENERATE_SCRIPT
from measuring import PYTHON, REPO, child_env

FULL_DATASET_IMAGES = 1_439_588
FULL_DATASET_GB = 178.5
NUM_ARCHIVES = 10


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
  return CorpusSpec(images=images, csv_rows=images, seed=seed, image_kb=0, tiny=True)


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
