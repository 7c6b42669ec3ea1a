"""The README's first command: a PASS-like sample, built with Beam, loaded, pictured.

    python -m pass_tfds.cli.demo --out out/demo [--num_images 500]

Generates a small sample in the real layout (10 archives + CSV), builds it with
`beam_runner.py`'s defaults (DirectRunner, multi_processing, one worker per
core), loads it with `tfds.load`, prints a summary and writes pictures of it.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Sequence

from pass_tfds import testing
from pass_tfds.cli import command as cli
from pass_tfds.cli.console import Console


def _load_summary(data_dir: str) -> tuple[int, list[dict]]:
  import tensorflow_datasets as tfds

  import pass_tfds

  dataset = tfds.load("pass_dataset", data_dir=data_dir, split="train")
  count, first = 0, []
  for example in tfds.as_numpy(dataset):
    if len(first) < 5:
      first.append(pass_tfds.to_data_card(example))
    count += 1
  return count, first


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--out", default="out/demo", help="Folder for the sample, dataset and pictures.")
  parser.add_argument("--num_images", type=int, default=500)
  args = parser.parse_args(argv)
  corpus = os.path.join(args.out, "sample")
  data_dir = os.path.join(args.out, "tensorflow_datasets")
  pictures = os.path.join(args.out, "pictures")

  started = time.time()
  manifest = testing.write_sample(corpus, args.num_images, image_kb=60)
  print(f"1/4 Generated a PASS-like sample: {len(manifest.images):,} images in"
        f" {len(manifest.archives)} archives + pass_metadata.csv -> {corpus}", flush=True)

  print("2/4 Building it with Apache Beam (beam_runner.py: the sample's own checksums, --verify sha256,"
        " --overwrite; Beam defaults):", flush=True)
  status = cli.main([
      "--data_dir", data_dir, "--manual_dir", corpus,
      "--checksums", os.path.join(corpus, "checksums.tsv"), "--verify", "sha256", "--overwrite",
  ])
  if status:
    return status

  with Console(name="demo") as console:  # TensorFlow's first op prints its cuInit line.
    count, examples = _load_summary(data_dir)
  console.discard()
  print(f"3/4 tfds.load('pass_dataset', data_dir={data_dir!r}) reads {count:,} examples; the first:")
  for card in examples:
    gps = (
        f"{card['gps_latitude']:.3f}, {card['gps_longitude']:.3f}"
        if card["gps_latitude"] is not None else "no GPS"
    )
    print(f"    {card['hash']}  {card['image'].size[0]}x{card['image'].size[1]}"
          f"  by {card['creator_username']!r}  taken {card['date_taken'] or 'unknown'}  ({gps})")
  if count != len(manifest.images):
    print(f"error: {count} examples loaded but the sample has {len(manifest.images)} images")
    return 1

  from pass_tfds import report

  with Console(name="demo") as console:
    written = report.write_report(data_dir, pictures)
  console.discard()
  print("4/4 Pictures of the data:")
  for name, path in written.paths.items():
    print(f"    {name:12s} {path}")
  print(f"Done in {time.time() - started:,.1f} s.")
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
