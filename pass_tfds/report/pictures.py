"""Writing the four PNGs of a report, and the numbers behind them."""

from __future__ import annotations

import dataclasses
import os

from pass_tfds.report.dates import plot_dates
from pass_tfds.report.examples import DEFAULT_MAX_EXAMPLES, Examples, load_examples
from pass_tfds.report.gps import plot_gps
from pass_tfds.report.grid import plot_examples
from pass_tfds.report.resolutions import plot_resolutions
from pass_tfds.report.summary import Summary, summarize

_PLOTTERS = {
    "examples": plot_examples,
    "resolutions": plot_resolutions,
    "dates": plot_dates,
    "gps": plot_gps,
}
PICTURES = tuple(_PLOTTERS)


@dataclasses.dataclass(frozen=True)
class Report:
  """The pictures written ({picture name: PNG path}) and the numbers they show."""

  paths: dict[str, str]
  summary: Summary


def write_pictures(examples: Examples, out_dir: str) -> Report:
  """Writes the four PNGs for `examples` into `out_dir`."""
  os.makedirs(out_dir, exist_ok=True)
  summary = summarize(examples)
  paths = {name: plot(examples, summary, os.path.join(out_dir, f"{name}.png"))
           for name, plot in _PLOTTERS.items()}
  return Report(paths, summary)


def write_report(
    data_dir: str,
    out_dir: str,
    config: str = "full",
    split: str = "train",
    max_examples: int = DEFAULT_MAX_EXAMPLES,
) -> Report:
  """Writes examples.png, resolutions.png, dates.png and gps.png into `out_dir`."""
  examples = load_examples(data_dir, config=config, split=split, max_examples=max_examples)
  return write_pictures(examples, out_dir)
