"""Pictures of a built `pass_dataset`: example images, sizes, dates and GPS positions.

    python -m pass_tfds.report --data_dir D [--config full] [--split train] \
        [--out DIR] [--max_examples 20000]

writes four PNGs into DIR:

* `examples.png`: a 4x4 grid of images captioned with creator, date taken and
  original width x height;
* `resolutions.png`: original width against original height;
* `dates.png`: images per year taken, undated images counted in the title;
* `gps.png`: the GPS positions on a longitude/latitude graticule.

Both file formats are read: ArrayRecord (and Parquet) through
`builder.as_data_source`, TFRecord through `builder.as_dataset`. Image bytes
are never decoded by TFDS (`SkipDecoding`); only the few shown are decoded,
with Pillow. The statistics use at most `max_examples` examples, spread evenly
over the split (the dataset's order is already a hash-based shuffle).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import functools
import io
import math
import os
import sys
import unicodedata
import warnings
from typing import Any, Iterator, Sequence

import numpy as np
from matplotlib import colors as mcolors
from matplotlib import font_manager
from matplotlib import ft2font
from matplotlib import ticker as mticker
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

DEFAULT_MAX_EXAMPLES = 20_000
GRID_COLUMNS = 4
GRID_ROWS = 4
DPI = 110
PICTURES = ("examples", "resolutions", "dates", "gps")
_METADATA_KEYS = (
    "creator_username",
    "hash",
    "gps_latitude",
    "gps_longitude",
    "date_taken",
    "original_width",
    "original_height",
)
_THUMBNAIL_SIDE = 320
_CAPTION_WIDTH = 28  # In Latin-character widths; a wide (CJK) character counts 2.
_READ_BATCH = 256  # Data-source records fetched at once.
_MAX_CHUNKS = 64  # Contiguous ranges a sampled TFRecord split is read in.
_GLYPH_WARNING = r"Glyph .* missing from font"
# Fonts with CJK (and more) coverage, used as fallbacks after DejaVu Sans when
# installed. Without any, names DejaVu Sans cannot draw are shown as a hash.
_FALLBACK_FONT_HINTS = (
    "Noto Sans CJK",
    "Noto Sans JP",
    "Noto Sans SC",
    "Noto Sans TC",
    "Noto Sans KR",
    "Source Han Sans",
    "WenQuanYi",
    "Droid Sans Fallback",
    "Arial Unicode",
    "Unifont",
)


class ReportError(RuntimeError):
  """The dataset cannot be read (not built there, unknown split, ...)."""


class Report(dict):
  """{picture name: PNG path}, with the numbers behind them in `.summary`."""

  summary: "Summary"


@dataclasses.dataclass
class Examples:
  """Metadata of the examples read, and the encoded images of the first few."""

  name: str  # `pass_dataset/full`.
  split: str
  file_format: str
  num_in_split: int
  creator_usernames: list[str]
  hashes: list[str]
  dates_taken: list[str]
  gps_latitudes: np.ndarray  # float64, NaN when unknown.
  gps_longitudes: np.ndarray
  original_widths: np.ndarray  # int64.
  original_heights: np.ndarray
  images: list[bytes]  # Encoded images of the first `len(images)` examples.

  def __len__(self) -> int:
    return len(self.hashes)


@dataclasses.dataclass(frozen=True)
class Summary:
  """The numbers the pictures show."""

  num_in_split: int
  num_read: int  # Examples the statistics are computed on.
  num_with_gps: int
  num_undated: int  # Empty (or unusable) date_taken.
  images_per_year: dict[int, int]
  median_width: float  # NaN when no example was read.
  median_height: float

  @property
  def sampled(self) -> bool:
    return self.num_read < self.num_in_split

  @property
  def gps_share(self) -> float:
    return self.num_with_gps / self.num_read if self.num_read else math.nan

  @property
  def undated_share(self) -> float:
    return self.num_undated / self.num_read if self.num_read else math.nan


# Reading.


def _text(value: Any) -> str:
  if isinstance(value, (bytes, np.bytes_)):
    return bytes(value).decode("utf-8", errors="replace")
  if isinstance(value, np.ndarray):
    return _text(value.item())
  return str(value)


def _open_builder(data_dir: str, config: str):
  import pass_tfds  # noqa: F401  (registers `pass_dataset`)
  import tensorflow as tf
  import tensorflow_datasets as tfds

  if tf.io.gfile.exists(os.path.join(data_dir, "dataset_info.json")):
    # A version folder such as D/pass_dataset/full/3.0.0 was given.
    return tfds.builder_from_directory(data_dir)
  builder = tfds.builder("pass_dataset", data_dir=data_dir, config=config)
  if not builder.is_prepared():
    raise ReportError(
        f"No built pass_dataset/{config} in {data_dir} (looked for {builder.data_dir})."
        " Build it first, or pass the --data_dir and --config it was built with."
    )
  return builder


def _evenly_spaced(total: int, count: int) -> np.ndarray:
  """`count` indices in [0, total), spread evenly, first one 0; all when total <= count."""
  if total <= count:
    return np.arange(total)
  return np.unique(np.floor(np.arange(count) * (total / count)).astype(np.int64))


def _sampled_split(builder, split: str, max_examples: int) -> str:
  """A split spec reading at most `max_examples` examples of `split` in contiguous chunks.

  TFRecord has no random access: reading every k-th example would read them
  all. Contiguous chunks at evenly spaced positions only read what they use
  (plus the skipped part of the first shard of each chunk).
  """
  import tensorflow_datasets as tfds

  instructions = tfds.core.ReadInstruction.from_spec(split).to_absolute(builder.info.splits)
  ranges = []  # (split name, start, stop).
  for instruction in instructions:
    length = builder.info.splits[instruction.splitname].num_examples
    start = 0 if instruction.from_ is None else max(0, min(length, instruction.from_))
    stop = length if instruction.to is None else max(0, min(length, instruction.to))
    if stop > start:
      ranges.append((instruction.splitname, start, stop))
  total = sum(stop - start for _, start, stop in ranges)
  if total <= max_examples:
    return split
  num_chunks = max(1, min(_MAX_CHUNKS, max_examples))
  sizes = [max_examples // num_chunks + (i < max_examples % num_chunks) for i in range(num_chunks)]
  starts = [i * total // num_chunks for i in range(num_chunks)] + [total]
  # Global [start, stop) ranges over the concatenated split; total > max_examples
  # so each chunk fits before the next one starts.
  wanted = []
  for i in range(num_chunks):
    start, stop = starts[i], min(starts[i] + sizes[i], starts[i + 1])
    if wanted and wanted[-1][1] == start:  # Adjacent chunks read as one.
      wanted[-1] = (wanted[-1][0], stop)
    elif stop > start:
      wanted.append((start, stop))
  parts = []
  offset = 0
  for name, start, stop in ranges:
    for lo, hi in wanted:
      lo_local = max(lo - offset, 0) + start
      hi_local = min(hi - offset, stop - start) + start
      if hi_local > lo_local:
        parts.append(f"{name}[{lo_local}:{hi_local}]")
    offset += stop - start
  return "+".join(parts)


def _iter_data_source(builder, split: str, max_examples: int) -> tuple[int, Iterator[dict]]:
  import tensorflow_datasets as tfds

  source = builder.as_data_source(
      split=split, decoders={"image": tfds.decode.SkipDecoding()}
  )
  total = len(source)
  indices = _evenly_spaced(total, max_examples)

  def records():
    for begin in range(0, len(indices), _READ_BATCH):
      batch = [int(i) for i in indices[begin:begin + _READ_BATCH]]
      yield from source.__getitems__(batch)

  return total, records()


def _iter_dataset(builder, split: str, max_examples: int) -> tuple[int, Iterator[dict]]:
  import tensorflow_datasets as tfds

  total = builder.info.splits[split].num_examples
  dataset = builder.as_dataset(
      split=_sampled_split(builder, split, max_examples),
      decoders={"image": tfds.decode.SkipDecoding()},
      shuffle_files=False,
  )
  return total, iter(tfds.as_numpy(dataset))


def load_examples(
    data_dir: str,
    config: str = "full",
    split: str = "train",
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    num_images: int = GRID_COLUMNS * GRID_ROWS,
) -> Examples:
  """Reads the metadata of up to `max_examples` examples of a built dataset.

  `data_dir` is the data dir the dataset was built into (or its version folder).
  The encoded images of the first `num_images` examples read are kept.
  """
  if max_examples < 1:
    raise ValueError(f"max_examples must be positive, not {max_examples}")
  import tensorflow_datasets as tfds

  builder = _open_builder(data_dir, config)
  info = builder.info
  try:
    info.splits[split]
  except (KeyError, ValueError) as error:
    raise ReportError(
        f"Split {split!r} is not in {info.full_name} at {data_dir}: its splits are"
        f" {', '.join(sorted(info.splits.keys()))}. ({error})"
    ) from None
  file_format = info.file_format
  if file_format in tfds.core.file_adapters.FileFormat.with_random_access():
    total, records = _iter_data_source(builder, split, max_examples)
  else:
    total, records = _iter_dataset(builder, split, max_examples)

  columns = {key: [] for key in _METADATA_KEYS}
  images = []
  for record in records:
    for key in _METADATA_KEYS:
      columns[key].append(record[key])
    if len(images) < num_images:
      images.append(bytes(record["image"]))
  return Examples(
      name=f"{info.name}/{info.config_name}" if info.config_name else info.name,
      split=split,
      file_format=getattr(file_format, "value", str(file_format)),
      num_in_split=int(total),
      creator_usernames=[_text(v) for v in columns["creator_username"]],
      hashes=[_text(v) for v in columns["hash"]],
      dates_taken=[_text(v) for v in columns["date_taken"]],
      gps_latitudes=np.asarray(columns["gps_latitude"], dtype=np.float64).reshape(-1),
      gps_longitudes=np.asarray(columns["gps_longitude"], dtype=np.float64).reshape(-1),
      original_widths=np.asarray(columns["original_width"], dtype=np.int64).reshape(-1),
      original_heights=np.asarray(columns["original_height"], dtype=np.int64).reshape(-1),
      images=images,
  )


# Numbers.


def year_of(date_taken: str) -> int | None:
  """The year of a `YYYY-MM-DDTHH:MM:SS` date; None when empty or not a date."""
  head = date_taken.strip()[:4]
  if len(head) == 4 and head.isascii() and head.isdigit():
    return int(head)
  return None


def has_gps(latitudes: np.ndarray, longitudes: np.ndarray) -> np.ndarray:
  return np.isfinite(latitudes) & np.isfinite(longitudes)


def summarize(examples: Examples) -> Summary:
  """The counts, shares and medians shown in the pictures."""
  years = [year_of(date) for date in examples.dates_taken]
  per_year = collections.Counter(year for year in years if year is not None)
  read = len(examples)
  return Summary(
      num_in_split=examples.num_in_split,
      num_read=read,
      num_with_gps=int(has_gps(examples.gps_latitudes, examples.gps_longitudes).sum()),
      num_undated=sum(year is None for year in years),
      images_per_year=dict(sorted(per_year.items())),
      median_width=float(np.median(examples.original_widths)) if read else math.nan,
      median_height=float(np.median(examples.original_heights)) if read else math.nan,
  )


# Text that DejaVu Sans (or an installed fallback font) can draw.


@functools.lru_cache(maxsize=None)
def _caption_fonts() -> tuple[tuple[str, ...], frozenset[int]]:
  """(font family list for captions, code points those fonts cover)."""
  families = ["DejaVu Sans"]
  paths = [font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"))]
  for hint in _FALLBACK_FONT_HINTS:
    for entry in font_manager.fontManager.ttflist:
      if entry.name.startswith(hint) and entry.name not in families:
        families.append(entry.name)
        paths.append(entry.fname)
        break
    if len(families) > 1:
      break
  covered: set[int] = set()
  for path in paths:
    try:
      covered.update(ft2font.FT2Font(path).get_charmap())
    except (OSError, RuntimeError, ValueError):
      continue
  return tuple(families), frozenset(covered)


def clean_text(text: str) -> str:
  """One line: control and format characters dropped, whitespace collapsed."""
  kept = []
  for char in text:
    category = unicodedata.category(char)
    if category in ("Zs", "Zl", "Zp") or char in "\t\n\r\x0b\x0c":
      kept.append(" ")
    elif not category.startswith("C"):
      kept.append(char)
  return " ".join("".join(kept).split())


def can_draw(text: str) -> bool:
  _, covered = _caption_fonts()
  return all(char.isspace() or ord(char) in covered for char in text)


def _char_width(char: str) -> int:
  return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def shorten(text: str, width: int = _CAPTION_WIDTH) -> str:
  """`text` cut to `width` columns with an ellipsis (wide characters count 2)."""
  if sum(_char_width(char) for char in text) <= width:
    return text
  out, used = [], 0
  for char in text:
    if used + _char_width(char) > width - 1:
      break
    out.append(char)
    used += _char_width(char)
  return "".join(out).rstrip() + "\u2026"


def creator_label(username: str, image_hash: str) -> tuple[str, bool]:
  """(label, whether it is the real name); the hash when the name cannot be drawn."""
  name = clean_text(username)
  if name and can_draw(name):
    return shorten(name), True
  if not name:
    return "(no username)", False
  return shorten(f"#{image_hash}", 16), False


# Pictures.


def _new_figure(width: float, height: float) -> Figure:
  figure = Figure(figsize=(width, height), dpi=DPI)
  FigureCanvasAgg(figure)
  return figure


def _save(figure: Figure, path: str) -> str:
  with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=_GLYPH_WARNING)
    figure.tight_layout()
    figure.savefig(path, dpi=DPI, facecolor="white")
  return path


def _sample_note(summary: Summary, what: str = "images") -> str:
  if summary.sampled:
    return f"{summary.num_read:,} {what} sampled evenly from {summary.num_in_split:,}"
  return f"{summary.num_read:,} {what}"


def _thumbnail(data: bytes) -> np.ndarray | None:
  try:
    with Image.open(io.BytesIO(data)) as image:
      image.draft("RGB", (_THUMBNAIL_SIDE, _THUMBNAIL_SIDE))
      image = image.convert("RGB")
      image.thumbnail((_THUMBNAIL_SIDE, _THUMBNAIL_SIDE))
      return np.asarray(image)
  except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
    return None


def plot_examples(examples: Examples, summary: Summary, path: str) -> str:
  shown = len(examples.images)
  columns = max(1, min(GRID_COLUMNS, shown))
  rows = max(1, math.ceil(shown / columns))
  figure = _new_figure(3.0 * columns + 0.2, 3.25 * rows + 0.5)
  families, _ = _caption_fonts()
  for i in range(rows * columns):
    axes = figure.add_subplot(rows, columns, i + 1)
    axes.set_axis_off()
    if i >= shown:
      continue
    pixels = _thumbnail(examples.images[i])
    if pixels is None:
      axes.text(0.5, 0.5, "cannot decode", ha="center", va="center", color="0.4",
                transform=axes.transAxes, parse_math=False)
    else:
      axes.imshow(pixels, interpolation="antialiased")
    label, is_name = creator_label(examples.creator_usernames[i], examples.hashes[i])
    date = examples.dates_taken[i].strip()[:10] or "no date"
    size = f"{examples.original_widths[i]}\u00d7{examples.original_heights[i]}"
    axes.set_title(
        f"{label}\n{date} \u00b7 {size}",
        fontsize=9,
        family=list(families),
        style="normal" if is_name else "italic",
        parse_math=False,
        pad=4,
    )
  if shown:
    title = f"{examples.name} {examples.split}: {shown} of {examples.num_in_split:,} images"
  else:
    title = f"{examples.name} {examples.split}: no images"
  figure.suptitle(title, fontsize=12)
  return _save(figure, path)


def plot_resolutions(examples: Examples, summary: Summary, path: str) -> str:
  figure = _new_figure(7.5, 6.5)
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
        f"Original size of {_sample_note(summary)}\n"
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
  return _save(figure, path)


def year_range(per_year: dict[int, int], max_span: int = 30, tail: float = 0.005) -> tuple[int, int]:
  """The years to draw one bar each: all, unless rare outliers stretch them past `max_span`.

  Then the range drops at most a `tail` share of dated images at each end (a
  camera clock set to 1970, say); those are drawn as one "before"/"after" bar.
  """
  first, last = min(per_year), max(per_year)
  if last - first + 1 <= max_span:
    return first, last
  years = sorted(per_year)
  counts = np.array([per_year[year] for year in years], dtype=np.float64)
  cumulative = np.cumsum(counts) / counts.sum()
  low = years[int(np.searchsorted(cumulative, tail, side="right"))]
  high = years[int(np.searchsorted(cumulative, 1 - tail, side="left"))]
  return low, max(low, high)


def plot_dates(examples: Examples, summary: Summary, path: str) -> str:
  figure = _new_figure(9, 5)
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
        f" ({summary.undated_share:.1%}) without a date\n({_sample_note(summary)})"
    )
  else:
    title = "Year taken: no images"
  axes.set_title(title, fontsize=11)
  axes.set_xlabel("year taken")
  axes.set_ylabel("images")
  axes.grid(True, axis="y", lw=0.4, alpha=0.5)
  return _save(figure, path)


def _degrees(value: float, positive: str, negative: str) -> str:
  if value == 0:
    return "0\u00b0"
  return f"{abs(value):g}\u00b0{positive if value > 0 else negative}"


def plot_gps(examples: Examples, summary: Summary, path: str) -> str:
  figure = _new_figure(11, 6.2)
  axes = figure.add_subplot()
  axes.set_facecolor("#eef3f8")
  for longitude in range(-180, 181, 30):
    axes.axvline(longitude, color="0.75", lw=0.5, zorder=1)
  for latitude in range(-90, 91, 30):
    axes.axhline(latitude, color="0.75", lw=0.5, zorder=1)
  axes.axhline(0, color="0.55", lw=0.9, zorder=1)
  axes.axvline(0, color="0.55", lw=0.9, zorder=1)
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
  return _save(figure, path)


_PLOTTERS = {
    "examples": plot_examples,
    "resolutions": plot_resolutions,
    "dates": plot_dates,
    "gps": plot_gps,
}


def write_pictures(examples: Examples, out_dir: str) -> Report:
  """Writes the four PNGs for `examples` into `out_dir`."""
  os.makedirs(out_dir, exist_ok=True)
  summary = summarize(examples)
  report = Report()
  for name in PICTURES:
    report[name] = _PLOTTERS[name](examples, summary, os.path.join(out_dir, f"{name}.png"))
  report.summary = summary
  return report


def write_report(
    data_dir: str,
    out_dir: str,
    config: str = "full",
    split: str = "train",
    max_examples: int = DEFAULT_MAX_EXAMPLES,
) -> dict[str, str]:
  """Writes examples.png, resolutions.png, dates.png and gps.png into `out_dir`.

  Returns {picture name: path}; the returned dict's `.summary` attribute holds
  the numbers shown (a `Summary`).
  """
  examples = load_examples(data_dir, config=config, split=split, max_examples=max_examples)
  return write_pictures(examples, out_dir)


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(
      prog="python -m pass_tfds.report",
      description="Draws PNG pictures of a built pass_dataset: example images,"
      " image sizes, years taken and GPS positions.",
  )
  parser.add_argument("--data_dir", required=True,
                      help="The data dir the dataset was built into (or its version folder).")
  parser.add_argument("--config", default="full", help="Builder config (default: full).")
  parser.add_argument("--split", default="train", help="Split, slicing allowed (default: train).")
  parser.add_argument("--out", default="pass_report", help="Output folder (default: pass_report).")
  parser.add_argument("--max_examples", type=int, default=DEFAULT_MAX_EXAMPLES,
                      help="Examples the statistics use, spread evenly over the split"
                      f" (default: {DEFAULT_MAX_EXAMPLES:,}).")
  args = parser.parse_args(argv)
  if args.max_examples < 1:
    parser.error("--max_examples must be positive")
  try:
    report = write_report(args.data_dir, args.out, config=args.config, split=args.split,
                          max_examples=args.max_examples)
  except ReportError as error:
    print(f"error: {error}", file=sys.stderr)
    return 1
  summary = report.summary
  print(
      f"{summary.num_read:,} of {summary.num_in_split:,} examples read;"
      f" GPS known for {summary.gps_share:.1%}, {summary.num_undated:,} without a date."
  )
  for name, path in report.items():
    print(f"{name}: {path}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
