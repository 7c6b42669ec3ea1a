"""One loaded example in the shape of the PASS data card's instances."""

from __future__ import annotations

import datetime
import io
import math
from typing import Any, Mapping

import numpy as np
from PIL import Image


def feature_text(value: Any) -> str:
  """A loaded text feature (bytes, numpy bytes, 0-d array or str) as str."""
  if isinstance(value, (bytes, np.bytes_)):
    return bytes(value).decode("utf-8", errors="replace")
  if isinstance(value, np.ndarray):
    return feature_text(value.item())
  return str(value)


def _coordinate(value: Any) -> float | None:
  number = float(value)
  return None if math.isnan(number) else number


def to_data_card(example: Mapping[str, Any]) -> dict[str, Any]:
  """An example from `tfds.as_numpy` or `tfds.data_source` -> the data card's fields.

  `image` becomes a `PIL.Image` (from a decoded array, or from JPEG bytes when
  the image feature was not decoded), GPS a float or None, `date_taken` a
  `datetime` or None.
  """
  image = example["image"]
  if isinstance(image, (bytes, np.bytes_)):
    picture = Image.open(io.BytesIO(bytes(image)))
  else:
    picture = Image.fromarray(np.asarray(image))
  date_taken = feature_text(example["date_taken"])
  return {
      "image": picture,
      "creator_username": feature_text(example["creator_username"]),
      "hash": feature_text(example["hash"]),
      "gps_latitude": _coordinate(example["gps_latitude"]),
      "gps_longitude": _coordinate(example["gps_longitude"]),
      "date_taken": datetime.datetime.fromisoformat(date_taken) if date_taken else None,
  }
