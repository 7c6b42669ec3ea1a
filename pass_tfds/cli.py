"""`beam_runner.py`: build PASS with Beam, locally (DirectRunner) or on Dataflow.

    python beam_runner.py --data_dir D [--manual_dir M] [--config NAME] [Beam flags...]

Flags this script does not know are Beam pipeline options. With no `--runner`
the build runs on the DirectRunner in multi_processing mode, one worker per
core. `--runner=DataflowRunner --project P --region R --temp_location gs://...`
submits a Dataflow job, staging this package for the workers.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import posixpath
import sys
import time
from typing import Sequence

from pass_tfds import plan
from pass_tfds.progress import Progress

_OUR_ERRORS = (
    "SourceError",
    "ArchiveError",
    "MetadataFormatError",
    "StrictModeError",
    "AccountingError",
)
_PACKAGE_FLAGS = ("--setup_file", "--requirements_file", "--extra_package", "--extra_packages",
                  "--sdk_container_image")


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
  parser = argparse.ArgumentParser(
      prog="beam_runner.py",
      description="Build the pass_dataset TFDS dataset with Apache Beam. Unknown flags are"
      " passed to Beam as pipeline options (e.g. --runner=DataflowRunner).",
  )
  parser.add_argument("--data_dir", required=True, help="Where TFDS datasets live (local or gs://).")
  parser.add_argument(
      "--manual_dir",
      help="Folder (local or gs://) holding PASS.0.tar ... PASS.9.tar and pass_metadata.csv."
      " Without it the files are downloaded from Zenodo (178.5 GB) into --data_dir/downloads.",
  )
  parser.add_argument("--config", default="full", help="full (default), short_side_256, short_side_64.")
  parser.add_argument(
      "--archives",
      help="Comma-separated archive names to build from, for a trial (e.g. PASS.0.tar). Default: all.",
  )
  parser.add_argument("--strict", action="store_true", help="Fail on the first unusable image.")
  parser.add_argument(
      "--checksums",
      help="checksums.tsv to check the manual dir against (default: the published PASS files).",
  )
  parser.add_argument(
      "--verify", choices=("size", "sha256", "none"), default="size",
      help="How to check manual files before building: size (default, instant), sha256, none.",
  )
  parser.add_argument("--file_format", choices=("tfrecord", "array_record"), default="tfrecord")
  parser.add_argument("--num_shards", type=int, help="Force the number of shards.")
  parser.add_argument("--overwrite", action="store_true", help="Delete an existing build first.")
  parser.add_argument(
      "--range_mb", type=float, default=plan.DEFAULT_RANGE_BYTES / (1 << 20),
      help="The most MiB of one archive a shard reads (default %(default)g): each archive is cut"
      " into byte ranges of at most this size, read front to back in parallel.",
  )
  parser.add_argument(
      "--allow_missing_metadata", action="store_true",
      help="Publish even when over 1%% of the images have no row in pass_metadata.csv.",
  )
  return parser.parse_known_args(argv)


def beam_flags(extra: list[str], repo_dir: str | None) -> list[str]:
  """Beam flags with local defaults filled in, and packaging for Dataflow."""
  flags = list(extra)
  names = {flag.split("=", 1)[0] for flag in flags if flag.startswith("--")}
  runner = next(
      (flag.split("=", 1)[1] for flag in flags if flag.startswith("--runner=")),
      flags[flags.index("--runner") + 1] if "--runner" in flags else None,
  )
  if runner is None:
    flags.append("--runner=DirectRunner")
    runner = "DirectRunner"
  if runner in ("DirectRunner", "direct"):
    if "--direct_running_mode" not in names:
      flags.append("--direct_running_mode=multi_processing")
    if "--direct_num_workers" not in names:
      flags.append(f"--direct_num_workers={len(os.sched_getaffinity(0)) or 1}")
    if "--default_sdk_harness_log_level" not in names:  # Progress lines, not Beam's chatter.
      flags.append("--default_sdk_harness_log_level=WARNING")
      flags.append('--sdk_harness_log_level_overrides={"pass_tfds":"INFO"}')
  elif "Dataflow" in runner and not names.intersection(_PACKAGE_FLAGS):
    pyproject = os.path.join(repo_dir or "", "pyproject.toml")
    if repo_dir and os.path.exists(pyproject):
      flags.append(f"--setup_file={pyproject}")
    else:
      raise SystemExit(
          "error: Dataflow workers need this package: pass --extra_package"
          " dist/pass_tfds-3.0.0-py3-none-any.whl (build it with `python -m build`), or run"
          " beam_runner.py from a checkout of the repository."
      )
  return flags


def explain(error: BaseException) -> str | None:
  """Our own error message, also when Beam re-raised it wrapped in its own."""
  seen = error
  while seen is not None:
    if type(seen).__name__ in _OUR_ERRORS:
      return f"{type(seen).__name__}: {seen}"
    seen = seen.__cause__ or seen.__context__
  text = str(error)
  for name in _OUR_ERRORS:
    marker = f"{name}: "
    if marker in text:
      start = text.rindex(marker)
      message = text[start:].split(" [while running", 1)[0]
      return message.strip()
  return None


def summarize(report: dict, seconds: float, data_path: str) -> str:
  skipped = ", ".join(f"{reason} {count:,}" for reason, count in report["skipped"].items()) or "none"
  reused = f", {report['reused_pieces']:,} reused from an earlier run" if report.get("reused_pieces") else ""
  lines = [
      f"Built pass_dataset/{report['config']} ({report['file_format']}) in {seconds:,.1f} s"
      f" -> {data_path}",
      f"  archives: {', '.join(report['archives'])}",
      f"  images written: {report['written']:,} in {report['shards']} shards{reused}"
      f" ({report['written'] / max(seconds, 1e-9):,.0f} images/s, {report['reencoded']:,} re-encoded)",
      f"  archive members: {report['members']:,}; skipped: {skipped}",
      f"  metadata rows: {report['metadata_rows']:,}: {report['images_with_metadata']:,} of written"
      f" images, {report['metadata_rows_of_skipped_images']:,} of skipped images,"
      f" {report['metadata_rows_without_member']:,} naming no member,"
      f" {report['duplicate_metadata_rows']:,} repeating a hash"
      f" ({report['differing_duplicate_metadata_rows']:,} with other values; the first row is used),"
      f" {report['unusable_hash_rows']:,} with an unusable hash",
      f"  images without metadata: {report['images_without_metadata']:,};"
      f" invalid dates: {report['invalid_dates']:,}; invalid GPS: {report['invalid_gps']:,}",
      f"  {report['invariant']}: {'reconciled' if report['reconciled'] else 'NOT reconciled'}",
      f"  report: {posixpath.join(data_path, 'build_report.json')}",
  ]
  return "\n".join(lines)


def main(argv: Sequence[str] | None = None, repo_dir: str | None = None) -> int:
  args, extra = parse_args(argv)
  flags = beam_flags(extra, repo_dir)
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
  for noisy in ("apache_beam", "absl", "tensorflow"):
    logging.getLogger(noisy).setLevel(logging.WARNING)

  from apache_beam.options.pipeline_options import PipelineOptions, TestOptions
  import tensorflow_datasets as tfds

  import pass_tfds  # noqa: F401  (registers pass_dataset)
  from pass_tfds.pass_dataset import PipelineDidNotRunError

  options = PipelineOptions(flags)
  dry_run = bool(options.view_as(TestOptions).dry_run)
  builder = tfds.builder(
      "pass_dataset",
      config=args.config,
      data_dir=args.data_dir,
      file_format=args.file_format,
      archives=args.archives.split(",") if args.archives else None,
      strict=args.strict,
      checksums_path=args.checksums,
      verify=args.verify,
      range_bytes=int(args.range_mb * (1 << 20)),
      allow_missing_metadata=args.allow_missing_metadata,
  )
  download_config = tfds.download.DownloadConfig(
      manual_dir=args.manual_dir,
      beam_options=options,
      num_shards=args.num_shards,
      download_mode=(
          tfds.download.GenerateMode.REUSE_CACHE_IF_EXISTS
          if args.overwrite else tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS
      ),
  )
  print(f"Building pass_dataset/{args.config} with Beam flags: {' '.join(flags)}", flush=True)
  started = time.time()
  progress = Progress(builder.work_dir())
  progress.start()
  try:
    builder.download_and_prepare(download_config=download_config)
  except PipelineDidNotRunError:
    if dry_run:
      print("Dry run: the pipeline was translated into a job; nothing was submitted or written.")
      return 0
    raise
  except Exception as error:  # pylint: disable=broad-except
    message = explain(error)
    if message is None:
      raise
    print(f"error: {message}", file=sys.stderr)
    return 2
  finally:
    progress.stop()
  seconds = time.time() - started
  report = json.loads((builder.data_path / "build_report.json").read_text())
  print(summarize(report, seconds, os.fspath(builder.data_path)), flush=True)
  return 0
