"""Targets of issues 9 and 10, computed from the benchmark's runs; and, apart, their markdown.

`compute(...)` returns plain numbers and verdicts (it goes into the JSON);
`markdown(...)` only formats what `compute` returned.

Definitions:
* images/s = images / wall, end to end (start-up included).
* marginal images/s (full count) = (N_full - N_base) / (wall_full - wall_base),
  where the base run is a build of the same kind on a corpus written the same
  way with N_base = 10,000 images (the fixed start-up, TensorFlow and Beam
  imports, worker start, finalize, cancels out). Per-image costs that grow
  with the CSV (its rows = its images) stay in.
* gs:// amplification = bytes fetched through BlobReader / bytes of the 10
  archives (the CSV's fetches are in the numerator, so this is conservative);
  mean request = bytes fetched / requests.
"""

from __future__ import annotations

from typing import Any, Callable

MiB = 1 << 20
MB = 1e6

# Issue 9 / 10 thresholds.
FULL_PEAK_MB = 2000.0
FULL_SPEEDUP_VS_BASELINE = 2.0
FULL_WORKER_SPEEDUP = 1.7
GCS_MAX_AMPLIFICATION = 1.1
GCS_MIN_MEAN_REQUEST = 8 * MiB
COLD_MAX_RATIO = 0.5
RESUME_MAX_RATIO = 0.75


def _verdict(ok: bool | None) -> str:
  return "SKIPPED" if ok is None else ("PASS" if ok else "FAIL")


def _ratio(a: float | None, b: float | None) -> float | None:
  if a is None or b is None or b == 0:
    return None
  return a / b


def _marginal(base: dict | None, full: dict | None) -> float | None:
  if not base or not full or base.get("wall_s") is None or full.get("wall_s") is None:
    return None
  delta = full["wall_s"] - base["wall_s"]
  return (full["images"] - base["images"]) / delta if delta > 0 else None


def _f(value: float | None, digits: int = 1, suffix: str = "") -> str:
  return "n/a" if value is None else f"{value:,.{digits}f}{suffix}"


RESUME_KEYS = ("resume", "resume_full")  # 24k with a small range; the full count with defaults.


def _range_text(resume: dict[str, Any]) -> str:
  return f"--range_mb {resume['range_mb']}" if resume.get("range_mb") else "default pieces"


def _resume_targets(target: Callable[..., None], resume: dict[str, Any]) -> float | None:
  """The resume rows for one scenario; returns rerun / clean."""
  if not resume:
    target("resume", "not run", None)
    return None
  ratio = _ratio(resume.get("rerun_wall_s"), resume.get("clean_wall_s"))
  what = f"resume ({resume.get('images', 0):,} images, {_range_text(resume)})"
  target(f"{what}: rerun after SIGKILL / clean build wall <= {RESUME_MAX_RATIO}",
         f"{_f(resume.get('rerun_wall_s'), 2)} s / {_f(resume.get('clean_wall_s'), 2)} s ="
         f" {_f(ratio, 2)}", None if ratio is None else ratio <= RESUME_MAX_RATIO)
  kill = resume.get("kill", {})
  reused_ok = bool(resume.get("reused_pieces")) and resume.get("reused_pieces", 0) >= kill.get("sidecars_at_kill", 0)
  target(f"{what}: the rerun's summary says pieces were reused (at least the sidecars at the kill)",
         f"{resume.get('reused_pieces')} reused; {kill.get('sidecars_at_kill')} of"
         f" {kill.get('planned_pieces')} pieces had sidecars at the kill ({_f(kill.get('at_s'), 1)} s)",
         reused_ok)
  same = resume.get("compare") or {}
  target(f"{what}: same records, same shards, same order as a clean build",
         f"{same.get('records', 0):,} records in {same.get('shards', 0)} shards,"
         f" {same.get('mismatches')} mismatches", bool(same.get("identical")))
  left = resume.get("leftovers") or {}
  target(f"{what}: no incomplete.* folder remains",
         f"incomplete: {left.get('incomplete') or 'none'}; partial_*: {left.get('partial') or 'none'}",
         None if not left else not left.get("incomplete"))
  return ratio


