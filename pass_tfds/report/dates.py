"""`dates.png`: images per year taken; undated images are counted in the title."""

from __future__ import annotations

import numpy as np
from matplotlib import ticker as mticker

from pass_tfds.report import figures
from pass_tfds.report.examples import Examples
from pass_tfds.report.summary import Summary, year_range


def plot_dates(examples: Examples, summary: Summary, path: str) -> str:
  figure = figures.new_figure(9, 5)
  axes = figure.add_subplot()
  per_year = summary.images_per_year
  dated = summary.num_read - summary.num_undated
  if per_year:
    first, last = year_range(per_year)
    years = np.arange(first, last + 1)
    counts = np.array([per_year.get(int(year), 0) for year in years])
    axes.bar(years, counts, width=0.8, color="tab:orange")
    span = len(years)
    step = 1 if span <= 16 else 2 if span <= 32 else 5 if span <= 80 else 10
    ticks = [int(year) for year in years if year % step == 0] or [int(years[0])]
    labels = [str(year) for year in ticks]
    left, right = first - 0.7, last + 0.7
    before = sum(count for year, count in per_year.items() if year < first)
    after = sum(count for year, count in per_year.items() if year > last)
    if before:
      position = first - 1.5
      bars = axes.bar([position], [before], width=0.8, color="0.6")
      axes.bar_label(bars, labels=[f"{before:,}"], fontsize=8, color="0.3")
      ticks.insert(0, position)
      labels.insert(0, f"< {first}")
      left = position - 0.7
    if after:
      position = last + 1.5
      bars = axes.bar([position], [after], width=0.8, color="0.6")
      axes.bar_label(bars, labels=[f"{after:,}"], fontsize=8, color="0.3")
      ticks.append(position)
      labels.append(f"> {last}")
      right = position + 0.7
    axes.set_xticks(ticks)
    axes.set_xticklabels(labels, rotation=45 if len(ticks) > 12 else 0)
    axes.set_xlim(left, right)
    axes.margins(y=0.08)
  else:
    axes.text(0.5, 0.5, "no image has a date taken", ha="center", va="center",
              transform=axes.transAxes, color="0.4")
    axes.set_xticks([])
  axes.yaxis.get_major_locator().set_params(integer=True)
  axes.yaxis.set_major_formatter(mticker.FuncFormatter(lambda value, _: f"{value:,.0f}"))
  if summary.num_read:
    title = (
        f"Year taken: {dated:,} dated, {summary.num_undated:,}"
        f" ({summary.undated_share:.1%}) without a date\n({figures.sample_note(summary)})"
    )
  else:
    title = "Year taken: no images"
  axes.set_title(title, fontsize=11)
  axes.set_xlabel("year taken")
  axes.set_ylabel("images")
  axes.grid(True, axis="y", lw=0.4, alpha=0.5)
  return figures.save(figure, path)
