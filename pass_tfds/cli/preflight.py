"""The command line's pre-flight: what was typed becomes one checked `BuildRequest`.

`check` runs every check of the flags, the runner, the data dir and the manual
dir's files once, in that order, before any folder, lock or download exists;
the first failure is one `UsageError` or `SourceError` line. The builder is then
made from the request and told that its sources were checked, so it does not
check them again.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import posixpath
from typing import Any, Sequence

from pass_tfds.cli import beam_defaults, flag_checks
from pass_tfds.dataset import source_checks, sources
from pass_tfds.errors import UsageError

DATASET = "pass_dataset"
_PACKAGE_FLAGS = ("--setup_file", "--requirements_file", "--extra_package", "--extra_packages",
                  "--sdk_container_image")


@dataclasses.dataclass(frozen=True)
class BuildRequest:
  """A build as asked for on the command line, every part of it checked."""

  program: str  # The command that was run, for messages: pass-tfds-build, beam_runner.py.
  data_dir: str
  manual_dir: str | None  # None: download from Zenodo.
  config: str
  version: str
  archives: tuple[str, ...]  # The archives to build from: all ten unless --archives.
  file_format: str
  checksums_path: str  # What the manual dir is checked against.
  verify: str
  strict: bool
  num_shards: int | None
  range_bytes: int
  allow_missing_metadata: bool
  overwrite: bool
  runner: str  # A `beam_defaults.RUNNERS` name.
  beam_flags: tuple[str, ...]  # Beam's flags, local defaults and packaging filled in.
  dry_run: bool
  already_built: bool  # The same build is in data_dir, and --overwrite was not given.
  dask_workers: int | None = None  # Worker processes of a local Dask cluster to start; None: none.
  companions: tuple[str, ...] = ()  # Configs built by the same pipeline (`--config all` or a list).
  reused_configs: tuple[str, ...] = ()  # Configs asked for that are already built: reused as they are.

  @property
  def configs(self) -> tuple[str, ...]:
    """The configs this request builds: `config` and its companions."""
    return (self.config,) + self.companions

  def for_config(self, config: str) -> BuildRequest:
    return dataclasses.replace(self, config=config, companions=())

  @property
  def names(self) -> tuple[str, ...]:
    """The source files: the archives and the metadata CSV."""
    return self.archives + (sources.METADATA_NAME,)

  @property
  def data_path(self) -> str:
    return posixpath.join(self.data_dir.rstrip("/"), DATASET, self.config, self.version)

  def builder_kwargs(self) -> dict[str, Any]:
    """`tfds.builder("pass_dataset", **kwargs)` for this build."""
    return dict(
        config=self.config,
        data_dir=self.data_dir,
        file_format=self.file_format,
        archives=self.archives,
        strict=self.strict,
        checksums_path=self.checksums_path,
        verify=self.verify,
        range_bytes=self.range_bytes,
        allow_missing_metadata=self.allow_missing_metadata,
        sources_checked=self.manual_dir is not None,
        companions=self.companions,
    )


def remote_folder(data_dir: str | None, manual_dir: str | None) -> str | None:
  """The first gs:// folder of a build, to name when it cannot be reached."""
  return next((path for path in (data_dir, manual_dir) if path and source_checks.is_remote(path)),
              None)


def _runner_flag(flags: Sequence[str]) -> str | None:
  value = None
  for i, flag in enumerate(flags):
    if flag.startswith("--runner="):
      value = flag.split("=", 1)[1]
    elif flag == "--runner" and i + 1 < len(flags):
      value = flags[i + 1]
  return value


def _with_runner(flags: Sequence[str], runner: str) -> list[str]:
  """`flags` with `--runner` as Beam can resolve it: our short name, or the class's path."""
  from apache_beam.options.pipeline_options import StandardOptions

  if runner in StandardOptions.KNOWN_RUNNER_NAMES:
    return list(flags)
  path = beam_defaults.RUNNERS[runner].path
  out, skip = [], False
  for flag in flags:
    if skip:
      out.append(path)
      skip = False
    elif flag.startswith("--runner="):
      out.append(f"--runner={path}")
    else:
      skip = flag == "--runner"
      out.append(flag)
  return out


def sources_size(manual_dir: str | None, names: Sequence[str], checksums_path: str | None) -> int:
  """Bytes of the build's source files: on disk in the manual dir, else as published."""
  from apache_beam.io.filesystems import FileSystems

  if manual_dir:
    paths = [posixpath.join(manual_dir, name) for name in names]
    found = [m for path in paths if FileSystems.exists(path)
             for m in FileSystems.match([path])[0].metadata_list]
    return sum(m.size_in_bytes for m in found)
  try:
    checksums = sources.read_checksums(checksums_path or sources.default_checksums_path())
  except Exception:  # pylint: disable=broad-except  (the size is a hint only)
    return 0
  return sum(checksums[name].size for name in names if name in checksums)


def beam_flags(extra: Sequence[str], runner: str, repo_dir: str | None,
               source_bytes: int | None = None) -> list[str]:
  """Beam flags with local defaults filled in (`source_bytes`: the work, see
  `beam_defaults.local_defaults`), and packaging for Dataflow."""
  flags = _with_runner(extra, runner)
  names = {flag.split("=", 1)[0] for flag in flags if flag.startswith("--")}
  if beam_defaults.is_local(runner) or runner == beam_defaults.DASK_RUNNER:
    return beam_defaults.with_local_flags(flags, source_bytes)
  if runner == "DataflowRunner" and not names.intersection(_PACKAGE_FLAGS):
    pyproject = os.path.join(repo_dir or "", "pyproject.toml")
    if repo_dir and os.path.exists(pyproject):
      flags.append(f"--setup_file={pyproject}")
    else:
      raise UsageError(
          "Dataflow workers need this package: pass --extra_package"
          " dist/pass_tfds-3.0.0-py3-none-any.whl (build it with `python -m build`), or run"
          " beam_runner.py from a checkout of the repository."
      )
  return flags