def compute(get: Callable[[str, Any, str], dict | None], specs: dict[str, Any],
            extras: dict[str, Any]) -> dict[str, Any]:
  """`get(kind_key, spec, role)` -> the median summary row (or None);
  specs: full, full_base, gcs, gcs_full (optional), cold, resume."""
  targets: list[dict[str, Any]] = []

  def target(name: str, value: str, ok: bool | None) -> None:
    targets.append({"target": name, "value": value, "verdict": _verdict(ok)})

  # Full count -------------------------------------------------------------
  full, base = specs["full"], specs["full_base"]
  full_rows = {}
  for key in ("ours", "ours_1w", "baseline"):
    row_full, row_base = get(key, full, "full"), get(key, base, "full_base")
    full_rows[key] = {
        "ran": row_full is not None,
        "images": full.images,
        "wall_s": row_full and row_full["wall_s"],
        "images_per_s": _ratio(full.images, row_full and row_full["wall_s"]),
        "peak_rss_sum_mb": row_full and row_full["peak_rss_sum_mb"],
        "cpu_s": row_full and row_full["cpu_s"],
        "ok": bool(row_full and row_full["ok_runs"] == row_full["runs"]),
        "base_images": base.images,
        "base_wall_s": row_base and row_base["wall_s"],
        "marginal_images_per_s": _marginal(row_base, row_full),
        "other_cpu_share": row_full and row_full["other_cpu_share"],
    }
  ours, one, old = full_rows["ours"], full_rows["ours_1w"], full_rows["baseline"]
  peak = ours["peak_rss_sum_mb"]
  target(f"full count ({full.images:,} images): peak summed RSS <= {FULL_PEAK_MB:,.0f} MB",
         f"{_f(peak, 0)} MB (baseline {_f(old['peak_rss_sum_mb'], 0)} MB)",
         None if peak is None else peak <= FULL_PEAK_MB)
  speedup = _ratio(ours["images_per_s"], old["images_per_s"])
  target(f"full count: images/s >= {FULL_SPEEDUP_VS_BASELINE}x the baseline's (same run)",
         f"{_f(ours['images_per_s'], 0)} vs {_f(old['images_per_s'], 0)} images/s ="
         f" {_f(speedup, 2, 'x')}", None if speedup is None else speedup >= FULL_SPEEDUP_VS_BASELINE)
  workers = _ratio(ours["marginal_images_per_s"], one["marginal_images_per_s"])
  target(f"full count: 2 workers vs 1, marginal images/s (vs a {base.images:,}-image build)"
         f" >= {FULL_WORKER_SPEEDUP}x",
         f"{_f(ours['marginal_images_per_s'], 0)} vs {_f(one['marginal_images_per_s'], 0)} images/s ="
         f" {_f(workers, 2, 'x')}", None if workers is None else workers >= FULL_WORKER_SPEEDUP)

  # gs:// reads --------------------------------------------------------------
  gcs_rows = []
  for kind, spec_key in (("gcs_ours", "gcs"), ("gcs_baseline", "gcs"), ("gcs_ours", "gcs_full")):
    spec = specs.get(spec_key)
    if spec is None:
      continue
    row = get(kind, spec, "gcs")
    if row is None or not row.get("gcs"):
      continue
    gcs = row["gcs"]
    gcs_rows.append({
        "kind": kind, "corpus": spec.name, "images": spec.images, "wall_s": row["wall_s"],
        "ok": row["ok_runs"] == row["runs"], "archive_bytes": row["archive_bytes"],
        "source_bytes": gcs["source_bytes"], "fetched_bytes": gcs["fetched_bytes"],
        "requests": gcs["requests"], "mean_request_bytes": gcs["mean_request_bytes"],
        "fetched_over_archives": _ratio(gcs["fetched_bytes"], row["archive_bytes"]),
        "fetched_over_sources": gcs["tool_amplification"],
    })
  ours_gcs = next((r for r in gcs_rows if r["kind"] == "gcs_ours" and r["corpus"] == specs["gcs"].name), None)
  amp = ours_gcs and ours_gcs["fetched_over_archives"]
  target(f"gs:// ({specs['gcs'].images:,} images): bytes fetched / archive bytes <= {GCS_MAX_AMPLIFICATION}x",
         f"{_f(amp, 3, 'x')}" + (f" ({ours_gcs['fetched_bytes']:,} B in {ours_gcs['requests']:,} requests)"
                                 if ours_gcs else ""),
         None if amp is None else amp <= GCS_MAX_AMPLIFICATION)
  mean = ours_gcs and ours_gcs["mean_request_bytes"]
  target("gs://: mean request >= 8 MiB", f"{_f(mean and mean / MiB, 2)} MiB",
         None if mean is None else mean >= GCS_MIN_MEAN_REQUEST)

  # Cold page cache -------------------------------------------------------------
  cold = specs["cold"]
  cold_rows = {key: get(key, cold, "cold") for key in ("ours", "catalog", "cat")}
  cold_ratio = _ratio(cold_rows["ours"] and cold_rows["ours"]["wall_s"],
                      cold_rows["catalog"] and cold_rows["catalog"]["wall_s"])
  target(f"cold page cache ({cold.images:,} images): wall this project / catalog <= {COLD_MAX_RATIO}",
         " / ".join(f"{key} {_f(row and row['wall_s'], 2)} s" for key, row in cold_rows.items())
         + f"; ratio {_f(cold_ratio, 2)}", None if cold_ratio is None else cold_ratio <= COLD_MAX_RATIO)

  # Resume ------------------------------------------------------------------------
  resume_ratios = {}
  for key in RESUME_KEYS:
    resume_ratios[key] = _resume_targets(target, extras.get(key) or {})

  return {"full_count": full_rows, "gcs": gcs_rows, "gcs_full_note": extras.get("gcs_full_note"),
          "cold": {key: row and {"wall_s": row["wall_s"], "walls": row["walls"], "cpu_s": row["cpu_s"],
                                 "peak_rss_sum_mb": row["peak_rss_sum_mb"], "runs": row["runs"],
                                 "ok_runs": row["ok_runs"]}
                   for key, row in cold_rows.items()},
          "cold_ratio": cold_ratio,
          "resumes": {key: extras.get(key) or {} for key in RESUME_KEYS}, "resume_ratios": resume_ratios,
          "worker_speedup_full_marginal": workers, "speedup_vs_baseline_full": speedup,
          "targets": targets}


