"""The numbers the pictures show: counts, shares, medians, images per year."""

from __future__ import annotations

import collections
import dataclasses
import math

import numpy as np

from pass_tfds.report.examples import Examples


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
