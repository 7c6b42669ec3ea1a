"""One loaded example in the shape of the PASS data card's instances."""

from __future__ import annotations

import datetime
import io
import math
from typing import Any, Mapping

import numpy as np
from PIL import Image


def _text(value: Any) -> str:
  return value.decode("utf-8") if isinstance(value, bytes) else str(value)


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
  date_taken = _text(example["date_taken"])
  return {
      "image": picture,
      "creator_username": _text(example["creator_username"]),
      "hash": _text(example["hash"]),
      "gps_latitude": _coordinate(example["gps_latitude"]),
      "gps_longitude": _coordinate(example["gps_longitude"]),
      "date_taken": datetime.datetime.fromisoformat(date_taken) if date_taken else None,
  }
