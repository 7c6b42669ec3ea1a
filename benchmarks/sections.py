"""The benchmark's sections, each a series of runs: `builds` (throughput, memory, determinism),
`full`, `gcs`, `cold`, `resume`, `resume_full` (the issue 9/10 scenarios)."""

from __future__ import annotations

import argparse
import os
import random
import shutil
import time
from typing import Any

import scenarios
from corpora import CorpusSpec, warm_read
from measuring import child_env
from runs import BASELINE, CAT, CATALOG, COPY, GCS_BASELINE, GCS_OURS, OURS, OURS_1W, OURS_INMEM, Bench


def run_warmup(bench: Bench, sizes: dict[str, CorpusSpec], corpora: dict[CorpusSpec, str],
               extras: dict[str, Any]) -> None:
  """An untimed round before the `builds` section: a copy of the large corpus, one build by each builder.

  The first large write of a session is slow on a VM whose page cache has not yet
  grown (first touch of guest memory); imports get cached too.
  """
  args = bench.args
  print("Warm-up (untimed):", flush=True)
  small, large = sizes["small"], sizes["large"]
  warmup_kinds = [COPY, OURS] + ([] if args.skip_catalog else [CATALOG])
  for kind in warmup_kinds:
    run = bench.run(kind, large if kind is COPY else small,
                    corpora[large if kind is COPY else small], 0, role="warmup")
    bench.runs.remove(run)
    extras.setdefault("warmup_runs", []).append(run)


def run_builds(bench: Bench, sizes: dict[str, CorpusSpec], corpora: dict[CorpusSpec, str],
               extras: dict[str, Any]) -> None:
  """The `builds` section: 8k/24k throughput of every builder, memory, and determinism."""
  args = bench.args
  small, large = sizes["small"], sizes["large"]
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
