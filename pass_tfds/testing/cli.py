"""`pass-tfds-sample` / `python -m pass_tfds.testing`: writes a sample or the quirk corpus.

    pass-tfds-sample --out DIR (--num_images N | --quirks) [--num_archives 10] [--seed 0]
        [--image_kb 80] [--csv_rows N] [--processes P]
"""

from __future__ import annotations

import argparse
import os
import sys
import tarfile
import time
from typing import Sequence

from pass_tfds.testing.layout import FULL_CSV_ROWS
from pass_tfds.testing.quirk_corpus import write_quirk_corpus
from pass_tfds.testing.sample_corpus import write_sample


def _program() -> str:
  """`pass-tfds-sample` when run as the console script, else the module form."""
  name = os.path.basename(sys.argv[0] if sys.argv else "")
  return name if name == "pass-tfds-sample" else "python -m pass_tfds.testing"


def make_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog=_program(), allow_abbrev=False,
      description="Writes a synthetic PASS-like corpus in the real layout (10 archives + CSV).")
  parser.add_argument("--out", required=True, help="output folder")
  what = parser.add_mutually_exclusive_group(required=True)  # Shown as required in the usage line.
  what.add_argument("--num_images", type=int, help="images to generate")
  what.add_argument("--quirks", action="store_true",
                    help="write the quirk corpus (fixed contents) instead of a sample")
  parser.add_argument("--num_archives", type=int, default=10)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--image_kb", type=int, default=80, help="average JPEG size in KB")
  parser.add_argument("--csv_rows", type=int, default=None,
                      help=f"CSV rows (default num_images; the real CSV has {FULL_CSV_ROWS})")
  parser.add_argument("--processes", type=int, default=None, help="worker processes")
  return parser


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
  return make_parser().parse_args(argv)


def _member_sizes(path: str) -> list[int]:
  with tarfile.open(path) as tar:
    return [member.size for member in tar if member.isfile()]


def main(argv: Sequence[str] | None = None) -> None:
  args = _parse_args(argv)
  start = time.perf_counter()
  if args.quirks:
    manifest = write_quirk_corpus(args.out, seed=args.seed)
  else:
    manifest = write_sample(args.out, args.num_images, num_archives=args.num_archives,
                            seed=args.seed, image_kb=args.image_kb, csv_rows=args.csv_rows,
                            processes=args.processes)
  seconds = time.perf_counter() - start
  names = manifest.archives + [manifest.metadata_file]
  total = sum(os.path.getsize(os.path.join(args.out, name)) for name in names)
  sizes = [size for name in manifest.archives
           for size in _member_sizes(os.path.join(args.out, name))]
  print(f"{manifest.kind}: {len(names)} files, {len(sizes)} members"
        f" (avg {sum(sizes) / max(len(sizes), 1) / 1024:.1f} KB), {total / 1e6:.1f} MB"
        f" in {seconds:.1f} s -> {args.out}")
