"""`resolutions.png`: original width against original height, one marker per distinct size."""

from __future__ import annotations

import numpy as np
from matplotlib import colors as mcolors
from matplotlib import ticker as mticker

from pass_tfds.report import figures
from pass_tfds.report.examples import Examples
from pass_tfds.report.summary import Summary


def plot_resolutions(examples: Examples, summary: Summary, path: str) -> str:
  figure = figures.new_figure(7.5, 6.5)
  axes = figure.add_subplot()
  widths, heights = examples.original_widths, examples.original_heights
  if len(examples):
    # Rare giants would squash everything else into a corner: the axes stop a
    # little past the 99.9th percentile, and the title says what lies beyond.
    largest = max(int(widths.max()), int(heights.max()), 1)
    typical = max(float(np.percentile(widths, 99.9)), float(np.percentile(heights, 99.9)), 1.0)
    limit = largest * 1.05 if largest <= typical * 1.5 else typical * 1.15
    beyond = int(np.sum((widths > limit) | (heights > limit)))
    # One marker per distinct size, coloured (and sized) by how many images have it.
    sizes, counts = np.unique(np.stack([widths, heights], axis=1), axis=0, return_counts=True)
    order = np.argsort(counts, kind="stable")
    sizes, counts = sizes[order], counts[order]
    if counts.max() == 1:
      axes.scatter(sizes[:, 0], sizes[:, 1], s=14, alpha=0.7, color="tab:blue",
                   edgecolors="none", zorder=3, label="image (all sizes distinct)")
    else:
      norm = mcolors.LogNorm(vmin=1, vmax=int(counts.max()))
      points = axes.scatter(sizes[:, 0], sizes[:, 1], c=counts, norm=norm, cmap="viridis",
                            s=8 + 40 * np.sqrt(counts / counts.max()), alpha=0.85,
                            edgecolors="none", zorder=3)
      ticks = [m * 10**k for k in range(12) for m in (1, 2, 5) if m * 10**k <= counts.max()]
      bar = figure.colorbar(points, ax=axes, label="images of that exact size", shrink=0.85,
                            ticks=ticks)
      bar.ax.yaxis.set_major_formatter(mticker.FuncFormatter(lambda value, _: f"{value:,.0f}"))
      bar.ax.yaxis.set_minor_locator(mticker.NullLocator())
    axes.plot([0, limit], [0, limit], ls="--", lw=0.8, color="0.5", label="square")
    axes.plot([0, limit], [0, limit * 3 / 4], ls=":", lw=0.8, color="0.5", label="4:3 / 3:4")
    axes.plot([0, limit * 3 / 4], [0, limit], ls=":", lw=0.8, color="0.5")
    axes.set_xlim(0, limit)
    axes.set_ylim(0, limit)
    axes.legend(loc="upper right", fontsize=8)
    title = (
        f"Original size of {figures.sample_note(summary)}\n"
        f"median {summary.median_width:g} \u00d7 {summary.median_height:g} px"
        f" (width {widths.min()}\u2013{widths.max()}, height {heights.min()}\u2013{heights.max()})"
    )
    if beyond:
      title += f"\n{beyond:,} larger image{'s' if beyond > 1 else ''} beyond the axes"
  else:
    title = "Original size: no images"
  axes.set_aspect("equal", adjustable="box")
  axes.set_xlabel("original width (px)")
  axes.set_ylabel("original height (px)")
  axes.set_title(title, fontsize=11)
  axes.grid(True, lw=0.4, alpha=0.5)
  return figures.save(figure, path)
