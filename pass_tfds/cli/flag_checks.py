"""Checks of the command line's flags, each a pure function of what was typed.

Each failure is a `UsageError` naming the flag as typed and what to give instead.
`preflight` runs them, before anything is built or created.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import math
import os
import socket
import tempfile
from typing import Sequence

from pass_tfds.cli import beam_defaults, cpus
from pass_tfds.dataset import sources
from pass_tfds.pipeline import plan
from pass_tfds.errors import SourceError, UsageError
from pass_tfds.dataset.source_checks import is_remote

GCP_EXTRA = 'pip install "pass_tfds[gcp]"'
DASK_EXTRA = 'pip install "pass_tfds[dask]"'
_MIB = 1 << 20


def typed_name(flag: str) -> str:
  """`--name` of a command-line token `--name=value` or `--name`."""
  return flag.split("=", 1)[0]


def beam_option_names() -> set[str]:
  """Every Beam pipeline option's name (`temp_location`, `runner`, ...)."""
  from apache_beam.options.pipeline_options import PipelineOptions

  return set(PipelineOptions([]).get_all_options())


def wants_dask(flags: Sequence[str]) -> bool:
  """Whether `flags` name the DaskRunner or one of its options (`--dask_...`)."""
  runner = [flag.split("=", 1)[1] for flag in flags if flag.startswith("--runner=")]
  runner += [flags[i + 1] for i, flag in enumerate(flags[:-1]) if flag == "--runner"]
  return (any(beam_defaults.runner_name(value) == "DaskRunner" for value in runner)
          or any(flag.startswith("--dask_") for flag in flags))


def register_dask_options() -> None:
  """Makes Beam know the DaskRunner's options (`--dask_client_address`, ...), defined with it.

  Imported only when asked for: it imports dask.distributed.
  """
  try:
    import apache_beam.runners.dask.dask_runner  # noqa: F401
    import distributed  # noqa: F401  (the runner imports it lazily: a missing one shows late)
  except ImportError:
    raise UsageError(f"the DaskRunner needs Dask, which is not installed: run `{DASK_EXTRA}`.") from None


def unknown_beam_flags(flags: Sequence[str]) -> list[str]:
  """Flags in `flags`, as typed (`--name`), that are no Beam pipeline option.

  A name with a hyphen is one too: Beam drops `--temp-location` ("Discarding
  unparseable args") though it knows `--temp_location`. The DaskRunner's
  options are known once it is asked for.
  """
  from apache_beam.options.pipeline_options import PipelineOptions

  if wants_dask(flags):
    register_dask_options()
  beam_logger = logging.getLogger("apache_beam.options.pipeline_options")
  level = beam_logger.level
  beam_logger.setLevel(logging.ERROR)  # Beam's "Discarding unparseable args": said better below.
  try:
    options = PipelineOptions(list(flags))
    unknown = set(options.get_all_options(retain_unknown_options=True)) - beam_option_names()
  finally:
    beam_logger.setLevel(level)
  typed = [typed_name(flag) for flag in flags if flag.startswith("--")]
  found = [name for name in typed if "-" in name[2:] or name[2:].replace("-", "_") in unknown]
  return list(dict.fromkeys(found))


def check_unknown_flags(flags: Sequence[str], ours: Sequence[str], program: str) -> None:
  """Every flag is ours or Beam's; a near miss of ours says which one was meant."""
  for name in unknown_beam_flags(flags):
    underscored = "--" + name[2:].replace("-", "_")
    if underscored != name and (underscored in ours or underscored[2:] in beam_option_names()):
      raise UsageError(f"unknown flag {name}: did you mean {underscored}? (flags are written"
                       " with underscores)")
    close = difflib.get_close_matches(name, ours, n=1, cutoff=0.75)
    if close:
      raise UsageError(f"unknown flag {name}: did you mean {close[0]}?")
    raise UsageError(
        f"unknown flag {name}: it is neither a flag of {program} (see {program} --help) nor an"
        " Apache Beam pipeline option."
    )


def check_config(name: str, valid: Sequence[str]) -> None:
  if name in valid:
    return
  close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
  hint = f" (did you mean {close[0]}?)" if close else ""
  raise UsageError(
      f"--config {name} is not a config of pass_dataset{hint}: use one of {', '.join(valid)}."
  )


def check_archives(value: str | None) -> tuple[str, ...] | None:
  """The archive names `--archives` asks for; None for all."""
  if not value:
    return None
  names = [name.strip() for name in value.split(",") if name.strip()]
  try:
    sources.select_archives(names)
  except SourceError as error:
    raise UsageError(f"--archives {value}: {error}") from None
  return tuple(names)


def range_bytes(text: str) -> int:
  """`--range_mb` (MiB, a fraction allowed) as bytes: finite, and at least one tar block."""
  try:
    mib = float(text)
  except ValueError:
    mib = math.nan
  if not math.isfinite(mib) or mib * _MIB < plan.BLOCK:
    raise UsageError(
        f"--range_mb {text}: give the most MiB of an archive one shard reads, a finite number"
        f" of at least 1/{_MIB // plan.BLOCK} (one {plan.BLOCK}-byte tar block); the default is"
        f" {plan.DEFAULT_RANGE_BYTES / _MIB:g}."
    )
  return int(mib * _MIB)


def check_num_shards(num_shards: int | None, archives: int) -> None:
  """Each shard reads part of one archive: at least one shard per archive."""
  if num_shards is not None and num_shards < archives:
    raise UsageError(
        f"--num_shards {num_shards} is fewer than the {archives} archives of this build; each"
        f" shard reads part of one archive. Use --num_shards {archives} or more."
    )


