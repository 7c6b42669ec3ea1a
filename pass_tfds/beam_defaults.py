"""The local Beam defaults shared by `beam_runner.py` and `tfds build`.

With no runner named, a build runs on the DirectRunner in multi_processing mode
with one worker per available CPU, and Beam's workers log warnings only. The
DirectRunner itself would first try Beam's Prism runner, downloading it from
the network; `local_runner` runs the pipeline where the DirectRunner ends up
for a batch pipeline like this one, Beam's FnApiRunner, without that detour.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from pass_tfds import cpus

DIRECT_RUNNERS = ("DirectRunner", "direct", "BundleBasedDirectRunner")
# The names of Beam's SwitchingDirectRunner, which tries the Prism runner first.
_SWITCHING_RUNNERS = ("DirectRunner", "direct", "SwitchingDirectRunner")


def is_local(runner: str | None) -> bool:
  """Whether `runner` (a pipeline option value) runs on this machine."""
  return runner is None or runner in DIRECT_RUNNERS or runner.endswith(".DirectRunner")


def local_defaults(named: set[str], runner: str | None) -> dict[str, Any]:
  """Options to add, given the option names set explicitly and the runner."""
  defaults: dict[str, Any] = {}
  if runner is None:
    defaults["runner"] = "DirectRunner"
  if not is_local(runner):
    return defaults
  wanted = {
      "direct_running_mode": "multi_processing",
      "direct_num_workers": cpus.available_cpus(),
      "default_sdk_harness_log_level": "WARNING",
  }
  if "direct_running_mode" in named:
    wanted.pop("direct_num_workers")  # The user picked a mode; Beam's worker default fits it.
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


def with_local_flags(flags: Sequence[str]) -> list[str]:
  """`flags` plus the local defaults, as command-line flags."""
  from apache_beam.options.pipeline_options import PipelineOptions

  added = local_defaults(flag_names(flags), _runner(PipelineOptions(list(flags))))
  return list(flags) + _as_flags(added)


def with_local_options(options: Any | None, runner: Any | None = None) -> Any | None:
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
  added = local_defaults(flag_names(flags) | set(values), _runner(options))
  if not added:
    return options
  return PipelineOptions(flags + _as_flags(added), **values)


def local_runner(options: Any) -> Any | None:
  """A runner object for `options` if they name the DirectRunner, else None (Beam picks).

  Beam's DirectRunner (`SwitchingDirectRunner`) first tries the Prism runner,
  which it downloads ("Running pipeline with PrismRunner." / "Downloading prism
  from https://..." / "Falling back to DirectRunner"), then runs a batch
  pipeline on the FnApiRunner: `FnApiDirectRunner` is that last step alone.
  """
  runner = _runner(options)
  if runner is None or not (runner in _SWITCHING_RUNNERS or runner.endswith(".DirectRunner")):
    return None
  from pass_tfds.local_runner import FnApiDirectRunner

  return FnApiDirectRunner()
