"""The hand-written Example bytes parse exactly as TFDS's own serialization of the same values."""

from __future__ import annotations

import math

import pytest
import tensorflow as tf

from pass_tfds.dataset import features
from pass_tfds.pipeline import example_codec, images, metadata

CASES = [
    ("00ab", images.PreparedImage(b"\xff\xd8jpeg", 300, 70_000, False),
     metadata.ImageMetadata("NA", "2012-08-09T18:00:20", 1.5, -2.25)),
    ("CD" * 16, images.PreparedImage(b"", 1, 1, True), metadata.ImageMetadata("é 🦉\n\"", "", math.nan, math.nan)),
    ("ef", images.PreparedImage(bytes(range(256)) * 700, 2**31 - 1, 0, False), None),
]


@pytest.mark.parametrize("image_hash,image,row", CASES)
def test_bytes_parse_like_tfds_serialization(image_hash, image, row):
  mine = example_codec.serialize_pass_example(image_hash, image, row)
  theirs = features.features_dict().serialize_example(features.example_values(image_hash, image, row))
  assert tf.train.Example.FromString(mine) == tf.train.Example.FromString(theirs)


@pytest.mark.parametrize("image_hash,image,row", CASES)
def test_the_fast_layout_is_the_general_one(image_hash, image, row):
  assert example_codec.serialize_pass_example(image_hash, image, row) == (
      example_codec.serialize_pass_example_slowly(image_hash, image, row))


def test_bytes_are_reproducible():
  image_hash, image, row = CASES[0]
  assert example_codec.serialize_pass_example(image_hash, image, row) == example_codec.serialize_pass_example(
      image_hash, image, row)
