"""The local Beam defaults shared by `beam_runner.py` and `tfds build`, and the runners we know.

With no runner named, a build runs on the DirectRunner in multi_processing mode
with one worker per available CPU, and Beam's workers log warnings only. The
DirectRunner itself would first try Beam's Prism runner, downloading it from
the network; `local_runner` runs the pipeline where the DirectRunner ends up
for a batch pipeline like this one, Beam's FnApiRunner, without that detour.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

from pass_tfds.cli import cpus


@dataclasses.dataclass(frozen=True)
class Runner:
  """A Beam runner this project builds on."""

  path: str  # What Beam imports for it.
  shares_disk: bool  # Its workers see this machine's files: local --data_dir/--manual_dir work.


_BEAM = "apache_beam.runners."
# The runners `--runner` accepts, by the short name people type. A runner whose workers
# see this machine's disk (this machine, or a cluster on a shared filesystem) takes local
# paths; the others need gs:// folders.
RUNNERS = {
    "DirectRunner": Runner(_BEAM + "direct.direct_runner.DirectRunner", True),
    "BundleBasedDirectRunner": Runner(_BEAM + "direct.direct_runner.BundleBasedDirectRunner", True),
    "SwitchingDirectRunner": Runner(_BEAM + "direct.direct_runner.SwitchingDirectRunner", True),
    "DataflowRunner": Runner(_BEAM + "dataflow.dataflow_runner.DataflowRunner", False),
    "DaskRunner": Runner(_BEAM + "dask.dask_runner.DaskRunner", True),
    "FlinkRunner": Runner(_BEAM + "portability.flink_runner.FlinkRunner", False),
    "SparkRunner": Runner(_BEAM + "portability.spark_runner.SparkRunner", False),
    "PortableRunner": Runner(_BEAM + "portability.portable_runner.PortableRunner", False),
}
DIRECT_RUNNERS = ("DirectRunner", "BundleBasedDirectRunner", "SwitchingDirectRunner")
DASK_RUNNER = "DaskRunner"
# Where the DaskRunner finds its cluster (the option names as typed, and as Beam stores them).
# Without either, `beam_runner.py` starts a local cluster (see `dask_cluster`).
DASK_CLUSTER_OPTIONS = ("dask_client_address", "dask_scheduler_file", "address", "scheduler_file")
# How the DaskRunner cuts a Create into dask.bag partitions. Left to it, ~1,000 pieces make
# ~9 partitions of 128 (max(128, sqrt(n) / 10)), and it reads Reshuffle as a no-op: 9 tasks
# for the whole build. One piece per partition spreads them over every worker.
_DASK_PARTITION_OPTIONS = ("dask_partition_size", "dask_npartitions", "partition_size", "npartitions")


def runner_name(value: str | None) -> str | None:
  """The `RUNNERS` key that `--runner=value` names, as Beam resolves names; None if none does.

  Beam takes a name in any case, without its `Runner` suffix, or a class's dotted path.
  """
  if value is None:
    return "DirectRunner"
  by_lower = {name.lower(): name for name in RUNNERS}
  by_path = {runner.path: name for name, runner in RUNNERS.items()}
  return (by_lower.get(value.lower()) or by_lower.get(value.lower() + "runner")
          or by_path.get(value))


def is_local(runner: str | None) -> bool:
  """Whether `runner` (a pipeline option value) is the DirectRunner, which takes our local defaults."""
  return runner_name(runner) in DIRECT_RUNNERS


def shares_disk(runner: str | None) -> bool:
  """Whether `runner`'s workers see this machine's files (an unknown runner: no)."""
  name = runner_name(runner)
  return name is not None and RUNNERS[name].shares_disk


def is_dask(runner: str | None) -> bool:
  """Whether `runner` (a pipeline option value) is the DaskRunner."""
  return runner is not None and runner_name(runner) == DASK_RUNNER


# Less work than this builds in one process (Beam's in_memory mode): a worker process per CPU,
# each importing Beam and this package, costs more than the other CPUs save on so little work.
# Work: archive bytes per config, a resized config's weighing RESIZE_WEIGHT times a copied one's
# (decode, resize, encode every image). benchmarks/results/small_builds.md: one process took
# 0.65x the workers' wall for `full` on 80 MB and 0.71x on 320 MB; 1.03x for `short_side_256`
# on 80 MB and 1.54x on 320 MB.
SMALL_BUILD_BYTES = 512 * 2**20
RESIZE_WEIGHT = 8


def build_work(source_bytes: int, short_sides: Sequence[int | None]) -> int:
  """The work of building configs with these `short_side`s (None: `full`) from `source_bytes`."""
  return source_bytes * sum(1 if side is None else RESIZE_WEIGHT for side in short_sides)


def local_defaults(named: set[str], runner: str | None, source_bytes: int | None = None) -> dict[str, Any]:
  """Options to add, given the option names set explicitly, the runner and the sources' size.

  The DirectRunner: worker processes, one per CPU; in one process when the
  build's work (`source_bytes`, see `build_work`) is known to be under
  `SMALL_BUILD_BYTES`. The DaskRunner: one piece per dask.bag
  partition, unless a partitioning is named.
  """
  defaults: dict[str, Any] = {}
  if runner is None:
    defaults["runner"] = "DirectRunner"
  if is_dask(runner):
    if not named.intersection(_DASK_PARTITION_OPTIONS):
      defaults["dask_partition_size"] = 1
    return defaults
  if not is_local(runner):
    return defaults
  wanted: dict[str, Any] = {"default_sdk_harness_log_level": "WARNING"}
  if "direct_running_mode" not in named:  # Else the user picked a mode; Beam's worker default fits it.
    small = (source_bytes is not None and source_bytes < SMALL_BUILD_BYTES
             and "direct_num_workers" not in named)
    wanted["direct_running_mode"] = "in_memory" if small else "multi_processing"
    if not small:
      wanted["direct_num_workers"] = cpus.available_cpus()
  defaults.update((name, value) for name, value in wanted.items() if name not in named)
  return defaults


def flag_names(flags: Sequence[str]) -> set[str]:
  """Option names in command-line flags (`--name=value` or `--name value`)."""
  return {flag[2:].split("=", 1)[0] for flag in flags if flag.startswith("--")}


def _runner(options: Any) -> str | None:
  from apache_beam.options.pipeline_options import StandardOptions

  runner = options.view_as(StandardOptions).runner
  return runner if runner is None or isinstance(runner, str) else type(runner).__name__


def _as_flags(added: Mapping[str, Any]) -> list[str]:
  return [f"--{name}={value}" for name, value in added.items()]


def with_local_flags(flags: Sequence[str], source_bytes: int | None = None) -> list[str]:
  """`flags` plus the local defaults (the DirectRunner's or the DaskRunner's), as command-line flags."""
  from apache_beam.options.pipeline_options import PipelineOptions

  added = local_defaults(flag_names(flags), _runner(PipelineOptions(list(flags))), source_bytes)
  return list(flags) + _as_flags(added)


def with_local_options(options: Any | None, runner: Any | None = None,
                       source_bytes: int | None = None) -> Any | None:
  """`options` (a PipelineOptions, or None) with the local defaults filled in.

  Left alone when a runner object is given (`DownloadConfig.beam_runner`).
  """
  if runner is not None:
    return options
  from apache_beam.options.pipeline_options import PipelineOptions

  options = options if options is not None else PipelineOptions([])
  # Named: the flags it was made from, and options set to other values than Beam's defaults.
  flags = list(getattr(options, "_flags", None) or [])
  values = options.get_all_options(drop_default=True, retain_unknown_options=True)
  added = local_defaults(flag_names(flags) | set(values), _runner(options), source_bytes)
  if not added:
    return options
  return PipelineOptions(flags + _as_flags(added), **values)


def is_dry_run(options: Any | None) -> bool:
  """Whether Beam `options` ask to translate the job only (`--dry_run=True`)."""
  if options is None:
    return False
  from apache_beam.options.pipeline_options import TestOptions

  return bool(options.view_as(TestOptions).dry_run)


# The names of Beam's SwitchingDirectRunner, which tries the Prism runner first.
_SWITCHING_RUNNERS = ("DirectRunner", "SwitchingDirectRunner")


def local_runner(options: Any) -> Any | None:
  """A runner object for `options` if they name the DirectRunner, else None (Beam picks).

  Beam's DirectRunner (`SwitchingDirectRunner`) first tries the Prism runner,
  which it downloads ("Running pipeline with PrismRunner." / "Downloading prism
  from https://..." / "Falling back to DirectRunner"), then runs a batch
  pipeline on the FnApiRunner: `FnApiDirectRunner` is that last step alone.
  """
  runner = _runner(options)
  if runner is None or runner_name(runner) not in _SWITCHING_RUNNERS:
    return None
  from pass_tfds.cli.local_runner import FnApiDirectRunner

  return FnApiDirectRunner()
