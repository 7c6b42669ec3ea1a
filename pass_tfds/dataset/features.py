"""The dataset's features, with the data card's names, and one example's serialized bytes."""

from __future__ import annotations

import math

import numpy as np
import tensorflow_datasets as tfds

from pass_tfds.pipeline.images import PreparedImage
from pass_tfds.pipeline.metadata import ImageMetadata


def features_dict() -> tfds.features.FeaturesDict:
  return tfds.features.FeaturesDict({
      "image": tfds.features.Image(shape=(None, None, 3), encoding_format="jpeg"),
      "creator_username": tfds.features.Text(),
      "hash": tfds.features.Text(),
      "gps_latitude": tfds.features.Scalar(dtype=np.float32, doc="Degrees; NaN when unknown."),
      "gps_longitude": tfds.features.Scalar(dtype=np.float32, doc="Degrees; NaN when unknown."),
      "date_taken": tfds.features.Text(doc="ISO 8601 YYYY-MM-DDTHH:MM:SS; empty when unknown."),
      "original_width": tfds.features.Scalar(dtype=np.int32, doc="Width of the archived image."),
      "original_height": tfds.features.Scalar(dtype=np.int32, doc="Height of the archived image."),
  })


def example_values(image_hash: str, image: PreparedImage, metadata: ImageMetadata | None) -> dict:
  """Feature values for one image; empty metadata (NaN, "") when it has no CSV row."""
  return {
      "image": image.data,
      "creator_username": metadata.creator_username if metadata else "",
      "hash": image_hash,
      "gps_latitude": metadata.gps_latitude if metadata else math.nan,
      "gps_longitude": metadata.gps_longitude if metadata else math.nan,
      "date_taken": metadata.date_taken if metadata else "",
      "original_width": image.original_width,
      "original_height": image.original_height,
  }

