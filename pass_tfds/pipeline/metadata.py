"""PASS's `pass_metadata.csv`: its header, and the parsing of one field at a time, without pandas.

Every field stays a string until it is parsed here, on purpose: pandas turns a
Flickr user called `NA` into NaN and a hash like `1234e567` into a float, which
crashed the catalog builder. A build reads the CSV columnar with pyarrow
(`metadata_csv_reader`), every field as a string, and sends the values its
vectorized path cannot decide exactly to the parsers here. `iter_values` reads
rows with the `csv` module, for the row-by-row reference
(`metadata_lookup.build_by_rows`) and for `sources.check_metadata_header`.
"""

from __future__ import annotations

import csv
import datetime
import functools
import io
import math
import re
from typing import IO, Iterator, NamedTuple, Sequence

from pass_tfds.dataset import zenodo
from pass_tfds.errors import MetadataFormatError

EXPECTED_HEADER = ("", "unickname", "datetaken", "licensename", "hash", "latitude", "longitude")

_DATE_RE = re.compile(
    r"^(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})[ T]"
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})(?:\.\d+)?$",
    re.ASCII,
)


class ImageMetadata(NamedTuple):
  """One CSV row, parsed into the dataset's feature values."""

  creator_username: str
  date_taken: str  # ISO 8601 `YYYY-MM-DDTHH:MM:SS`, "" when unknown or invalid.
  gps_latitude: float  # NaN when unknown or invalid.
  gps_longitude: float
  date_invalid: bool = False  # A non-empty date that could not be parsed.
  gps_invalid: bool = False  # A non-empty coordinate that was not usable.


@functools.lru_cache(maxsize=1 << 16)
def _is_real_day(year: str, month: str, day: str) -> bool:
  try:
    datetime.date(int(year), int(month), int(day))
  except ValueError:
    return False
  return True


def parse_date_taken(value: str) -> tuple[str, bool]:
  """Returns (`YYYY-MM-DDTHH:MM:SS` or "", whether a non-empty value was rejected).

  `2012-08-09 18:00:20.0` -> `2012-08-09T18:00:20`. Impossible dates such as
  `0000-00-00 00:00:00` or `2012-02-30 ...` and garbage give "".
  """
  value = value.strip()
  if not value:
    return "", False
  match = _DATE_RE.match(value)
  if not match:
    return "", True
  year, month, day, hour, minute, second = match.groups()  # Zero-padded by the pattern.
  if not (_is_real_day(year, month, day) and hour < "24" and minute < "60" and second < "60"):
    return "", True
  return f"{year}-{month}-{day}T{hour}:{minute}:{second}", False


def parse_coordinate(value: str, limit: float) -> tuple[float, bool]:
  """Returns (degrees or NaN, whether a non-empty value was rejected)."""
  value = value.strip()
  if not value:
    return math.nan, False
  try:
    number = float(value)
  except ValueError:
    return math.nan, True
  if not math.isfinite(number) or abs(number) > limit:
    return math.nan, True
  return number, False


def parse_fields(username: str, date_taken: str, latitude: str, longitude: str) -> ImageMetadata:
  """Parses a row's values into the dataset's feature values."""
  date_iso, date_invalid = parse_date_taken(date_taken)
  lat, lat_invalid = parse_coordinate(latitude, 90.0)
  lon, lon_invalid = parse_coordinate(longitude, 180.0)
  if math.isnan(lat) != math.isnan(lon):
    # Half a position is no position.
    lat_invalid = lat_invalid or not math.isnan(lat)
    lon_invalid = lon_invalid or not math.isnan(lon)
    lat = lon = math.nan
  return ImageMetadata(username, date_iso, lat, lon, date_invalid, lat_invalid or lon_invalid)


def parse_row(fields: dict[str, str]) -> ImageMetadata:
  """Parses one CSV row (a {column: value} dict) into `ImageMetadata`."""
  return parse_fields(
      fields.get("unickname") or "",
      fields.get("datetaken") or "",
      fields.get("latitude") or "",
      fields.get("longitude") or "",
  )


def check_header(header: list[str], source: str) -> None:
  if tuple(column.strip().lstrip("\ufeff") for column in header) != EXPECTED_HEADER:
    raise MetadataFormatError(
        f"{source}: unexpected CSV header {header!r}; PASS's pass_metadata.csv starts with"
        f" {','.join(EXPECTED_HEADER)!r}. Re-download pass_metadata.csv from"
        f" {zenodo.RECORD_URL}."
    )


def read_header(stream: IO[bytes], source: str) -> None:
  """Reads and checks the header line, leaving `stream` at the first data row."""
  line = stream.readline()
  if not line:
    raise MetadataFormatError(
        f"{source} is empty. Re-download pass_metadata.csv from {zenodo.RECORD_URL}."
    )
  stray_cr = line.rstrip(b"\r\n").find(b"\r")
  if stray_cr != -1:  # csv's own words for it blame "universal-newline mode".
    raise MetadataFormatError(
        f"{source}: the header line holds a stray carriage return (CR, \\r) at byte {stray_cr}:"
        f" the file is damaged. Re-download pass_metadata.csv from {zenodo.RECORD_URL}."
    )
  try:
    header = next(csv.reader([line.decode("utf-8")]))
  except (csv.Error, UnicodeDecodeError, StopIteration) as error:
    raise MetadataFormatError(
        f"{source}: the header line cannot be read as UTF-8 CSV ({error}). Re-download"
        f" pass_metadata.csv from {zenodo.RECORD_URL}."
    ) from error
  check_header(header, source)


def iter_values(stream: IO[bytes], source: str) -> Iterator[tuple[int, list[str]]]:
  """Yields (1-based data row number, the row's 7 values) from a binary CSV stream.

  Quoted commas and newlines inside a username are handled by the csv module.
  """
  read_header(stream, source)
  reader = csv.reader(io.TextIOWrapper(stream, encoding="utf-8", newline=""))
  width = len(EXPECTED_HEADER)
  try:
    for number, values in enumerate(reader, start=1):
      if len(values) != width:
        raise MetadataFormatError(
            f"{source}: data row {number} has {len(values)} fields instead of {width}"
            f" ({values!r}). The file is damaged: re-download pass_metadata.csv from"
            f" {zenodo.RECORD_URL}."
        )
      yield number, values
  except (csv.Error, UnicodeDecodeError) as error:
    raise MetadataFormatError(
        f"{source}: cannot be read as UTF-8 CSV ({error}). Re-download pass_metadata.csv from"
        f" {zenodo.RECORD_URL}."
    ) from error


def iter_rows(stream: IO[bytes], source: str) -> Iterator[tuple[int, dict[str, str]]]:
  """Like `iter_values`, with each row as a {column: value} dict."""
  for number, values in iter_values(stream, source):
    yield number, dict(zip(EXPECTED_HEADER, values))


HASH_COLUMN = EXPECTED_HEADER.index("hash")


_USERNAME, _DATE, _LATITUDE, _LONGITUDE = (
    EXPECTED_HEADER.index(name) for name in ("unickname", "datetaken", "latitude", "longitude")
)


def parse_values(values: Sequence[str]) -> ImageMetadata:
  """Parses one row given as its 7 CSV values (see `iter_values`)."""
  return parse_fields(values[_USERNAME], values[_DATE], values[_LATITUDE], values[_LONGITUDE])
