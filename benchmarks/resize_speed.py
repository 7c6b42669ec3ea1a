"""Images per second per core for the resized configs, with and without JPEG draft mode.

    python benchmarks/resize_speed.py [--num_images 600] [--work_dir /tmp/pass_resize]

Reads the members of a generated PASS-like sample (about 80 KB photo-like
JPEGs, 320-640 px wide) into memory, then times `prepare_resized` on one core:
draft mode decodes at 1/2, 1/4 or 1/8 scale before the final resize; the naive
path decodes at full size. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import tarfile
import time

from pass_tfds import testing
from pass_tfds.pipeline import images


def _members(corpus: str) -> list[bytes]:
  data = []
  for name in sorted(os.listdir(corpus)):
    if name.endswith(".tar"):
      with tarfile.open(os.path.join(corpus, name)) as tar:
        data += [tar.extractfile(m).read() for m in tar if m.isreg()]
  return data


def _rate(payloads: list[bytes], short_side: int, use_draft: bool, repeat: int) -> float:
  best = 0.0
  for _ in range(repeat):
    started = time.process_time()
    for payload in payloads:
      images.prepare_resized(payload, short_side, 90, use_draft=use_draft)
    best = max(best, len(payloads) / (time.process_time() - started))
  return best


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--num_images", type=int, default=600)
  parser.add_argument("--work_dir", default="/tmp/pass_resize")
  parser.add_argument("--repeat", type=int, default=3)
  args = parser.parse_args()
  corpus = os.path.join(args.work_dir, f"sample_{args.num_images}")
  if not os.path.exists(os.path.join(corpus, "manifest.json")):
    testing.write_sample(corpus, args.num_images, image_kb=80)
  payloads = _members(corpus)
  size_kb = sum(map(len, payloads)) / len(payloads) / 1024
  print(f"{len(payloads)} JPEGs, {size_kb:.0f} KB on average; CPU seconds on one core"
        f" ({platform.processor() or platform.machine()}), best of {args.repeat}.\n")
  print("| config | naive decode + resize (images/s) | draft mode (images/s) | speed-up |")
  print("|---|---:|---:|---:|")
  for short_side in (256, 64):
    naive = _rate(payloads, short_side, False, args.repeat)
    draft = _rate(payloads, short_side, True, args.repeat)
    print(f"| short_side_{short_side} | {naive:,.0f} | {draft:,.0f} | {draft / naive:.2f}x |")


if __name__ == "__main__":
  main()
