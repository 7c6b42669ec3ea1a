"""The DaskRunner's benchmark rows (issue 19), each build a `beam_runner.py` subprocess, one at a time.

  python benchmarks/dask_rows.py --work_dir /work/bench [--rows 24k,scaling]

- `24k`: the 24k corpus on a 2-worker `distributed.LocalCluster` (started here,
  outside the timed command) vs the DirectRunner with 2 workers, run back to
  back: the shards byte for byte equal; wall Dask/Direct, target <= 1.3.
- `scaling`: the full-count corpus with `--range_mb 16` on Dask with 2 workers
  vs 1: marginal images/s (written / wall), 2 workers over 1, target >= 1.7.

Corpora come from `benchmark.py --prepare_only --work_dir DIR`. Prints one JSON
object and writes it to benchmarks/results/dask_rows.json.
"""

from __future__ import annotations

import argparse
import filecmp
import glob
import json
import os
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPORA = {"24k": "n24000_rows24000_seed0_kb80_safe", "scaling": "full_count_n1439588_seed0"}


def _build(corpus: str, data_dir: str, *flags: str) -> dict:
  shutil.rmtree(data_dir, ignore_errors=True)
  command = [sys.executable, os.path.join(REPO, "beam_runner.py"), "--data_dir", data_dir,
             "--manual_dir", corpus, "--checksums", os.path.join(corpus, "checksums.tsv"), *flags]
  started = time.perf_counter()
  subprocess.run(command, check=True, cwd=REPO, stdout=subprocess.DEVNULL,
                 env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  wall = time.perf_counter() - started
  version = os.path.join(data_dir, "pass_dataset", "full", "3.0.0")
  with open(os.path.join(version, "build_report.json"), encoding="utf-8") as f:
    report = json.load(f)
  return {"wall_s": round(wall, 2), "written": report["written"], "pieces": report["pieces"],
          "images_per_s": round(report["written"] / wall, 1), "version_dir": version}


def _same_shards(first: str, second: str) -> bool:
  names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(first, "*.tfrecord-*")))
  others = sorted(os.path.basename(p) for p in glob.glob(os.path.join(second, "*.tfrecord-*")))
  return bool(names) and names == others and all(
      filecmp.cmp(os.path.join(first, n), os.path.join(second, n), shallow=False) for n in names)


def _on_cluster(workers: int, corpus: str, data_dir: str, *flags: str) -> dict:
  from distributed import LocalCluster

  with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                    dashboard_address=None, host="127.0.0.1") as cluster:
    return _build(corpus, data_dir, "--runner=DaskRunner",
                  f"--dask_client_address={cluster.scheduler_address}", *flags)


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
  parser.add_argument("--work_dir", default="/tmp/pass_bench")
  parser.add_argument("--rows", default="24k,scaling")
  args = parser.parse_args()
  out: dict = {"load_before": os.getloadavg(), "cpus": os.cpu_count()}
  builds = os.path.join(args.work_dir, "dask_builds")
  rows = args.rows.split(",")
  if "24k" in rows:
    corpus = os.path.join(args.work_dir, "corpora", CORPORA["24k"])
    direct = _build(corpus, os.path.join(builds, "direct"), "--direct_num_workers=2")
    dask = _on_cluster(2, corpus, os.path.join(builds, "dask"))
    out["24k"] = {"direct_2": direct, "dask_2": dask,
                  "identical": _same_shards(direct["version_dir"], dask["version_dir"]),
                  "wall_ratio": round(dask["wall_s"] / direct["wall_s"], 2), "target": "<= 1.3"}
  if "scaling" in rows:
    corpus = os.path.join(args.work_dir, "corpora", CORPORA["scaling"])
    one = _on_cluster(1, corpus, os.path.join(builds, "dask1"), "--range_mb", "16")
    two = _on_cluster(2, corpus, os.path.join(builds, "dask2"), "--range_mb", "16")
    out["scaling"] = {"dask_1": one, "dask_2": two,
                      "speedup": round(two["images_per_s"] / one["images_per_s"], 2), "target": ">= 1.7"}
  out["load_after"] = os.getloadavg()
  text = json.dumps(out, indent=2)
  print(text)
  with open(os.path.join(REPO, "benchmarks", "results", "dask_rows.json"), "w", encoding="utf-8") as f:
    f.write(text + "\n")
  return 0


if __name__ == "__main__":
  sys.exit(main())
