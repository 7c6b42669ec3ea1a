"""The benchmark's scenarios beyond plain timed builds (issues 9 and 10).

* `export_baseline`: today's main (commit 3bd984c) exported once into the work
  dir, so its `beam_runner.py` runs in the same benchmark run as this project.
* `evict`: the cold page cache, through /work/shared/tools/evict.py
  (posix_fadvise DONTNEED on every corpus file).
* `parse_gcs_reads`: what `gcs_reads.py` printed (bytes fetched through
  google-cloud-storage's BlobReader at Beam's 16 MiB buffer, requests).
* `kill_half_way`: starts a build, SIGKILLs its process group once about half
  its pieces have sidecars in `<data_dir>/pass_dataset/full/partial_3.0.0/`.
* `tfrecord_payloads` / `compare_payloads`: record-by-record equality of two
  builds, shard by shard, without TensorFlow.

Nothing here computes a target or writes markdown (see `extra_targets`).
"""

from __future__ import annotations

import glob
import json
import os
import re
import signal
import struct
import subprocess
import time
from typing import Any, Iterator

BASELINE_COMMIT = "3bd984c"
SHARED_TOOLS = "/work/shared/tools"
GCS_READS = os.path.join(SHARED_TOOLS, "gcs_reads.py")
EVICT = os.path.join(SHARED_TOOLS, "evict.py")
SIDECAR = re.compile(r"^PASS\.\d+\.tar\.\d{12}-\d{12}\.json$")
GCS_LINE = re.compile(r"rc=(?P<rc>\S+) source=(?P<source>[\d,]+) fetched=(?P<fetched>[\d,]+)"
                      r" requests=(?P<requests>[\d,]+) amplification=(?P<amp>[\d.]+)x")
REUSED_LINE = re.compile(r"([\d,]+) reused from an earlier run")


def export_baseline(repo: str, work_dir: str, commit: str = BASELINE_COMMIT) -> str:
  """`git archive <commit>` extracted under work_dir (once; reused while complete)."""
  target = os.path.join(work_dir, f"baseline_{commit}")
  marker = os.path.join(target, ".exported")
  if os.path.exists(marker):
    return target
  subprocess.run(["rm", "-rf", target], check=True)
  os.makedirs(target)
  archive = subprocess.Popen(["git", "-C", repo, "archive", commit], stdout=subprocess.PIPE)
  subprocess.run(["tar", "-x", "-C", target], stdin=archive.stdout, check=True)
  if archive.wait():
    raise RuntimeError(f"git archive {commit} failed")
  with open(marker, "w", encoding="utf-8") as f:
    f.write(commit + "\n")
  return target


def evict(paths: list[str], python: str) -> float:
  """Drops `paths` from the page cache; returns the seconds it took."""
  start = time.perf_counter()
  subprocess.run([python, EVICT, *paths], check=True)
  return time.perf_counter() - start


def parse_gcs_reads(log_path: str) -> dict[str, Any] | None:
  with open(log_path, encoding="utf-8", errors="replace") as f:
    text = f.read()
  match = None
  for match in GCS_LINE.finditer(text):
    pass
  if match is None:
    return None
  fetched, requests = int(match["fetched"].replace(",", "")), int(match["requests"].replace(",", ""))
  return {"source_bytes": int(match["source"].replace(",", "")), "fetched_bytes": fetched,
          "requests": requests, "mean_request_bytes": fetched / requests if requests else None,
          "tool_amplification": float(match["amp"]), "tool_rc": match["rc"]}


def reused_pieces(log_path: str) -> int:
  """How many pieces the build summary says were reused (0 when it does not say)."""
  with open(log_path, encoding="utf-8", errors="replace") as f:
    found = REUSED_LINE.findall(f.read())
  return int(found[-1].replace(",", "")) if found else 0


def partial_dir(data_dir: str) -> str:
  return os.path.join(data_dir, "pass_dataset", "full", "partial_3.0.0")


def sidecars(data_dir: str) -> list[str]:
  folder = partial_dir(data_dir)
  try:
    return sorted(name for name in os.listdir(folder) if SIDECAR.match(name))
  except OSError:
    return []


def planned_pieces(data_dir: str) -> int | None:
  for path in glob.glob(os.path.join(data_dir, "pass_dataset", "full", "*", "plan.json")):
    try:
      with open(path, encoding="utf-8") as f:
        return int(json.load(f)["pieces"])
    except (OSError, ValueError, KeyError):
      continue
  return None


def kill_half_way(cmd: list[str], log_path: str, data_dir: str, env: dict[str, str], cwd: str,
                  share: float = 0.5, timeout: float = 600.0) -> dict[str, Any]:
  """Runs `cmd` in its own process group; SIGKILLs the group once `share` of the
  planned pieces have sidecars. Says when, and how many sidecars there were."""
  start = time.perf_counter()
  with open(log_path, "wb") as log:
    process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                               start_new_session=True)
    total = None
    killed = False
    done: list[str] = []
    while process.poll() is None and time.perf_counter() - start < timeout:
      total = total or planned_pieces(data_dir)
      done = sidecars(data_dir)
      if total and len(done) >= share * total:
        os.killpg(process.pid, signal.SIGKILL)
        killed = True
        break
      time.sleep(0.02)
    if not killed and process.poll() is None:  # Timed out: stop it anyway.
      os.killpg(process.pid, signal.SIGKILL)
    process.wait()
  time.sleep(0.5)  # Let the kernel reap the group's other processes.
  return {"killed": killed, "at_s": time.perf_counter() - start, "planned_pieces": total,
          "sidecars_at_kill": len(done), "returncode": process.returncode,
          "sidecar_names_at_kill": done}


def tfrecord_payloads(path: str) -> Iterator[bytes]:
  """The records of one TFRecord file, by their length headers (no TensorFlow)."""
  with open(path, "rb") as f:
    while header := f.read(12):
      (length,) = struct.unpack("<Q", header[:8])
      payload = f.read(length)
      f.read(4)
      yield payload


def compare_payloads(first: str, second: str, pattern: str = "*-train.tfrecord-*") -> dict[str, Any]:
  """Same shard names, and the same record bytes in the same order in each shard."""
  names_a = sorted(os.path.basename(p) for p in glob.glob(os.path.join(first, pattern)))
  names_b = sorted(os.path.basename(p) for p in glob.glob(os.path.join(second, pattern)))
  records = mismatches = 0
  first_mismatch = None
  for name in sorted(set(names_a) & set(names_b)):
    a = list(tfrecord_payloads(os.path.join(first, name)))
    b = list(tfrecord_payloads(os.path.join(second, name)))
    records += max(len(a), len(b))
    bad = sum(1 for x, y in zip(a, b) if x != y) + abs(len(a) - len(b))
    if bad and first_mismatch is None:
      first_mismatch = name
    mismatches += bad
  return {"shards": len(names_a), "same_shard_names": names_a == names_b, "records": records,
          "mismatches": mismatches, "first_mismatch": first_mismatch,
          "identical": names_a == names_b and mismatches == 0 and records > 0}


def leftovers(data_dir: str) -> dict[str, list[str]]:
  """Folders a finished build should not leave: `incomplete.*` (and, for the record, partial_*)."""
  config = os.path.join(data_dir, "pass_dataset", "full")
  return {"incomplete": sorted(os.path.basename(p) for p in glob.glob(os.path.join(config, "incomplete.*"))),
          "partial": sorted(os.path.basename(p) for p in glob.glob(os.path.join(config, "partial_*")))}
