"""A compact, searchable form of `pass_metadata.csv`, built once per build, loaded once per worker.

The CSV is read once, front to back, by one step of the pipeline, which
parses every row and writes a few numpy arrays: the rows' join keys sorted
(two uint64 words each), and beside them the parsed values the dataset needs.
Each worker process loads the file once (54 bytes a row: 78 MB for PASS's
1,439,588 rows, against 152.6 MB of CSV) and finds an image's row by binary
search where the image is written. No step ever holds every image's plan, and
no worker reads the CSV itself.

This module is the lookup's format, its loading, and `build_by_rows`, the
row-by-row reference; `metadata_csv_reader` reads the CSV into it (pyarrow).
When two rows carry one hash, the first row wins and the others are counted.
"""

from __future__ import annotations

import array
import bisect
import dataclasses
import io
import threading
from typing import IO, Callable

import google_crc32c
import numpy as np

from pass_tfds.pipeline import image_keys, metadata
from pass_tfds.errors import MetadataFormatError

EXAMPLES = 5
DATE_INVALID = 1
GPS_INVALID = 2
NO_DATE = -1


@dataclasses.dataclass
class CsvStats:
  """What building the lookup found in the CSV."""

  rows: int = 0
  duplicate_rows: int = 0  # A hash seen on an earlier row: ignored, the first row wins.
  differing_duplicate_rows: int = 0  # ... of which with values other than the first row's.
  duplicate_examples: list[str] = dataclasses.field(default_factory=list)
  unusable_hash_rows: int = 0  # A hash that is not hexadecimal: no member can have it.
  unusable_hash_examples: list[str] = dataclasses.field(default_factory=list)


def pack_date(iso: str) -> int:
  """`YYYY-MM-DDTHH:MM:SS` -> the integer YYYYMMDDHHMMSS; "" -> -1."""
  if not iso:
    return NO_DATE
  return int(iso[0:4] + iso[5:7] + iso[8:10] + iso[11:13] + iso[14:16] + iso[17:19])


def _unpack_date(packed: int) -> str:
  if packed == NO_DATE:
    return ""
  text = f"{packed:014d}"
  return f"{text[0:4]}-{text[4:6]}-{text[6:8]}T{text[8:10]}:{text[10:12]}:{text[12:14]}"


class MetadataLookup:
  """Sorted keys and the parsed values of their rows; `get` finds one image's row.

  Held as `array.array`s (compact, and indexed without numpy's per-call cost:
  `get` runs once per image) and searched with `bisect`.
  """

  def __init__(self, arrays: dict[str, np.ndarray]):
    # Copied once into array.array objects; the numpy arrays are not kept.
    self._hi = array.array("Q", arrays["hi"].astype("<u8").tobytes())
    self._lo = array.array("Q", arrays["lo"].astype("<u8").tobytes())
    self._date = array.array("q", arrays["date"].astype("<i8").tobytes())
    self._latitude = array.array("f", arrays["latitude"].astype("<f4").tobytes())
    self._longitude = array.array("f", arrays["longitude"].astype("<f4").tobytes())
    self._flags = arrays["flags"].astype("u1").tobytes()
    self._name_ends = array.array("Q", arrays["name_ends"].astype("<u8").tobytes())
    self._names = arrays["names"].astype("u1").tobytes()

  def arrays(self) -> dict[str, np.ndarray]:
    """The lookup as numpy arrays (views, no copies): what the file stores."""
    return {
        "hi": np.frombuffer(self._hi, dtype="<u8"),
        "lo": np.frombuffer(self._lo, dtype="<u8"),
        "date": np.frombuffer(self._date, dtype="<i8"),
        "latitude": np.frombuffer(self._latitude, dtype="<f4"),
        "longitude": np.frombuffer(self._longitude, dtype="<f4"),
        "flags": np.frombuffer(self._flags, dtype="u1"),
        "name_ends": np.frombuffer(self._name_ends, dtype="<u8"),
        "names": np.frombuffer(self._names, dtype="u1"),
    }

  def __len__(self) -> int:
    return len(self._hi)

  def keys(self) -> np.ndarray:
    """Every key with a row, sorted, as an `image_keys.KEY_DTYPE` array."""
    keys = np.empty(len(self._hi), dtype=image_keys.KEY_DTYPE)
    keys["hi"] = np.frombuffer(self._hi, dtype="<u8")
    keys["lo"] = np.frombuffer(self._lo, dtype="<u8")
    return keys

  def position(self, key: int) -> int:
    """The row's position for a join key, or -1."""
    hi, lo = key >> 64, key & 0xFFFFFFFFFFFFFFFF
    position = bisect.bisect_left(self._hi, hi)
    size = len(self._hi)
    while position < size and self._hi[position] == hi:
      if self._lo[position] == lo:
        return position
      position += 1
    return -1

  def get(self, key: int) -> metadata.ImageMetadata | None:
    position = self.position(key)
    if position < 0:
      return None
    start = self._name_ends[position - 1] if position else 0
    flags = self._flags[position]
    return metadata.ImageMetadata(
        creator_username=self._names[start:self._name_ends[position]].decode("utf-8"),
        date_taken=_unpack_date(self._date[position]),
        gps_latitude=self._latitude[position],
        gps_longitude=self._longitude[position],
        date_invalid=bool(flags & DATE_INVALID),
        gps_invalid=bool(flags & GPS_INVALID),
    )

  def to_bytes(self) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **self.arrays())
    return buffer.getvalue()

  @classmethod
  def from_bytes(cls, data: bytes) -> MetadataLookup:
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
      return cls({name: arrays[name] for name in arrays.files})


