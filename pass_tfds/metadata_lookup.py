"""A compact, searchable form of `pass_metadata.csv`, built once per build, loaded once per worker.

The CSV is read once, front to back, by one step of the pipeline, which
parses every row and writes a few numpy arrays: the rows' join keys sorted
(two uint64 words each), and beside them the parsed values the dataset needs.
Each worker process loads the file once (about 50 bytes a row: ~70 MB for
PASS's 1,439,588 rows, against 152.6 MB of CSV) and finds an image's row by
binary search where the image is written. No step ever holds every image's
plan, and no worker reads the CSV itself.

When two rows carry one hash, the first row wins and the others are counted.
"""

from __future__ import annotations

import array
import bisect
import ctypes
import dataclasses
import io
import threading
from typing import IO, Callable, Iterator

import google_crc32c
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from pass_tfds import image_keys, metadata, zenodo
from pass_tfds.errors import MetadataFormatError

_EXAMPLES = 5
_DATE_INVALID = 1
_GPS_INVALID = 2
_NO_DATE = -1


@dataclasses.dataclass
class CsvStats:
  """What building the lookup found in the CSV."""

  rows: int = 0
  duplicate_rows: int = 0  # A hash seen on an earlier row: ignored, the first row wins.
  differing_duplicate_rows: int = 0  # ... of which with values other than the first row's.
  duplicate_examples: list[str] = dataclasses.field(default_factory=list)
  unusable_hash_rows: int = 0  # A hash that is not hexadecimal: no member can have it.
  unusable_hash_examples: list[str] = dataclasses.field(default_factory=list)


def _pack_date(iso: str) -> int:
  """`YYYY-MM-DDTHH:MM:SS` -> the integer YYYYMMDDHHMMSS; "" -> -1."""
  if not iso:
    return _NO_DATE
  return int(iso[0:4] + iso[5:7] + iso[8:10] + iso[11:13] + iso[14:16] + iso[17:19])


def _unpack_date(packed: int) -> str:
  if packed == _NO_DATE:
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
        date_invalid=bool(flags & _DATE_INVALID),
        gps_invalid=bool(flags & _GPS_INVALID),
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
      if len(stats.unusable_hash_examples) < _EXAMPLES:
        stats.unusable_hash_examples.append(f"row {number}: hash {values[metadata.HASH_COLUMN]!r}")
      continue
    parsed = metadata.parse_values(values)
    rows.append(number)
    keys.append(key)
    dates.append(_pack_date(parsed.date_taken))
    latitudes.append(parsed.gps_latitude)
    longitudes.append(parsed.gps_longitude)
    flags.append(_DATE_INVALID * parsed.date_invalid | _GPS_INVALID * parsed.gps_invalid)
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
  return _finish(stats, sorted_keys, repeat, row_numbers, columns, blob, lengths)


