"""Every resolution from one read (issue 21): `--config all` against three single-config builds.

  python benchmarks/all_configs.py --work_dir /work/bench [--corpus n24000_rows24000_seed0_kb80_safe]

Builds, one `beam_runner.py` subprocess at a time, `full`, `short_side_256` and
`short_side_64` each alone, then all three with `--config all`; checks that
every file of each config's folder is byte-identical between the two, and
gives the walls (target: all <= 0.6x the three). Corpora come from
`benchmark.py --prepare_only --work_dir DIR`. Writes benchmarks/results/all_configs.md.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = ("full", "short_side_256", "short_side_64")


def build_wall(corpus: str, data_dir: str, config: str) -> float:
  shutil.rmtree(data_dir, ignore_errors=True)
  command = [sys.executable, os.path.join(REPO, "beam_runner.py"), "--data_dir", data_dir,
             "--manual_dir", corpus, "--checksums", os.path.join(corpus, "checksums.tsv"), "--config", config]
  started = time.perf_counter()
  subprocess.run(command, check=True, cwd=REPO, stdout=subprocess.DEVNULL,
                 env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  return time.perf_counter() - started


def same_folder(first: str, second: str) -> bool:
  """Both folders hold the same file names with the same bytes."""
  names = sorted(os.listdir(first))
  return names == sorted(os.listdir(second)) and all(
      filecmp.cmp(os.path.join(first, name), os.path.join(second, name), shallow=False) for name in names)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--work_dir", default="/tmp/pass_bench")
  parser.add_argument("--corpus", default="n24000_rows24000_seed0_kb80_safe")
  args = parser.parse_args()
  corpus = os.path.join(args.work_dir, "corpora", args.corpus)
  builds = os.path.join(args.work_dir, "builds", "all_configs")
  load_before = os.getloadavg()
  alone = {config: build_wall(corpus, os.path.join(builds, config), config) for config in CONFIGS}
  together = build_wall(corpus, os.path.join(builds, "all"), "all")
  identical = {}
  for config in CONFIGS:
    (version,) = os.listdir(os.path.join(builds, config, "pass_dataset", config))
    identical[config] = same_folder(os.path.join(builds, config, "pass_dataset", config, version),
                                    os.path.join(builds, "all", "pass_dataset", config, version))
  three = sum(alone.values())
  lines = ["# Every resolution from one read", "",
           f"`python benchmarks/all_configs.py --work_dir {args.work_dir} --corpus {args.corpus}`;"
           f" {os.cpu_count()} CPUs, load average {load_before[0]:.2f} before and {os.getloadavg()[0]:.2f} after.",
           "", "| build | wall |", "|---|---|"]
  lines += [f"| `--config {config}` alone | {wall:.1f} s |" for config, wall in alone.items()]
  lines += [f"| the three, one after another | {three:.1f} s |",
            f"| `--config all` | {together:.1f} s ({together / three:.2f}x the three) |", "",
            "Each config's folder from `--config all` byte-identical to building it alone: "
            + ", ".join(f"{config} {'yes' if same else 'NO'}" for config, same in identical.items()) + "."]
  text = "\n".join(lines) + "\n"
  with open(os.path.join(REPO, "benchmarks", "results", "all_configs.md"), "w", encoding="utf-8") as f:
    f.write(text)
  print(text)


if __name__ == "__main__":
  main()
