"""`pass-tfds-report` / `python -m pass_tfds.report`: pictures of a built dataset.

    python -m pass_tfds.report --data_dir D [--config full] [--split train] \
        [--out DIR] [--max_examples 20000]
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from pass_tfds.cli.console import Console
from pass_tfds.report.examples import DEFAULT_MAX_EXAMPLES, ReportError
from pass_tfds.report.pictures import write_report


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(
      prog="python -m pass_tfds.report",
      description="Draws PNG pictures of a built pass_dataset: example images,"
      " image sizes, years taken and GPS positions.",
  )
  parser.add_argument("--data_dir", required=True,
                      help="The data dir the dataset was built into (or its version folder).")
  parser.add_argument("--config", default="full", help="Builder config (default: full).")
  parser.add_argument("--split", default="train", help="Split, slicing allowed (default: train).")
  parser.add_argument("--out", default="pass_report", help="Output folder (default: pass_report).")
  parser.add_argument("--max_examples", type=int, default=DEFAULT_MAX_EXAMPLES,
                      help="Examples the statistics use, spread evenly over the split"
                      f" (default: {DEFAULT_MAX_EXAMPLES:,}).")
  args = parser.parse_args(argv)
  if args.max_examples < 1:
    parser.error("--max_examples must be positive")
  failure = None
  # TensorFlow's start-up lines (CUDA drivers, cuInit) go to the log file only.
  with Console(name="report") as console:
    try:
      report = write_report(args.data_dir, args.out, config=args.config, split=args.split,
                            max_examples=args.max_examples)
    except ReportError as error:
      failure = error
  console.discard()
  if failure is not None:
    print(f"error: {failure}", file=sys.stderr)
    return 1
  summary = report.summary
  print(
      f"{summary.num_read:,} of {summary.num_in_split:,} examples read;"
      f" GPS known for {summary.gps_share:.1%}, {summary.num_undated:,} without a date."
  )
  for name, path in report.paths.items():
    print(f"{name}: {path}")
  return 0