def markdown(result: dict[str, Any], specs: dict[str, Any], workers: int) -> list[str]:
  md: list[str] = []
  full, base = specs["full"], specs["full_base"]
  md.append(f"## Full PASS count ({full.images:,} images, tiny JPEGs, {full.csv_rows:,}-row CSV)\n")
  md.append(f"Corpus written by `benchmarks/full_count.py`; marginal images/s ="
            f" ({full.images:,} - {base.images:,}) / (wall - wall of a {base.images:,}-image build"
            " of the same kind on a corpus written the same way): start-up cancels out.\n")
  md.append("| run | images | wall s | images/s | marginal images/s | peak MB (all processes) | CPU s"
            f" | wall at {base.images:,} s | other CPU on machine |")
  md.append("|" + "---|" * 9)
  titles = {"ours": f"this project, defaults ({workers} workers)",
            "ours_1w": "this project, --direct_num_workers=1",
            "baseline": f"baseline (3bd984c), defaults ({workers} workers)"}
  for key, row in result["full_count"].items():
    if not row.get("ran", True):
      md.append(f"| {titles[key]} (not run) | | | | | | | | |")
      continue
    failed = "" if row["ok"] else " (FAILED)"
    other = row["other_cpu_share"]
    md.append(f"| {titles[key]}{failed} | {row['images']:,} | {_f(row['wall_s'], 1)}"
              f" | {_f(row['images_per_s'], 0)} | {_f(row['marginal_images_per_s'], 0)}"
              f" | {_f(row['peak_rss_sum_mb'], 0)} | {_f(row['cpu_s'], 1)} | {_f(row['base_wall_s'], 1)}"
              f" | {'n/a' if other is None else f'{other:.0%}'} |")
  md.append("")
  md.append("## Bytes fetched through Beam's gs:// reader\n")
  md.append("`/work/shared/tools/gcs_reads.py`: the build runs in one process (in_memory DirectRunner)"
            " with every source read served by google-cloud-storage's `BlobReader` at 16 MiB over a"
            " counting fake blob. Fetched / archives counts the CSV's fetches in the numerator.\n")
  md.append("| run | corpus | wall s | archive bytes | fetched bytes | fetched / archives"
            " | fetched / (archives + CSV) | requests | mean request MiB |")
  md.append("|" + "---|" * 9)
  names = {"gcs_ours": "this project", "gcs_baseline": "baseline (3bd984c)"}
  for row in result["gcs"]:
    md.append(f"| {names[row['kind']]}{'' if row['ok'] else ' (FAILED)'} | {row['images']:,} images"
              f" | {_f(row['wall_s'], 1)} | {row['archive_bytes']:,} | {row['fetched_bytes']:,}"
              f" | {_f(row['fetched_over_archives'], 3, 'x')} | {_f(row['fetched_over_sources'], 2, 'x')}"
              f" | {row['requests']:,} | {_f(row['mean_request_bytes'] and row['mean_request_bytes'] / MiB, 2)} |")
  if result.get("gcs_full_note"):
    md.append(f"\nFull-count corpus through gcs_reads.py: {result['gcs_full_note']}")
  md.append("")
  cold = specs["cold"]
  md.append(f"## Cold page cache ({cold.images:,} images)\n")
  md.append("Before each run the corpus (10 tars + CSV) is evicted with `/work/shared/tools/evict.py`"
            " (posix_fadvise DONTNEED). Median wall; every run's wall in brackets.\n")
  md.append("| run | wall s (median) | walls | peak MB | wall / catalog |")
  md.append("|---|---|---|---|---|")
  titles_cold = {"ours": f"this project, defaults ({workers} workers)", "catalog": "TFDS catalog `pass` builder",
                 "cat": "`cat` of the 10 archives to /dev/null"}
  catalog_wall = result["cold"].get("catalog") and result["cold"]["catalog"]["wall_s"]
  for key, row in result["cold"].items():
    if not row:
      continue
    md.append(f"| {titles_cold[key]} | {_f(row['wall_s'], 2)} | {row['walls']} | {_f(row['peak_rss_sum_mb'], 0)}"
              f" | {_f(_ratio(row['wall_s'], catalog_wall), 2)} |")
  md.append("")
  for key in RESUME_KEYS:
    md += _resume_markdown(result["resumes"].get(key) or {}, result["resume_ratios"].get(key))
  return md


