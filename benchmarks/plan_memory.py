"""Memory and time of the planning step at PASS's full size, on a synthetic index.

    python benchmarks/plan_memory.py [--images 1439588]

The plan step is the only one that sees every image at once (as index
entries and CSV rows, never image bytes). This builds a synthetic index of
PASS's size (10 archives, member names and hashes shaped like PASS's) and the
matching CSV rows, runs the same pure functions the pipeline runs, and prints
the peak memory of this process and the time taken.
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import resource
import time

from pass_tfds import archives, plan


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--images", type=int, default=1_439_588)
  args = parser.parse_args()
  started = time.time()
  members: list[list[archives.IndexedMember]] = [[] for _ in range(10)]
  found = {}
  for i in range(args.images):
    image_hash = hashlib.md5(str(i).encode()).hexdigest().lstrip("0")
    archive = i % 10
    member = archives.Member(archive, f"PASS.{archive}/{image_hash[:2]}/{image_hash}.jpg", i * 1024, 124_000)
    members[archive].append(archives.IndexedMember(member, image_hash, None))
    # As the pipeline keeps a CSV row: its number and raw values, parsed later by the writer.
    found[archives.join_key(image_hash)] = (
        i + 1, [str(i), f"flickr user {i}", "2012-08-09 18:00:20.0", "Attribution License", image_hash,
                "48.85", "2.35"])
  indexes = [plan.ArchiveIndex.from_members(archive, entries) for archive, entries in enumerate(members)]
  del members
  built = time.time()
  index_bytes = len(pickle.dumps(indexes, protocol=pickle.HIGHEST_PROTOCOL))
  with plan.gc_paused():
    examples = plan.plan_examples(indexes, found)
    shards = [plan.encode_shard(shard) for shard in plan.split_into_shards(examples, 1024)]
  shard_bytes = sum(len(shard) for shard in shards)
  done = time.time()
  peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  print(f"{len(examples):,} images planned and encoded into {len(shards)} shards in {done - built:.1f} s"
        f" (synthetic index built in {built - started:.1f} s)")
  print(f"serialized index: {index_bytes / 1e6:,.0f} MB; serialized shard plans: {shard_bytes / 1e6:,.0f} MB")
  print(f"peak RSS of this process: {peak_mb:,.0f} MB")


if __name__ == "__main__":
  main()