def build_by_rows(stream: IO[bytes], source: str) -> tuple[MetadataLookup, CsvStats]:
  """Reads the CSV once, row by row in Python: the reference `build` is tested against."""
  stats = CsvStats()
  rows: list[int] = []
  keys: list[int] = []
  dates: list[int] = []
  latitudes: list[float] = []
  longitudes: list[float] = []
  flags: list[int] = []
  names: list[bytes] = []
  for number, values in metadata.iter_values(stream, source):
    stats.rows += 1
    key = image_keys.image_key(values[metadata.HASH_COLUMN])
    if key is None:
      stats.unusable_hash_rows += 1
      if len(stats.unusable_hash_examples) < EXAMPLES:
        stats.unusable_hash_examples.append(f"row {number}: hash {values[metadata.HASH_COLUMN]!r}")
      continue
    parsed = metadata.parse_values(values)
    rows.append(number)
    keys.append(key)
    dates.append(pack_date(parsed.date_taken))
    latitudes.append(parsed.gps_latitude)
    longitudes.append(parsed.gps_longitude)
    flags.append(DATE_INVALID * parsed.date_invalid | GPS_INVALID * parsed.gps_invalid)
    names.append(parsed.creator_username.encode("utf-8"))
  key_array = image_keys.keys_array(keys)
  del keys
  # Stable: among rows with one key, the first row of the file comes first and wins.
  order = np.lexsort((key_array["lo"], key_array["hi"]))  # lexsort is stable.
  sorted_keys = key_array[order]
  repeat = np.zeros(len(order), dtype=bool)
  repeat[1:] = sorted_keys[1:] == sorted_keys[:-1]
  row_numbers = np.asarray(rows, dtype=np.int64)[order]
  columns = {
      "date": np.asarray(dates, dtype=np.int64)[order],
      "latitude": np.asarray(latitudes, dtype=np.float32)[order],
      "longitude": np.asarray(longitudes, dtype=np.float32)[order],
      "flags": np.asarray(flags, dtype=np.uint8)[order],
  }
  names = [names[i] for i in order]
  lengths = np.fromiter(map(len, names), dtype=np.uint64, count=len(names))
  blob = np.frombuffer(b"".join(names), dtype=np.uint8)
  return from_sorted_rows(stats, sorted_keys, repeat, row_numbers, columns, blob, lengths)


