"""Where one process beats worker processes, and a small build's fixed cost (issue 18).

  python benchmarks/small_builds.py --work_dir /work/bench [--baseline DIR] [--rounds 3]

Each build is a `beam_runner.py` subprocess, one at a time, the modes interleaved
round by round; the table gives the median wall. Rows: the 1k corpus (80 MB) and
the 4k corpus (320 MB), configs `full` and `short_side_256`, in Beam's
`in_memory` mode vs `multi_processing` with one worker per CPU; then this
code's default (no mode named) against `--baseline`'s default on the 1k corpus
(a checkout of older code, run with its own `beam_runner.py`): the fixed cost of
a local build. Corpora come from `benchmark.py --prepare_only --work_dir DIR`.
Writes benchmarks/results/small_builds.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPORA = {"1k": "n1000_rows1000_seed0_kb80_safe", "4k": "n4000_rows4000_seed0_kb80_safe"}
MODES = {"in_memory": ("--direct_running_mode=in_memory",),
         "multi_processing": ("--direct_running_mode=multi_processing",
                              f"--direct_num_workers={len(os.sched_getaffinity(0))}")}


def build_wall(repo: str, corpus: str, data_dir: str, *flags: str) -> float:
  shutil.rmtree(data_dir, ignore_errors=True)
  command = [sys.executable, os.path.join(repo, "beam_runner.py"), "--data_dir", data_dir,
             "--manual_dir", corpus, "--checksums", os.path.join(corpus, "checksums.tsv"), *flags]
  started = time.perf_counter()
  subprocess.run(command, check=True, cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                 env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=repo))
  return time.perf_counter() - started


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--work_dir", default="/tmp/pass_bench")
  parser.add_argument("--baseline", help="a checkout of the code to compare the default build with")
  parser.add_argument("--rounds", type=int, default=3)
  args = parser.parse_args()
  corpora = {name: os.path.join(args.work_dir, "corpora", folder) for name, folder in CORPORA.items()}
  data_dir = os.path.join(args.work_dir, "builds", "small")
  runs: dict[tuple[str, ...], list[float]] = {}
  load_before = os.getloadavg()
  for _ in range(args.rounds):
    for corpus in corpora:
      for config in ("full", "short_side_256"):
        for mode, flags in MODES.items():
          wall = build_wall(REPO, corpora[corpus], data_dir, "--config", config, *flags)
          runs.setdefault((corpus, config, mode), []).append(wall)
    runs.setdefault(("1k", "full", "default"), []).append(build_wall(REPO, corpora["1k"], data_dir))
    if args.baseline:
      runs.setdefault(("1k", "full", "baseline default"), []).append(
          build_wall(args.baseline, corpora["1k"], data_dir))
  median = {key: statistics.median(walls) for key, walls in runs.items()}
  lines = ["# Small builds: one process or worker processes", "",
           f"`python benchmarks/small_builds.py --work_dir {args.work_dir} --rounds {args.rounds}"
           + (f" --baseline {args.baseline}`" if args.baseline else "`"),
           f"; {os.cpu_count()} CPUs, load average {load_before[0]:.2f} before and"
           f" {os.getloadavg()[0]:.2f} after. Median wall of {args.rounds} interleaved rounds.", "",
           "| corpus | config | in_memory | multi_processing | in_memory / multi_processing |",
           "|---|---|---|---|---|"]
  for corpus in corpora:
    for config in ("full", "short_side_256"):
      one, many = median[(corpus, config, "in_memory")], median[(corpus, config, "multi_processing")]
      lines.append(f"| {corpus} | {config} | {one:.1f} s | {many:.1f} s | {one / many:.2f} |")
  default = median[("1k", "full", "default")]
  lines += ["", f"Default build (no mode named), 1k corpus, `full`: {default:.1f} s."]
  if args.baseline:
    base = median[("1k", "full", "baseline default")]
    lines.append(f"Baseline's default, same corpus, same rounds: {base:.1f} s; this / baseline ="
                 f" {default / base:.2f}.")
  text = "\n".join(lines) + "\n"
  with open(os.path.join(REPO, "benchmarks", "results", "small_builds.md"), "w", encoding="utf-8") as f:
    f.write(text)
  print(text)


if __name__ == "__main__":
  main()
