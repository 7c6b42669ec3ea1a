"""CSV row parsing, without Beam."""

import io
import math

import pytest

from pass_tfds.pipeline import metadata
from pass_tfds.errors import MetadataFormatError

HEADER = ",unickname,datetaken,licensename,hash,latitude,longitude\n"


def _rows(text: str):
  return list(metadata.iter_rows(io.BytesIO((HEADER + text).encode("utf-8")), "pass_metadata.csv"))


@pytest.mark.parametrize(
    "raw, expected, invalid",
    [
        ("2012-08-09 18:00:20.0", "2012-08-09T18:00:20", False),
        ("2012-08-09 18:00:20", "2012-08-09T18:00:20", False),
        ("", "", False),
        ("0000-00-00 00:00:00", "", True),
        ("2013-02-30 10:00:00", "", True),
        ("yesterday", "", True),
    ],
)
def test_date_taken(raw, expected, invalid):
  assert metadata.parse_date_taken(raw) == (expected, invalid)


@pytest.mark.parametrize(
    "raw, limit, expected, invalid",
    [
        ("48.8566", 90, 48.8566, False),
        ("-200", 180, math.nan, True),
        ("95.0", 90, math.nan, True),
        ("abc", 90, math.nan, True),
        ("", 90, math.nan, False),
        ("nan", 90, math.nan, True),
    ],
)
def test_coordinate(raw, limit, expected, invalid):
  value, rejected = metadata.parse_coordinate(raw, limit)
  assert rejected == invalid
  assert (math.isnan(value) and math.isnan(expected)) or value == expected


@pytest.mark.parametrize(
    "username",
    ["NA", "null", "None", "nan", "N/A", "", "007", "a, b", "line1\nline2", '"quoted"', "山田太郎", "Ελένη"],
)
def test_usernames_kept_exactly(username):
  escaped = '"' + username.replace('"', '""') + '"'
  ((number, fields),) = _rows(f"0,{escaped},2012-08-09 18:00:20.0,Attribution License,abc123,,\n")
  row = metadata.parse_row(fields)
  assert row.creator_username == username


@pytest.mark.parametrize("image_hash", ["000123456789012345678901234567", "1234e5670000000000000000000000"])
def test_hashes_stay_strings(image_hash):
  ((number, fields),) = _rows(f"7,user,,Attribution License,{image_hash},,\n")
  assert fields["hash"] == image_hash  # The csv module keeps every value a string.


def test_half_a_position_is_none():
  ((number, fields),) = _rows("0,user,,Attribution License,abc,12.5,\n")
  row = metadata.parse_row(fields)
  assert math.isnan(row.gps_latitude) and math.isnan(row.gps_longitude) and row.gps_invalid


def test_bad_header_names_the_file():
  with pytest.raises(MetadataFormatError, match="pass_metadata.csv.*header"):
    list(metadata.iter_rows(io.BytesIO(b"a,b,c\n1,2,3\n"), "pass_metadata.csv"))


def test_short_row_names_the_row():
  with pytest.raises(MetadataFormatError, match="row 2"):
    _rows("0,u,,L,abc,,\n1,u,,L\n")
