"""`to_data_card`: a loaded example in the data card's instance shape, without Beam."""

import datetime
import io

import numpy as np
from PIL import Image
import pytest

from pass_tfds import to_data_card


def _example(**overrides):
  pixels = np.zeros((4, 6, 3), np.uint8)
  pixels[..., 0] = 200
  example = {
      "image": pixels,
      "creator_username": "NA".encode(),
      "hash": b"0abc123def4567890abc123def45678",
      "gps_latitude": np.float32(48.85),
      "gps_longitude": np.float32(2.35),
      "date_taken": b"2012-08-09T18:00:20",
      "original_width": np.int32(6),
      "original_height": np.int32(4),
  }
  example.update(overrides)
  return example


def test_decoded_example():
  card = to_data_card(_example())
  assert isinstance(card["image"], Image.Image) and card["image"].size == (6, 4)
  assert card["image"].getpixel((0, 0)) == (200, 0, 0)
  assert card["creator_username"] == "NA"  # Stays a string.
  assert card["hash"] == "0abc123def4567890abc123def45678"
  assert card["gps_latitude"] == pytest.approx(48.85) and card["gps_longitude"] == pytest.approx(2.35)
  assert card["date_taken"] == datetime.datetime(2012, 8, 9, 18, 0, 20)


def test_unknowns_become_none():
  card = to_data_card(_example(gps_latitude=np.float32("nan"), gps_longitude=np.float32("nan"), date_taken=b""))
  assert card["gps_latitude"] is None and card["gps_longitude"] is None and card["date_taken"] is None


def test_undecoded_jpeg_bytes():
  buffer = io.BytesIO()
  Image.new("RGB", (7, 5), (0, 128, 0)).save(buffer, format="JPEG")
  card = to_data_card(_example(image=buffer.getvalue(), creator_username="山田太郎"))
  assert card["image"].size == (7, 5) and card["image"].format == "JPEG"
  assert card["creator_username"] == "山田太郎"
