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

Modules: `examples` and `sampling` read, `summary` counts, `fonts` decides what
text can be drawn, `figures`, `grid`, `resolutions`, `dates` and `gps` draw,
`pictures` writes them all, `cli` is the command line.
"""

from __future__ import annotations

from pass_tfds.report.cli import main
from pass_tfds.report.examples import DEFAULT_MAX_EXAMPLES, Examples, ReportError, load_examples
from pass_tfds.report.fonts import can_draw, clean_text, creator_label, shorten
from pass_tfds.report.pictures import PICTURES, Report, write_pictures, write_report
from pass_tfds.report.summary import Summary, has_gps, summarize, year_of, year_range

__all__ = [
    "DEFAULT_MAX_EXAMPLES",
    "PICTURES",
    "Examples",
    "Report",
    "ReportError",
    "Summary",
    "can_draw",
    "clean_text",
    "creator_label",
    "has_gps",
    "load_examples",
    "main",
    "shorten",
    "summarize",
    "write_pictures",
    "write_report",
    "year_of",
    "year_range",
]
