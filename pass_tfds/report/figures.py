"""What every picture shares: a figure at a fixed DPI, saving it, the note on sampling."""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pass_tfds.report import fonts
from pass_tfds.report.summary import Summary

DPI = 110


def new_figure(width: float, height: float) -> Figure:
  figure = Figure(figsize=(width, height), dpi=DPI)
  FigureCanvasAgg(figure)
  return figure


def save(figure: Figure, path: str) -> str:
  with fonts.quiet_missing_glyphs():
    figure.tight_layout()
    figure.savefig(path, dpi=DPI, facecolor="white")
  return path


def sample_note(summary: Summary, what: str = "images") -> str:
  if summary.sampled:
    return f"{summary.num_read:,} {what} sampled evenly from {summary.num_in_split:,}"
  return f"{summary.num_read:,} {what}"
