"""Reads a pass_dataset split through Grain worker processes; prints `record_key sha256` lines
in the order Grain yields them (a test helper: tests/test_data_source_gcs.py).

    python tests/grain_reads.py --data_dir D [--workers N] [--count K]

Grain's workers read absl flags, so this runs under absl.app, as a training program would.
"""

from __future__ import annotations

import hashlib

from absl import app, flags
import grain.python as grain
import tensorflow_datasets as tfds

import pass_tfds  # noqa: F401  (registers pass_dataset)

_DATA_DIR = flags.DEFINE_string("data_dir", None, "TFDS data dir (local or gs://).", required=True)
_WORKERS = flags.DEFINE_integer("workers", 2, "Grain worker processes.")
_COUNT = flags.DEFINE_integer("count", 0, "Records to read (0: all).")


def main(argv):
  del argv
  source = tfds.data_source("pass_dataset/full", split="train", data_dir=_DATA_DIR.value,
                            deserialize_method=tfds.decode.DeserializeMethod.RAW_BYTES)
  sampler = grain.IndexSampler(len(source), shuffle=True, seed=7, num_epochs=1,
                               shard_options=grain.NoSharding())
  count = _COUNT.value or len(source)
  loader = grain.DataLoader(data_source=source, sampler=sampler, worker_count=_WORKERS.value)
  for position, record in zip(range(count), loader):
    print(sampler[position].record_key, hashlib.sha256(record).hexdigest(), flush=True)


if __name__ == "__main__":
  app.run(main)
