"""Writing pass_metadata.csv: PASS's header, an index column, valid random fields."""

from __future__ import annotations

import csv
import random
import time
from typing import Iterable, Sequence

from pass_tfds.testing.hashes import hash_with_length
from pass_tfds.testing.layout import CSV_HEADER, LICENSE
from pass_tfds.testing.usernames import pandas_safe, username_pool

_DATE_START = 1104537600  # 2005-01-01
_DATE_SPAN = 15 * 365 * 86400
_GPS_SHARE = 0.3


def random_fields(rng: random.Random, names: Sequence[str]) -> tuple[str, str, str, str]:
  """(unickname, datetaken, latitude, longitude), all valid; GPS for ~30% of rows."""
  name = names[int(len(names) * rng.random() ** 2)]  # A few prolific users.
  moment = time.gmtime(_DATE_START + int(rng.random() * _DATE_SPAN))
  taken = time.strftime("%Y-%m-%d %H:%M:%S.0", moment)
  if rng.random() < _GPS_SHARE:
    latitude = repr(round(rng.uniform(-55.0, 70.0), 6))
    longitude = repr(round(rng.uniform(-180.0, 180.0), 6))
    return name, taken, latitude, longitude
  return name, taken, "", ""


def write_metadata_csv(path: str, rows: Iterable[tuple[str, ...]]) -> None:
  """Writes the header, then every row (all columns but the index) after its index."""
  with open(path, "w", encoding="utf-8", newline="") as f:
    writer = csv.writer(f, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows((index,) + tuple(row) for index, row in enumerate(rows))


def write_sample_csv(path: str, seed: int, image_hashes: list[str], rows: int,
                     pandas_safe_usernames: bool = False) -> int:
  """Writes `rows` rows in random order: one per image (while rows last), the rest
  for hashes without an image. Returns the number of images that got a row."""
  rng = random.Random(f"pass-sample/{seed}/csv")
  with_row = list(image_hashes) if rows >= len(image_hashes) else rng.sample(image_hashes, rows)
  rng.shuffle(with_row)
  slots = dict(zip(rng.sample(range(rows), len(with_row)), with_row))
  names = username_pool(rng, max(50, min(20000, rows // 30)))
  if pandas_safe_usernames:  # Same random draws; only the NaN-looking names change.
    names = [pandas_safe(name) for name in names]
  taken = set(image_hashes)

  def fields() -> Iterable[tuple[str, ...]]:
    extra = 0
    for row in range(rows):
      hash_ = slots.get(row)
      if hash_ is None:
        hash_ = hash_with_length(f"pass-sample/{seed}/extra/{extra}", taken=taken)
        extra += 1
      name, taken_at, latitude, longitude = random_fields(rng, names)
      yield name, taken_at, LICENSE, hash_, latitude, longitude

  write_metadata_csv(path, fields())
  return len(with_row)