def _finish(
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
    if len(stats.duplicate_examples) < _EXAMPLES:
      stats.duplicate_examples.append(
          f"row {row_numbers[position]}: same hash as row {row_numbers[winner]}"
          f" ({'other' if differs else 'same'} values; row {row_numbers[winner]} is used)"
      )


_COLUMNS = ("index", "unickname", "datetaken", "licensename", "hash", "latitude", "longitude")
_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_HEX32 = r"^[0-9a-fA-F]{1,32}$"
_NIBBLES = np.full(256, 0, dtype=np.uint8)
for _digit, _value in zip(b"0123456789abcdefABCDEF", list(range(16)) + list(range(10, 16))):
  _NIBBLES[_digit] = _value


class _Rejoined(io.RawIOBase):
  """A stream whose first bytes were already read, with them put back."""

  def __init__(self, head: bytes, stream: IO[bytes]):
    super().__init__()
    self._head, self._stream = head, stream

  def readable(self) -> bool:
    return True

  def readinto(self, buffer) -> int:
    if self._head:
      count = min(len(buffer), len(self._head))
      buffer[:count], self._head = self._head[:count], self._head[count:]
      return count
    data = self._stream.read(len(buffer))
    buffer[:len(data)] = data
    return len(data)


def _batches(stream: IO[bytes], source: str) -> Iterator[pa.RecordBatch]:
  """The data rows as record batches of string columns, read front to back (bounded memory)."""
  metadata.read_header(stream, source)
  first = stream.read(1)
  if not first:  # A header and no rows: pyarrow calls that an empty file.
    return
  try:
    reader = pa_csv.open_csv(
        pa.PythonFile(_Rejoined(first, stream), mode="r"),
        read_options=pa_csv.ReadOptions(column_names=list(_COLUMNS), block_size=8 << 20),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
        convert_options=pa_csv.ConvertOptions(
            column_types={column: pa.string() for column in _COLUMNS}, null_values=[],
            strings_can_be_null=False, quoted_strings_can_be_null=False,
        ),
    )
    yield from reader
  except (pa.ArrowInvalid, UnicodeDecodeError) as error:
    raise MetadataFormatError(
        f"{source}: cannot be read as PASS's UTF-8 CSV of 7 columns ({str(error).splitlines()[0]})."
        f" The file is damaged: re-download pass_metadata.csv from {zenodo.RECORD_URL}."
    ) from error


def _keys(hashes: pa.Array) -> tuple[np.ndarray, np.ndarray]:
  """(KEY_DTYPE keys, usable) of every row: hex hashes of up to 32 digits vectorized, others in Python."""
  trimmed = pc.utf8_trim_whitespace(hashes)
  fast = pc.match_substring_regex(trimmed, _HEX32).to_numpy(zero_copy_only=False)
  keys = np.zeros(len(hashes), dtype=image_keys.KEY_DTYPE)
  usable = fast.copy()
  padded = pc.utf8_lpad(pc.filter(trimmed, pa.array(fast)), 32, "0")
  if len(padded):
    nibbles = _NIBBLES[np.frombuffer(padded.buffers()[2], dtype=np.uint8)[:32 * len(padded)].reshape(-1, 32)]
    octets = (nibbles[:, 0::2] << np.uint8(4) | nibbles[:, 1::2]).astype(np.uint8)
    words = np.ascontiguousarray(octets).view(">u8")  # (n, 2): the key's high and low 64 bits.
    keys["hi"][fast] = words[:, 0]
    keys["lo"][fast] = words[:, 1]
  for position in np.flatnonzero(~fast):  # Longer or not hexadecimal: rare.
    key = image_keys.image_key(hashes[int(position)].as_py())
    if key is not None:
      keys[position] = image_keys.split_key(key)
      usable[position] = True
  return keys, usable


def _python_fallback(values: pa.Array, fast: np.ndarray) -> list[tuple[int, str]]:
  """(position, value) of the rows the vectorized path leaves to Python's parser."""
  return [(int(position), values[int(position)].as_py()) for position in np.flatnonzero(~fast)]


def _byte_matrix(values: pa.Array, rows: np.ndarray, width: int) -> np.ndarray:
  """The UTF-8 bytes of the selected rows, all `width` bytes long, as an (n, width) array."""
  selected = pc.filter(values, pa.array(rows))
  offsets = np.frombuffer(selected.buffers()[1], dtype=np.int32)[selected.offset:selected.offset + len(selected) + 1]
  data = np.frombuffer(selected.buffers()[2], dtype=np.uint8)
  return data[offsets[0]:offsets[-1]].reshape(-1, width)


_DIGIT_COLUMNS = (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18)


def _dates(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
  """(packed YYYYMMDDHHMMSS or -1, invalid) per row, exactly as `metadata.parse_date_taken`.

  Empty values and values in the exact format `YYYY-MM-DD HH:MM:SS[.f+]` (or
  with `T`) are decided here on their bytes; anything else (surrounding
  spaces, garbage) by `parse_date_taken` itself.
  """
  lengths = pc.binary_length(values).to_numpy(zero_copy_only=False)
  packed = np.full(len(values), _NO_DATE, dtype=np.int64)
  invalid = np.zeros(len(values), dtype=bool)
  decided = lengths == 0
  for width in np.unique(lengths[(lengths == 19) | (lengths >= 21)]):
    rows = lengths == width
    matrix = _byte_matrix(values, rows, int(width))
    digits = matrix.astype(np.int16) - ord("0")
    shaped = (
        np.all((digits[:, _DIGIT_COLUMNS] >= 0) & (digits[:, _DIGIT_COLUMNS] <= 9), axis=1)
        & (matrix[:, 4] == ord("-")) & (matrix[:, 7] == ord("-"))
        & ((matrix[:, 10] == ord(" ")) | (matrix[:, 10] == ord("T")))
        & (matrix[:, 13] == ord(":")) & (matrix[:, 16] == ord(":"))
    )
    if width > 19:  # A fraction: a dot and at least one digit.
      shaped &= (matrix[:, 19] == ord(".")) & np.all((digits[:, 20:] >= 0) & (digits[:, 20:] <= 9), axis=1)

    def number(first: int, count: int) -> np.ndarray:
      value = np.zeros(len(matrix), dtype=np.int64)
      for column in range(first, first + count):
        value = value * 10 + digits[:, column].astype(np.int64)
      return value

    year, month, day = number(0, 4), number(5, 2), number(8, 2)
    hour, minute, second = number(11, 2), number(14, 2), number(17, 2)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(month, 0, 12)]
    month_days = month_days + ((month == 2) & leap)
    real = ((year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
            & (hour < 24) & (minute < 60) & (second < 60))
    value = year * 10**10 + month * 10**8 + day * 10**6 + hour * 10**4 + minute * 100 + second
    positions = np.flatnonzero(rows)[shaped]
    packed[positions] = np.where(real, value, _NO_DATE)[shaped]
    invalid[positions] = ~real[shaped]
    decided[positions] = True
  for position, raw in _python_fallback(values, decided):
    iso, invalid[position] = metadata.parse_date_taken(raw)
    packed[position] = _pack_date(iso)
  return packed, invalid


def _coordinates(values: pa.Array, limit: float) -> tuple[np.ndarray, np.ndarray]:
  """(degrees or NaN, invalid) per row, exactly as `metadata.parse_coordinate`."""
  empty = pc.equal(values, "").to_numpy(zero_copy_only=False)
  plain = pc.match_substring_regex(values, _NUMBER).to_numpy(zero_copy_only=False)
  degrees = np.full(len(values), np.nan)
  invalid = np.zeros(len(values), dtype=bool)
  if plain.any():
    parsed = pc.filter(values, pa.array(plain)).cast(pa.float64()).to_numpy()
    usable = np.isfinite(parsed) & (np.abs(parsed) <= limit)
    degrees[plain] = np.where(usable, parsed, np.nan)
    invalid[plain] = ~usable
  for position, raw in _python_fallback(values, empty | plain):
    degrees[position], invalid[position] = metadata.parse_coordinate(raw, limit)
  return degrees, invalid


@dataclasses.dataclass
class _Columns:
  """One batch's rows with a usable hash, parsed into compact columns."""

  rows: np.ndarray  # 1-based row numbers.
  hi: np.ndarray
  lo: np.ndarray
  date: np.ndarray
  latitude: np.ndarray
  longitude: np.ndarray
  flags: np.ndarray
  names: pa.Array


def _parse_batch(batch: pa.RecordBatch, first_row: int, stats: CsvStats) -> _Columns:
  keys, usable = _keys(batch.column("hash"))
  hashes = batch.column("hash")
  for position in np.flatnonzero(~usable):
    stats.unusable_hash_rows += 1
    if len(stats.unusable_hash_examples) < _EXAMPLES:
      stats.unusable_hash_examples.append(f"row {first_row + position}: hash {hashes[int(position)].as_py()!r}")
  dates, date_invalid = _dates(batch.column("datetaken"))
  latitude, latitude_invalid = _coordinates(batch.column("latitude"), 90.0)
  longitude, longitude_invalid = _coordinates(batch.column("longitude"), 180.0)
  half = np.isnan(latitude) != np.isnan(longitude)  # Half a position is no position.
  latitude_invalid |= half & ~np.isnan(latitude)
  longitude_invalid |= half & ~np.isnan(longitude)
  latitude[half] = longitude[half] = np.nan
  flags = (_DATE_INVALID * date_invalid | _GPS_INVALID * (latitude_invalid | longitude_invalid)).astype(np.uint8)
  keep = np.flatnonzero(usable)
  return _Columns(
      rows=keep + first_row, hi=keys["hi"][keep], lo=keys["lo"][keep], date=dates[keep],
      latitude=latitude[keep].astype(np.float32), longitude=longitude[keep].astype(np.float32),
      flags=flags[keep], names=pc.take(batch.column("unickname"), pa.array(keep, type=pa.int64())),
  )


def build(stream: IO[bytes], source: str) -> tuple[MetadataLookup, CsvStats]:
  """Reads the CSV once and returns its lookup; raises `MetadataFormatError` on a bad file.

  Columnar (pyarrow's streaming CSV reader and compute functions, numpy), so
  that the one step that must see every row takes seconds, in batches so that
  its memory stays near the lookup's own size; rows the vectorized path cannot
  decide exactly go through `metadata`'s own parsers. Gives the same lookup as
  `build_by_rows` (tested).
  """
  stats = CsvStats()
  parts: list[_Columns] = []
  for batch in _batches(stream, source):
    parts.append(_parse_batch(batch, stats.rows + 1, stats))
    stats.rows += batch.num_rows
    del batch
    release_memory()  # pyarrow's allocator keeps what each batch freed: ~300 MB by the end.
  if not parts:
    parts.append(_parse_batch(pa.record_batch([pa.array([], pa.string())] * len(_COLUMNS), names=list(_COLUMNS)),
                              1, stats))
  joined = {field.name: np.concatenate([getattr(part, field.name) for part in parts])
            for field in dataclasses.fields(_Columns) if field.name != "names"}
  names = pa.chunked_array([part.names for part in parts], type=pa.string())
  del parts
  release_memory()  # The batches' buffers: the peak is the sort below, not them on top of it.
  by_key = np.lexsort((joined["lo"], joined["hi"]))  # Stable: among equal keys, the first row first.
  for column in joined:  # Into key order one column at a time, each unsorted copy freed at once.
    joined[column] = joined[column][by_key]
  hi, lo = joined.pop("hi"), joined.pop("lo")
  sorted_keys = np.empty(len(by_key), dtype=image_keys.KEY_DTYPE)
  sorted_keys["hi"], sorted_keys["lo"] = hi, lo
  repeat = np.zeros(len(by_key), dtype=bool)
  repeat[1:] = (hi[1:] == hi[:-1]) & (lo[1:] == lo[:-1])
  del hi, lo
  columns = {name: joined[name] for name in ("date", "latitude", "longitude", "flags")}
  names = pc.take(names, pa.array(by_key, type=pa.int64())).combine_chunks()
  offsets = np.frombuffer(names.buffers()[1], dtype=np.int32)[names.offset:names.offset + len(names) + 1]
  blob = (np.frombuffer(names.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]] if len(names)
          else np.zeros(0, dtype=np.uint8))
  return _finish(stats, sorted_keys, repeat, joined["rows"], columns, blob,
                 np.diff(offsets).astype(np.uint64))


# glibc keeps freed heap memory for reuse unless asked; elsewhere there is no such call.
_MALLOC_TRIM = getattr(ctypes.CDLL(None), "malloc_trim", None)


def release_memory() -> None:
  """Gives back to the system what pyarrow's allocator and the C heap kept after a build.

  After the full CSV's build that is ~120 MB of numpy's freed temporaries on top of
  pyarrow's pool, in the one worker that builds the lookup.
  """
  pa.default_memory_pool().release_unused()
  if _MALLOC_TRIM is not None:
    _MALLOC_TRIM(0)


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
