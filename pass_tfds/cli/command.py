"""`pass-tfds-build` / `beam_runner.py`: build PASS with Beam, locally (DirectRunner), on Dask or on Dataflow.

    pass-tfds-build --data_dir D [--manual_dir M] [--config NAME] [Beam flags...]

Flags this command does not know are Beam pipeline options. With no `--runner`
the build runs on the DirectRunner in multi_processing mode, one worker per
core. `--runner=DaskRunner --dask_client_address=HOST:PORT` runs it on a Dask
cluster; without an address, on a local cluster it starts (`--dask_workers`).
`--runner=DataflowRunner --project P --region R --temp_location gs://...`
submits a Dataflow job, staging this package for the workers. `preflight`
checks everything before anything is created.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import posixpath
import shutil
import signal
import sys
import time
import traceback
from typing import Any, Sequence

from pass_tfds.cli import failures, flag_checks, preflight
from pass_tfds.dataset import source_checks, sources
from pass_tfds.pipeline import gc_tuning, plan
from pass_tfds.cli.console import Console
from pass_tfds.errors import UsageError
from pass_tfds.pipeline.progress import Progress

PROGRAM = "pass-tfds-build"


class _Parser(argparse.ArgumentParser):
  """Reports a bad flag as a `UsageError` (one `error:` line), not usage text."""

  def error(self, message: str):
    raise UsageError(message)


def make_parser(program: str = PROGRAM) -> argparse.ArgumentParser:
  parser = _Parser(
      prog=program,
      description="Build the pass_dataset TFDS dataset with Apache Beam. Unknown flags are"
      " passed to Beam as pipeline options (e.g. --runner=DataflowRunner). Every flag and"
      " source file is checked before anything is created.",
      allow_abbrev=False,  # --checksum is a typo, not --checksums.
  )
  parser.add_argument("--data_dir", required=True, help="Where TFDS datasets live (local or gs://).")
  parser.add_argument(
      "--manual_dir",
      help="Folder (local or gs://) holding PASS.0.tar ... PASS.9.tar and pass_metadata.csv."
      " Without it the files are downloaded from Zenodo (178.5 GB) into --data_dir/downloads.",
  )
  parser.add_argument(
      "--config", default="full",
      help="full (default), short_side_256, short_side_64; a comma-separated list of them, or all:"
      " one pipeline reads every archive once and publishes each config as its own dataset.")
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
  parser.add_argument("--num_shards", type=flag_checks.positive_int,
                      help="Force the number of shards (at least 1).")
  parser.add_argument("--overwrite", action="store_true", help="Delete an existing build first.")
  parser.add_argument(
      "--range_mb", default=f"{plan.DEFAULT_RANGE_BYTES / (1 << 20):g}",
      help="The most MiB of one archive a shard reads (default %(default)s): each archive is cut"
      " into byte ranges of at most this size, read front to back in parallel.",
  )
  parser.add_argument(
      "--allow_missing_metadata", action="store_true",
      help="Publish even when over 1%% of the images have no row in pass_metadata.csv.",
  )
  parser.add_argument(
      "--dask_workers", type=flag_checks.positive_int, metavar="N",
      help="With --runner=DaskRunner and no --dask_client_address: start a local Dask cluster of"
      " N worker processes for the build (default: one per CPU) and close it after. A cluster"
      " named by --dask_client_address=HOST:PORT must see --data_dir and --manual_dir at the"
      " same paths (a shared filesystem), or use gs:// folders.",
  )
  parser.add_argument("--verbose", action="store_true",
                      help="Show everything on stderr, full tracebacks included.")
  return parser


def parse_args(argv: Sequence[str] | None,
               program: str = PROGRAM) -> tuple[argparse.Namespace, list[str]]:
  """Our flags, and the rest (Beam's), after checking that the rest are Beam's."""
  parser = make_parser(program)
  args, extra = parser.parse_known_args(argv)
  ours = [option for action in parser._actions for option in action.option_strings]
  flag_checks.check_unknown_flags(extra, [flag for flag in ours if flag.startswith("--")], program)
  return args, extra


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


def human_bytes(count: float) -> str:
  for unit in ("bytes", "KB", "MB", "GB"):
    if count < 1000:
      return f"{count:,.0f} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
    count /= 1000
  return f"{count:,.1f} TB"


def disk_full_message(data_dir: str, needed: int, path: str | None) -> str:
  where = path or data_dir
  disk = ""
  if not source_checks.is_remote(data_dir):
    probe = os.path.abspath(data_dir)
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
      probe = os.path.dirname(probe)
    try:
      disk = f" (a disk of {human_bytes(shutil.disk_usage(probe).total)} in all)"
    except OSError:
      pass
  need = f" This build needs about {human_bytes(needed)} (the size of its sources)." if needed else ""
  return (
      f"the disk is full: no space left writing {where}{disk}.{need} Free space there or"
      " choose another --data_dir, then run the same command again."
  )


def _build(request: preflight.BuildRequest, context: dict[str, Any]) -> int:
  for config in request.reused_configs:
    print(f"pass_dataset/{config} is already built in {request.for_config(config).data_path}: reused"
          " as it is, nothing was built. To build it again, add --overwrite.", flush=True)
  if request.already_built:
    return 0

  import tensorflow_datasets as tfds

  import pass_tfds  # noqa: F401  (registers pass_dataset)

  builder = tfds.builder("pass_dataset", **request.builder_kwargs())
  with contextlib.ExitStack() as stack:
    beam_flags = list(request.beam_flags)
    if request.dask_workers:
      from pass_tfds.cli import dask_cluster

      print(f"Starting a local Dask cluster of {request.dask_workers} worker processes.", flush=True)
      address = stack.enter_context(dask_cluster.local_cluster(request.dask_workers))
      beam_flags.append(f"--dask_client_address={address}")
    return _run(request, builder, beam_flags, context)


def _run(request: preflight.BuildRequest, builder: Any, beam_flags: list[str],
         context: dict[str, Any]) -> int:
  import tensorflow_datasets as tfds
  from apache_beam.options.pipeline_options import PipelineOptions

  from pass_tfds.dataset.pass_dataset import PipelineDidNotRunError

  context["disk_full"] = lambda path: disk_full_message(
      request.data_dir, preflight.sources_size(request.manual_dir, request.names, request.checksums_path), path)
  download_config = tfds.download.DownloadConfig(
      manual_dir=request.manual_dir,
      beam_options=PipelineOptions(beam_flags),
      num_shards=request.num_shards,
      download_mode=(
          tfds.download.GenerateMode.REUSE_CACHE_IF_EXISTS
          if request.overwrite else tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS
      ),
  )
  names = ", ".join(f"pass_dataset/{config}" for config in request.configs)
  together = " (one pipeline, every archive read once)" if request.companions else ""
  print(f"Building {names}{together} with Beam flags: {' '.join(beam_flags)}", flush=True)
  if request.dry_run:
    try:
      builder.download_and_prepare(download_config=download_config)
    except PipelineDidNotRunError:
      print("Dry run: the pipeline was translated into a job; nothing was submitted or written.")
      return 0
    raise UsageError("--dry_run=True: the runner ran the pipeline instead of translating it.")
  started = time.time()
  context["started"] = started
  progress = Progress(builder.work_dir())
  progress.start()
  try:
    builder.download_and_prepare(download_config=download_config)
  finally:
    progress.stop()
  seconds = time.time() - started
  for config in request.configs:
    data_path = os.fspath(builder.data_path) if config == request.config else request.for_config(config).data_path
    report = json.loads(_read_text(posixpath.join(data_path, "build_report.json")))
    print(summarize(report, seconds, data_path), flush=True)
  return 0


def _read_text(path: str) -> str:
  from etils import epath

  return epath.Path(path).read_text()


def _mute_on_ctrl_c(console: Console) -> None:
  """On Ctrl-C, Beam's workers print tracebacks at once: mute them, then stop as usual."""

  def interrupted(signum, frame):
    console.mute()
    raise KeyboardInterrupt

  try:
    signal.signal(signal.SIGINT, interrupted)
  except ValueError:  # Not the main thread: keep Python's handler.
    pass


def main(argv: Sequence[str] | None = None, repo_dir: str | None = None,
         program: str = PROGRAM) -> int:
  """Runs a build; every failure ends as one `error:` line on stderr (exit 2, or 130 on Ctrl-C).

  `program`: the command's name in `--help` and messages (`beam_runner.py` passes its own).
  """
  argv = list(sys.argv[1:] if argv is None else argv)
  gc_tuning.freeze_objects_alive_now()  # Beam and TFDS are imported by now.
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  console = Console(verbose="--verbose" in argv)
  context: dict[str, Any] = {}
  with console:
    _mute_on_ctrl_c(console)
    # force: a library may have configured logging while being imported.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s",
                        force=True)
    for noisy in ("apache_beam", "absl", "tensorflow"):
      logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
      args, extra = parse_args(argv, program)
      context["remote"] = preflight.remote_folder(args.data_dir, args.manual_dir)
      status = _build(preflight.check(args, extra, program, repo_dir), context)
    except SystemExit:
      raise
    except BaseException as error:  # pylint: disable=broad-except  (KeyboardInterrupt too)
      console.mute()
      console.log("".join(traceback.format_exception(error)))
      disk_full = context.get("disk_full") or (lambda path: disk_full_message(".", 0, path))
      failure = failures.describe(error, disk_full, context.get("remote"))
      line = f"error: {failure.message}"
      if not failure.plain and ("started" in context or not failure.expected):
        line += f" (full log: {console.log_path})"
      console.say(line)
      return failure.exit_code
  console.discard()
  return status