def check_runner(value: str | None) -> str:
  """The known runner `--runner` names (see `beam_defaults.RUNNERS`)."""
  name = beam_defaults.runner_name(value)
  if name is not None:
    return name
  valid = list(beam_defaults.RUNNERS)
  close = difflib.get_close_matches(value or "", valid, n=1, cutoff=0.6)
  hint = f" (did you mean {close[0]}?)" if close else ""
  raise UsageError(f"--runner={value} is not a runner this build knows{hint}: use one of"
                   f" {', '.join(valid)}.")


def check_dask_cluster(runner: str, workers: int | None, flags: Sequence[str]) -> int | None:
  """The worker processes of the local Dask cluster to start; None: the build starts none.

  `--dask_workers N` asks for a local cluster; so does the DaskRunner with no
  cluster named (`--dask_client_address`, `--dask_scheduler_file`), with one
  worker per available CPU.
  """
  named = beam_defaults.flag_names(flags).intersection(beam_defaults.DASK_CLUSTER_OPTIONS)
  if runner != beam_defaults.DASK_RUNNER:
    if workers is not None:
      raise UsageError(f"--dask_workers starts a local Dask cluster for the DaskRunner, not for"
                       f" {runner}: add --runner=DaskRunner, or drop --dask_workers.")
    return None
  if named:
    if workers is not None:
      raise UsageError(f"--dask_workers starts a local Dask cluster, but --{sorted(named)[0]} names"
                       " a running one: give one of them.")
    for name in ("dask_client_address", "address"):
      address = _flag_value(flags, name)
      if address:
        check_dask_scheduler(f"--{name}", address)
    return None
  return workers or cpus.available_cpus()


def _flag_value(flags: Sequence[str], name: str) -> str | None:
  """The value of `--name=value` or `--name value` in `flags` (the last one given)."""
  value = None
  for i, flag in enumerate(flags):
    if flag.startswith(f"--{name}="):
      value = flag.split("=", 1)[1]
    elif flag == f"--{name}" and i + 1 < len(flags):
      value = flags[i + 1]
  return value


_SCHEDULER_TIMEOUT_S = 5


def check_dask_scheduler(flag: str, address: str) -> None:
  """A Dask scheduler answers at `address` (`[tcp://]host:port`): else one line, before anything
  is created, instead of the DaskRunner's 30 s wait and a traceback."""
  host_port = address.split("://", 1)[-1]
  host, _, port = host_port.rpartition(":")
  if not host or not port.isdigit():
    raise UsageError(f"{flag} {address}: a Dask scheduler's address is host:port (e.g."
                     " tcp://10.0.0.5:8786, what Client.scheduler.address or `dask scheduler` prints).")
  try:
    socket.create_connection((host.strip("[]"), int(port)), timeout=_SCHEDULER_TIMEOUT_S).close()
  except OSError as error:
    raise UsageError(
        f"{flag} {address}: no Dask scheduler answers there ({error.strerror or error}): start the"
        " cluster first and pass the address its scheduler prints, or use --dask_workers N for a"
        " local cluster on this machine.") from None


def _nearest_existing(path: str) -> str:
  probe = os.path.abspath(path)
  while not os.path.exists(probe) and os.path.dirname(probe) != probe:
    probe = os.path.dirname(probe)
  return probe


def check_local_dir(flag: str, path: str) -> None:
  """A local folder path does not run through a regular file (it need not exist yet)."""
  if is_remote(path):
    return
  probe = _nearest_existing(path)
  if not os.path.isdir(probe):
    what = "is" if probe == os.path.abspath(path) else f"runs through {probe}, which is"
    raise UsageError(f"{flag} {path} {what} a file, not a folder: choose another {flag}.")


def check_writable_dir(flag: str, path: str) -> None:
  """A local folder can be created and written in: tried in its nearest existing folder.

  The probe is a temporary folder, removed at once: nothing is left behind.
  """
  if is_remote(path):
    return
  check_local_dir(flag, path)
  probe = _nearest_existing(path)
  try:
    os.rmdir(tempfile.mkdtemp(prefix=".pass_tfds-probe-", dir=probe))
  except OSError as error:
    where = "" if probe == os.path.abspath(path) else f" (nothing can be created in {probe})"
    raise UsageError(
        f"{flag} {path} is not writable{where}: {error.strerror}. Choose a folder you can"
        f" write to for {flag}."
    ) from None


def check_runner_paths(runner: str, data_dir: str, manual_dir: str | None, dry_run: bool) -> None:
  """A runner whose workers do not share this disk needs gs:// folders, and Beam's gs:// support."""
  if beam_defaults.shares_disk(runner):
    return
  if not dry_run:  # A dry run translates the job and writes nothing.
    for flag, path in (("--data_dir", data_dir), ("--manual_dir", manual_dir)):
      if path and not is_remote(path):
        raise UsageError(
            f"{flag} {path} is a local path, which {runner} workers cannot see: give a"
            f" gs:// folder for {flag}."
        )
  try:
    from apache_beam.io.gcp import gcsio  # noqa: F401
    from google.cloud import storage  # noqa: F401
  except ImportError:
    raise UsageError(
        f"--runner={runner} needs apache-beam's Google Cloud support, which is not installed:"
        f" run `{GCP_EXTRA}`."
    ) from None


def positive_int(text: str) -> int:
  """argparse type for counts such as --num_shards."""
  try:
    value = int(text)
  except ValueError:
    value = 0
  if value < 1:
    raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text}")
  return value
