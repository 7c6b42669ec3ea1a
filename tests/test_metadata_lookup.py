"""The compact CSV lookup and its pyarrow reader: every row's values found by hash, first row wins, counts of the rest."""

from __future__ import annotations

import io
import math

import google_crc32c
import numpy as np
import pytest

from pass_tfds import errors
from pass_tfds.pipeline import image_keys, metadata, metadata_csv_reader, metadata_lookup

HEADER = ",unickname,datetaken,licensename,hash,latitude,longitude\n"


def _build(rows: str):
  return metadata_csv_reader.build(io.BytesIO((HEADER + rows).encode("utf-8")), "pass_metadata.csv")


def test_values_round_trip_through_the_file():
  rows = (
      '0,NA,2012-08-09 18:00:20.0,CC BY,00ab,1.5,-2.25\n'
      '1,"name, with ""quotes""\nand a newline",,CC BY,CD,,\n'
      '2,ÉÈ 007,0000-00-00 00:00:00,CC BY,ef,91,3\n'
  )
  lookup, stats = _build(rows)
  lookup = metadata_lookup.MetadataLookup.from_bytes(lookup.to_bytes())
  assert stats.rows == 3 and len(lookup) == 3
  expected = {
      "ab": metadata.parse_fields("NA", "2012-08-09 18:00:20.0", "1.5", "-2.25"),
      "cd": metadata.parse_fields('name, with "quotes"\nand a newline', "", "", ""),
      "ef": metadata.parse_fields("ÉÈ 007", "0000-00-00 00:00:00", "91", "3"),
  }
  for image_hash, want in expected.items():
    got = lookup.get(image_keys.image_key(image_hash))
    assert got.creator_username == want.creator_username
    assert got.date_taken == want.date_taken
    assert (got.date_invalid, got.gps_invalid) == (want.date_invalid, want.gps_invalid)
    for a, b in ((got.gps_latitude, want.gps_latitude), (got.gps_longitude, want.gps_longitude)):
      assert (math.isnan(a) and math.isnan(b)) or a == b
  assert lookup.get(image_keys.image_key("abcd")) is None


def test_first_row_wins_and_repeats_are_counted_with_examples():
  rows = (
      "0,first,,L,0a,,\n"
      "1,second,,L,0A,,\n"  # Same hash, other values.
      "2,first,,L,a,,\n"  # Same hash, same values.
      "3,x,,L,not-hex,,\n"
  )
  lookup, stats = _build(rows)
  assert lookup.get(0xA).creator_username == "first"
  assert (stats.duplicate_rows, stats.differing_duplicate_rows, stats.unusable_hash_rows) == (2, 1, 1)
  assert stats.duplicate_examples == [
      "row 2: same hash as row 1 (other values; row 1 is used)",
      "row 3: same hash as row 1 (same values; row 1 is used)",
  ]
  assert stats.unusable_hash_examples == ["row 4: hash 'not-hex'"]
  assert image_keys.sortable(lookup.keys()).tolist() == sorted(image_keys.sortable(lookup.keys()).tolist())


def test_a_lookup_is_loaded_once_per_process(tmp_path):
  lookup, _ = _build("0,u,,L,ab,,\n")
  reads = []

  def read(path):
    reads.append(path)
    return lookup.to_bytes()

  digest = f"{google_crc32c.value(lookup.to_bytes()):08x}"
  first = metadata_lookup.load_once(str(tmp_path / "l.npz"), digest, read)
  assert metadata_lookup.load_once(str(tmp_path / "l.npz"), digest, read) is first
  assert reads == [str(tmp_path / "l.npz")]


def test_a_lookup_rebuilt_at_the_same_path_is_read_again(tmp_path):
  """Kept by path alone, a second build in one process used the first build's lookup."""
  path = str(tmp_path / "l.npz")
  lookups = [_build("0,u,,L,ab,,\n")[0], _build("0,v,,L,cd,,\n")[0]]
  for lookup in lookups:
    data = lookup.to_bytes()
    loaded = metadata_lookup.load_once(path, f"{google_crc32c.value(data):08x}", lambda _: data)
    assert loaded.keys().tolist() == lookup.keys().tolist()
  with pytest.raises(errors.MetadataFormatError, match="CRC32C"):  # Bytes of another lookup: refused.
    metadata_lookup.load_once(path, "00000000", lambda _: lookups[0].to_bytes())


def _awkward_csv(seed: int = 0, rows: int = 3000) -> bytes:
  """Rows that exercise every branch of the vectorized build, and its Python fallbacks."""
  import csv
  import random

  rng = random.Random(seed)
  dates = ["", "2012-08-09 18:00:20.0", "2012-08-09T18:00:20", "2012-08-09 18:00:20.123456", " 2012-08-09 18:00:20",
           "2012-02-30 10:00:00", "0000-00-00 00:00:00", "2012-13-01 00:00:00", "2000-02-29 23:59:59",
           "1900-02-29 00:00:00", "2012-08-09 24:00:00", "2012-08-09 18:00:20.", "garbage", "２０１２-08-09 18:00:20",
           "2012-08-09 18:00:20\u2028", "2012-8-9 18:00:20", "9999-12-31 23:59:59.9"]
  coordinates = ["", "12.5", "-90", "90.0001", "+.5", "1e2", "1e999", "nan", "inf", " 12", "1_0", "abc", "-180",
                 "180.5", "0", "-0.0", "5."]
  hashes = [f"{rng.getrandbits(128):032x}" for _ in range(rows // 2)]
  buffer = io.StringIO()
  writer = csv.writer(buffer)
  writer.writerow(metadata.EXPECTED_HEADER)
  for number in range(rows):
    choice = rng.random()
    if choice < 0.05:
      image_hash = rng.choice(["not-hex", "f" * 40, " " + hashes[0].upper() + " ", "00" + hashes[1], "", "0"])
    else:
      image_hash = rng.choice(hashes)  # Repeats: first row wins.
    writer.writerow([number, rng.choice(["NA", "é\nx", 'q"uote', "", "user, name", "山田"]),
                     rng.choice(dates), "CC BY", image_hash, rng.choice(coordinates), rng.choice(coordinates)])
  return buffer.getvalue().encode("utf-8")


def test_the_columnar_build_gives_the_row_by_row_lookup():
  data = _awkward_csv()
  fast, fast_stats = metadata_csv_reader.build(io.BytesIO(data), "pass_metadata.csv")
  slow, slow_stats = metadata_lookup.build_by_rows(io.BytesIO(data), "pass_metadata.csv")
  assert fast_stats == slow_stats
  assert fast_stats.duplicate_rows > 0 and fast_stats.unusable_hash_rows > 0
  fast_arrays = fast.arrays()
  for name, array in slow.arrays().items():
    assert np.array_equal(fast_arrays[name], array, equal_nan=array.dtype.kind == "f"), name


def test_a_damaged_csv_is_named():
  import pytest

  from pass_tfds.errors import MetadataFormatError

  with pytest.raises(MetadataFormatError, match="pass_metadata.csv: cannot be read"):
    metadata_csv_reader.build(io.BytesIO((HEADER + "0,a,b\n").encode()), "pass_metadata.csv")
  with pytest.raises(MetadataFormatError, match="pass_metadata.csv: cannot be read"):
    metadata_csv_reader.build(io.BytesIO(HEADER.encode() + b"0,\xe9,,L,ab,,\n"), "pass_metadata.csv")
