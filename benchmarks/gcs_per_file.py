#!/usr/bin/env python3
"""What a build fetches from gs://, file by file: the archives apart from the CSV.

Runs `beam_runner.py`'s main in this process (in_memory DirectRunner) with every
file of the manual dir opened through Beam FileSystems served by
google-cloud-storage's `BlobReader` at Beam's default 16 MiB buffer
(`tests/read_counter.py`, the counter the CI test uses), and prints per file:
bytes, bytes fetched, requests, and any backward seek. `../shared/tools/gcs_reads.py`
gives the same total; this splits it, so the archives' ratio is not mixed with
the CSV's (read twice in this one process: the launcher's UTF-8 check, then the
lookup step).

usage: gcs_per_file.py MANUAL_DIR DATA_DIR [beam_runner flags]; prints JSON.
"""

from __future__ import annotations

import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))

import read_counter  # noqa: E402  (tests/)

from pass_tfds.cli import command as cli  # noqa: E402


def main(argv: list[str]) -> int:
  manual_dir, data_dir, *extra = argv
  with read_counter.count_reads(manual_dir) as reads:
    rc = cli.main(["--manual_dir", manual_dir, "--data_dir", data_dir, "--direct_running_mode=in_memory",
                   *extra], repo_dir=REPO)
  files = sorted(name for name in os.listdir(manual_dir) if name.endswith((".tar", ".csv")))
  per_file = {name: {"bytes": os.path.getsize(os.path.join(manual_dir, name)), "fetched": reads.fetched(name),
                     "requests": reads.requests(name)} for name in files}
  archives = [name for name in files if name.endswith(".tar")]
  size = sum(per_file[name]["bytes"] for name in archives)
  fetched = sum(per_file[name]["fetched"] for name in archives)
  requests = sum(per_file[name]["requests"] for name in archives)
  print(json.dumps({
      "rc": rc,
      "archives_bytes": size, "archives_fetched": fetched, "archives_ratio": fetched / size,
      "archives_requests": requests, "archives_mean_request_mib": fetched / max(requests, 1) / 2**20,
      "backward_seeks": len(reads.backward_seeks),
      "csv": per_file.get("pass_metadata.csv"), "per_file": per_file,
  }, indent=1))
  return 0 if rc == 0 else 1


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