def _dry_run(flags: Sequence[str]) -> bool:
  from apache_beam.options.pipeline_options import PipelineOptions, TestOptions

  return bool(PipelineOptions(list(flags)).view_as(TestOptions).dry_run)


def existing_build(data_path: str) -> dict[str, Any] | None:
  """What a finished build in `data_path` was built as (file format, archives); None if none.

  Read as TFDS reads it (local or gs://); an unreachable gs:// folder raises here.
  """
  from etils import epath

  info_path = epath.Path(data_path) / "dataset_info.json"
  if not info_path.exists():
    return None
  info = json.loads(info_path.read_text())
  metadata_path = epath.Path(data_path) / "metadata.json"
  metadata = json.loads(metadata_path.read_text()) if metadata_path.exists() else {}
  return {"file_format": info.get("fileFormat") or "tfrecord",
          "archives": tuple(metadata.get("archives", ()))}


def check_existing_build(request: BuildRequest) -> bool:
  """Whether the same build is already in the data dir; refuses one in another file format.

  TFDS cannot open a folder in another format than its build's (not even to
  overwrite it): "File format is already set to ...".
  """
  found = existing_build(request.data_path)
  if found is None:
    return False
  if found["file_format"] != request.file_format:
    overwrite = " (--overwrite cannot change a build's file format)" if request.overwrite else ""
    raise UsageError(
        f"{request.data_path} already holds a {found['file_format']} build of"
        f" {DATASET}/{request.config}{overwrite}: use another --data_dir or delete it to build"
        f" --file_format {request.file_format}."
    )
  return not request.overwrite and found["archives"] == request.archives


ALL_CONFIGS = "all"


def requested_configs(value: str, valid: Sequence[str]) -> tuple[str, ...]:
  """`--config`: one name, a comma-separated list, or `all`; in the builder's order."""
  names = list(valid) if value == ALL_CONFIGS else [name.strip() for name in value.split(",") if name.strip()]
  if not names:
    raise UsageError(f"--config {value!r} names no config: use one of {', '.join(valid)}, a list of"
                     f" them separated by commas, or {ALL_CONFIGS}.")
  for name in names:
    flag_checks.check_config(name, valid)
  return tuple(name for name in valid if name in names)


def check(args: argparse.Namespace, extra: Sequence[str], program: str,
          repo_dir: str | None) -> BuildRequest:
  """Every flag and source checked once, cheapest first; nothing is created."""
  archives = sources.select_archives(flag_checks.check_archives(args.archives))
  range_bytes = flag_checks.range_bytes(args.range_mb)
  flag_checks.check_num_shards(args.num_shards, len(archives))
  from pass_tfds.dataset.pass_dataset import PassDataset

  configs = requested_configs(args.config, [config.name for config in PassDataset.BUILDER_CONFIGS])
  runner = flag_checks.check_runner(_runner_flag(extra))
  checksums_path = args.checksums or sources.default_checksums_path()
  work_bytes = None  # For the local defaults: a small build from local files runs in one process.
  if beam_defaults.is_local(runner) and args.manual_dir and not source_checks.is_remote(args.manual_dir):
    short_sides = [PassDataset.builder_configs[config].short_side for config in configs]
    work_bytes = beam_defaults.build_work(sources_size(args.manual_dir, archives, checksums_path),
                                          short_sides) or None
  flags = beam_flags(extra, runner, repo_dir, work_bytes)
  dry_run = _dry_run(flags)
  if dry_run and runner != "DataflowRunner":
    raise UsageError(f"--dry_run=True translates a Dataflow job; {runner} would run the build:"
                     " add --runner=DataflowRunner, or drop --dry_run.")
  if dry_run and not args.manual_dir:
    raise UsageError("--dry_run=True translates a build from a manual dir: pass --manual_dir"
                     " (a dry run downloads nothing).")
  flag_checks.check_runner_paths(runner, args.data_dir, args.manual_dir, dry_run)
  dask_workers = flag_checks.check_dask_cluster(runner, args.dask_workers, flags)
  flag_checks.check_writable_dir("--data_dir", args.data_dir)
  request = BuildRequest(
      program=program,
      data_dir=args.data_dir,
      manual_dir=args.manual_dir,
      config=configs[0],
      version=str(PassDataset.VERSION),
      archives=archives,
      file_format=args.file_format,
      checksums_path=checksums_path,
      verify=args.verify,
      strict=args.strict,
      num_shards=args.num_shards,
      range_bytes=range_bytes,
      allow_missing_metadata=args.allow_missing_metadata,
      overwrite=args.overwrite,
      runner=runner,
      beam_flags=tuple(flags),
      dry_run=dry_run,
      already_built=False,
      dask_workers=dask_workers,
  )
  built = tuple(config for config in configs if check_existing_build(request.for_config(config)))
  to_build = [config for config in configs if config not in built]
  if not to_build:
    return dataclasses.replace(request, already_built=True, reused_configs=built)
  request = dataclasses.replace(request, config=to_build[0], companions=tuple(to_build[1:]),
                                reused_configs=built)
  if args.manual_dir:
    source_checks.check_manual_sources(
        args.manual_dir, request.names, request.checksums_path, request.verify, program)
  return request