def _resume_markdown(resume: dict[str, Any], ratio: float | None) -> list[str]:
  if not resume:
    return []
  kill = resume.get("kill", {})
  md = [f"## Resume after SIGKILL ({resume['images']:,} images, {_range_text(resume)})\n"]
  md.append(
      f"- Clean build: {_f(resume.get('clean_wall_s'), 2)} s. Killed build: SIGKILL to its process"
      f" group at {_f(kill.get('at_s'), 1)} s, when {kill.get('sidecars_at_kill')} of"
      f" {kill.get('planned_pieces')} pieces had sidecars in `partial_3.0.0/`."
      f" Rerun of the same command: {_f(resume.get('rerun_wall_s'), 2)} s"
      f" ({_f(ratio, 2)}x the clean build), summary: {resume.get('reused_pieces')}"
      " pieces reused.")
  same = resume.get("compare") or {}
  md.append(f"- Records against the clean build, TFRecord payload bytes shard by shard:"
            f" {same.get('records', 0):,} records in {same.get('shards', 0)} shards,"
            f" {same.get('mismatches')} mismatches, shard names equal: {same.get('same_shard_names')}.")
  left = resume.get("leftovers") or {}
  md.append(f"- Left in `pass_dataset/full/` after the rerun: incomplete.* {left.get('incomplete') or 'none'};"
            f" partial_* {left.get('partial') or 'none'}.")
  md.append("")
  return md
