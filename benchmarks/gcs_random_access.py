#!/usr/bin/env python3
"""Random reads/s of `tfds.data_source` over an ArrayRecord build on gs://, through Grain.

Generates a PASS-like corpus, builds it with `--file_format array_record` on local disk,
uploads the build to the GCS emulator (fake-gcs-server, tests/gcs_emulator.py), then reads
it in shuffled order through `grain.DataLoader` with 1, 4 and 16 worker processes (raw
serialized examples: the read path, no decoding), from gs:// and from the local copy.

Per row: the warm-up (worker start-up, 10 records per worker) and the rate after it.
The emulator answers on loopback in well under a millisecond; a real bucket takes tens of
ms per uncached ranged GET, so this measures the read path's overhead, not a bucket.

    python benchmarks/gcs_random_access.py [--images 3000] [--image_kb 120] [--reads 3000]
        [--workers 1,4,16] [--out benchmarks/results/gcs_random_access.json]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))

from absl import app, flags  # noqa: E402
import grain.python as grain  # noqa: E402

import gcs_emulator  # noqa: E402  (tests/)

_IMAGES = flags.DEFINE_integer("images", 3000, "Images in the generated corpus.")
_IMAGE_KB = flags.DEFINE_integer("image_kb", 120, "About this many KB per JPEG (PASS: ~124 KB).")
_READS = flags.DEFINE_integer("reads", 3000, "Records read per row (shuffled, without repeats).")
_WORKERS = flags.DEFINE_list("workers", ["1", "4", "16"], "Grain worker_count values.")
_OUT = flags.DEFINE_string("out", None, "Also write the rows here as JSON.")


def _source(data_dir: str):
  import tensorflow_datasets as tfds

  import pass_tfds  # noqa: F401  (registers pass_dataset)
  return tfds.data_source("pass_dataset/full", split="train", data_dir=data_dir,
                          deserialize_method=tfds.decode.DeserializeMethod.RAW_BYTES)


def _measure(data_dir: str, workers: int, reads: int) -> dict:
  """Reads `reads` records in shuffled order; the rate counts those after the warm-up.

  Grain hands out records from its workers in turn, so once each worker has delivered a
  few, all of them are running: the warm-up is 10 records per worker.
  """
  source = _source(data_dir)
  sampler = grain.IndexSampler(len(source), shuffle=True, seed=1, num_epochs=1,
                               shard_options=grain.NoSharding())
  loader = grain.DataLoader(data_source=source, sampler=sampler, worker_count=workers)
  warm_up = 10 * max(workers, 1)
  started = time.perf_counter()
  count = size = 0
  for record in loader:
    count += 1
    if count == warm_up:
      warm = time.perf_counter()
    elif count > warm_up:
      size += len(record)
    if count == reads:
      break
  ended = time.perf_counter()
  measured = count - warm_up
  return {"workers": workers, "reads": measured, "warm_up_s": round(warm - started, 1),
          "reads_per_s": round(measured / (ended - warm), 1),
          "mb_per_s": round(size / (ended - warm) / 1e6, 1)}


def main(argv):
  del argv
  from pass_tfds import testing
  from pass_tfds.cli import command as cli

  work = tempfile.mkdtemp(prefix="gcs-random-access-")
  corpus, local = os.path.join(work, "corpus"), os.path.join(work, "data")
  testing.write_sample(corpus, _IMAGES.value, image_kb=_IMAGE_KB.value, seed=4)
  assert cli.main(["--manual_dir", corpus, "--data_dir", local, "--file_format", "array_record",
                   "--checksums", os.path.join(corpus, "checksums.tsv")], repo_dir=REPO) == 0
  reads = min(_READS.value, _IMAGES.value)
  rows = []
  with gcs_emulator.running() as gcs:  # Its environment is inherited by Grain's workers.
    remote = gcs.new_prefix("tfds")
    gcs.upload_dir(os.path.join(local, "pass_dataset"), f"{remote}/pass_dataset")
    for workers in map(int, _WORKERS.value):
      for where, data_dir in (("gs:// (emulator)", remote), ("local disk", local)):
        row = {"data_dir": where, **_measure(data_dir, workers, reads)}
        print(json.dumps(row), flush=True)
        rows.append(row)
  result = {"images": _IMAGES.value, "image_kb": _IMAGE_KB.value, "cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg()[0], "rows": rows}
  if _OUT.value:
    with open(_OUT.value, "w") as out:
      json.dump(result, out, indent=1)


if __name__ == "__main__":
  app.run(main)
