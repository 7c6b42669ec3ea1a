"""`examples.png`: a grid of images captioned with creator, date taken and original size."""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image

from pass_tfds.report import figures, fonts
from pass_tfds.report.examples import Examples
from pass_tfds.report.summary import Summary

GRID_COLUMNS = 4
_THUMBNAIL_SIDE = 320


def thumbnail(data: bytes) -> np.ndarray | None:
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
  figure = figures.new_figure(3.0 * columns + 0.2, 3.25 * rows + 0.5)
  families, _ = fonts.caption_fonts()
  undrawn: list[str] = []  # Names shown as their image's hash.
  for i in range(rows * columns):
    axes = figure.add_subplot(rows, columns, i + 1)
    axes.set_axis_off()
    if i >= shown:
      continue
    pixels = thumbnail(examples.images[i])
    if pixels is None:
      axes.text(0.5, 0.5, "cannot decode", ha="center", va="center", color="0.4",
                transform=axes.transAxes, parse_math=False)
    else:
      axes.imshow(pixels, interpolation="antialiased")
    label, is_name = fonts.creator_label(examples.creator_usernames[i], examples.hashes[i])
    if not is_name and fonts.clean_text(examples.creator_usernames[i]):
      undrawn.append(examples.creator_usernames[i])
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
  if undrawn:
    names = "1 creator name uses" if len(undrawn) == 1 else f"{len(undrawn)} creator names use"
    figure.text(0.5, 0.005, f"{names} characters no installed font draws"
                f" ({', '.join(fonts.missing_scripts(undrawn))}): shown as #image hash, in italics",
                ha="center", va="bottom", fontsize=9, color="0.3", style="italic")
  return figures.save(figure, path)