def from_sorted_rows(
    stats: CsvStats,
    sorted_keys: np.ndarray,
    repeat: np.ndarray,
    row_numbers: np.ndarray,
    columns: dict[str, np.ndarray],
    names: np.ndarray,
    name_lengths: np.ndarray,
) -> tuple[MetadataLookup, CsvStats]:
  """Counts the repeated keys and keeps each key's first row (all arrays in key order)."""
  name_ends = np.cumsum(name_lengths, dtype=np.uint64)

  def name(position: int) -> bytes:
    start = int(name_ends[position - 1]) if position else 0
    return names[start:int(name_ends[position])].tobytes()

  _count_duplicates(stats, repeat, row_numbers, columns, name)
  keep = ~repeat
  repeats = bool(repeat.any())
  if repeats:
    names = names[np.repeat(keep, name_lengths.astype(np.int64))]
    name_ends = np.cumsum(name_lengths[keep], dtype=np.uint64)

  def kept(column: np.ndarray) -> np.ndarray:  # No copy when every key is new: the usual case.
    return column[keep] if repeats else column

  arrays = {
      "hi": np.ascontiguousarray(kept(sorted_keys["hi"])),
      "lo": np.ascontiguousarray(kept(sorted_keys["lo"])),
      **{column_name: kept(column) for column_name, column in columns.items()},
      "name_ends": name_ends,
      "names": names,
  }
  return MetadataLookup(arrays), stats


def _count_duplicates(
    stats: CsvStats,
    repeat: np.ndarray,
    row_numbers: np.ndarray,
    columns: dict[str, np.ndarray],
    name: Callable[[int], bytes],
) -> None:
  """Counts rows whose key an earlier row has, and whether their stored values differ."""
  positions = np.flatnonzero(repeat)
  stats.duplicate_rows = len(positions)
  if not len(positions):
    return
  first = np.maximum.accumulate(np.where(repeat, 0, np.arange(len(repeat))))
  for position in positions[np.argsort(row_numbers[positions], kind="stable")]:
    winner = first[position]
    differs = name(position) != name(winner) or any(
        column[position] != column[winner]
        and not (column.dtype.kind == "f" and np.isnan(column[position]) and np.isnan(column[winner]))
        for column in columns.values()
    )
    stats.differing_duplicate_rows += int(differs)
    if len(stats.duplicate_examples) < EXAMPLES:
      stats.duplicate_examples.append(
          f"row {row_numbers[position]}: same hash as row {row_numbers[winner]}"
          f" ({'other' if differs else 'same'} values; row {row_numbers[winner]} is used)"
      )


def build(stream: IO[bytes], source: str) -> tuple[MetadataLookup, CsvStats]:
  """Reads the CSV once and returns its lookup: `metadata_csv_reader.build`.

  The reader, and pyarrow with it, is imported here, by the one step that builds
  the lookup, not by every process that only loads one.
  """
  from pass_tfds.pipeline import metadata_csv_reader

  return metadata_csv_reader.build(stream, source)


def release_memory() -> None:
  """What the CSV's reading kept in pyarrow's pool and the C heap, given back: `metadata_csv_reader.release_memory`."""
  from pass_tfds.pipeline import metadata_csv_reader

  metadata_csv_reader.release_memory()


_LOADED: dict[tuple[str, str], MetadataLookup] = {}
_LOADING = threading.Lock()


def load_once(path: str, digest: str, read: Callable[[str], bytes]) -> MetadataLookup:
  """The lookup at `path` whose bytes have the CRC32C `digest` (8 hex digits), read once per process.

  Kept by path and digest, so a lookup rebuilt at the same path is read again;
  bytes with another digest are refused, never used for this build.
  """
  with _LOADING:
    lookup = _LOADED.get((path, digest))
    if lookup is None:
      try:
        data = read(path)
        found = f"{google_crc32c.value(data):08x}"
        if found != digest:
          raise ValueError(f"its CRC32C is {found}, the build made one with {digest}")
        lookup = MetadataLookup.from_bytes(data)
      except (OSError, ValueError) as error:
        raise MetadataFormatError(
            f"The metadata lookup {path} cannot be read ({error}); run the same command again"
            " to rebuild it."
        ) from error
      _LOADED.clear()  # One build's lookup at a time.
      _LOADED[(path, digest)] = lookup
    return lookup
