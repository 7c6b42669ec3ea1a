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

Modules (benchmarks/): `corpora` (the samples), `measuring` (one subprocess tree),
`child_scripts` (what runs in them), `runs` (the kinds of run, `Bench`), `sections`
(each section's runs), `results_report` (markdown and JSON), `scenarios` and
`extra_targets` (issues 9 and 10).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from pass_tfds.testing import FULL_CSV_ROWS

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results_report  # noqa: E402  (benchmarks/ helper modules)
import sections  # noqa: E402
from corpora import FULL_DATASET_IMAGES, CorpusSpec, ensure_corpus, fresh_memory_probe, tiny_spec  # noqa: E402
from runs import Bench  # noqa: E402


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
    return CorpusSpec(images=images, csv_rows=images if rows is None else rows, seed=args.seed,
                      image_kb=args.image_kb)

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


def main(argv: list[str] | None = None) -> int:
  args = parse_args(argv)
  argv_used = sys.argv[1:] if argv is None else list(argv)
  began = time.time()
  sizes = corpus_sizes(args)
  facts = results_report.machine_facts()
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

  if "builds" in args.sections:
    sections.run_warmup(bench, sizes, corpora, extras)

  sections.wait_for_idle(args.wait_for_idle)
  extras["load_before"] = os.getloadavg()
  print(f"Load average before timing: {extras['load_before']}", flush=True)

  if "builds" in args.sections:
    sections.run_builds(bench, sizes, corpora, extras)
  sections.run_issue_scenarios(bench, sizes, corpora, extras)

  extras["load_after"] = os.getloadavg()
  extras["total_minutes"] = (time.time() - began) / 60
  markdown, raw = results_report.build_report(bench, sizes, facts, extras)
  md_path, json_path = results_report.write_results(args.results_name, markdown, raw)
  print()
  print(markdown)
  print(f"Wrote {md_path} and {json_path}")
  failed = [item for item in raw["derived"]["targets"] if item["verdict"] == "FAIL"]
  return 1 if failed or any(not run["ok"] for run in bench.runs) else 0


if __name__ == "__main__":
  sys.exit(main())
