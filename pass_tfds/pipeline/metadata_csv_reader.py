"""`pass_metadata.csv` parsed columnar with pyarrow into a `MetadataLookup`.

The one step of the pipeline that sees every row reads the CSV here: pyarrow's
streaming CSV reader gives batches of string columns; pyarrow compute and numpy
parse the hashes, dates and coordinates of a batch at once. Rows the vectorized
path cannot decide exactly go through `metadata`'s own parsers, so the result
equals `metadata_lookup.build_by_rows`, the row-by-row reference (tested).
"""

from __future__ import annotations

import ctypes
import dataclasses
import io
from typing import IO, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from pass_tfds.dataset import zenodo
from pass_tfds.pipeline import image_keys, metadata
from pass_tfds.errors import MetadataFormatError
from pass_tfds.pipeline.metadata_lookup import (
    DATE_INVALID, EXAMPLES, GPS_INVALID, NO_DATE, CsvStats, MetadataLookup, from_sorted_rows, pack_date,
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
  packed = np.full(len(values), NO_DATE, dtype=np.int64)
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
    packed[positions] = np.where(real, value, NO_DATE)[shaped]
    invalid[positions] = ~real[shaped]
    decided[positions] = True
  for position, raw in _python_fallback(values, decided):
    iso, invalid[position] = metadata.parse_date_taken(raw)
    packed[position] = pack_date(iso)
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
    if len(stats.unusable_hash_examples) < EXAMPLES:
      stats.unusable_hash_examples.append(f"row {first_row + position}: hash {hashes[int(position)].as_py()!r}")
  dates, date_invalid = _dates(batch.column("datetaken"))
  latitude, latitude_invalid = _coordinates(batch.column("latitude"), 90.0)
  longitude, longitude_invalid = _coordinates(batch.column("longitude"), 180.0)
  half = np.isnan(latitude) != np.isnan(longitude)  # Half a position is no position.
  latitude_invalid |= half & ~np.isnan(latitude)
  longitude_invalid |= half & ~np.isnan(longitude)
  latitude[half] = longitude[half] = np.nan
  flags = (DATE_INVALID * date_invalid | GPS_INVALID * (latitude_invalid | longitude_invalid)).astype(np.uint8)
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
  return from_sorted_rows(stats, sorted_keys, repeat, joined["rows"], columns, blob,
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
