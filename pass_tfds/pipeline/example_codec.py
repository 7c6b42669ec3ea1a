"""Serializing one example as a `tf.train.Example`, by hand, fast and byte-for-byte reproducible.

TFDS's own serializer builds a protobuf message per example (tens of
microseconds for PASS's eight features, and map entries in no fixed order).
The wire format of `Example` is small and stable, so the bytes are written
here directly, features in name order: the same example gives the same bytes
on every run. `tests/test_example_codec.py` checks that TFDS parses them into
exactly what `FeaturesDict.serialize_example` produces.
"""

from __future__ import annotations

import math
import struct
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
  from pass_tfds.pipeline.images import PreparedImage
  from pass_tfds.pipeline.metadata import ImageMetadata

# tf.train.Feature's oneof field numbers, each length-delimited (wire type 2).
_BYTES_LIST = 0x0A
_FLOAT_LIST = 0x12
_INT64_LIST = 0x1A
_PACKED_OR_BYTES_VALUE = 0x0A  # `value` is field 1 in BytesList, FloatList and Int64List.
_ENTRY = 0x0A  # Example.features (1) / Features.feature map entry (1) / entry key (1).
_ENTRY_VALUE = 0x12  # entry value (2).
_FLOAT = struct.Struct("<f")


_ONE_BYTE = [bytes((value,)) for value in range(128)]


def _varint(value: int) -> bytes:
  if 0 <= value < 128:
    return _ONE_BYTE[value]
  if value < 0:
    value += 1 << 64
  out = bytearray()
  while value > 0x7F:
    out.append(value & 0x7F | 0x80)
    value >>= 7
  out.append(value)
  return bytes(out)


def _delimited(tag: int, payload: bytes) -> bytes:
  return bytes((tag,)) + _varint(len(payload)) + payload


def bytes_feature(value: bytes) -> bytes:
  return _delimited(_BYTES_LIST, _delimited(_PACKED_OR_BYTES_VALUE, value))


def float_feature(value: float) -> bytes:
  return _delimited(_FLOAT_LIST, _delimited(_PACKED_OR_BYTES_VALUE, _FLOAT.pack(value)))


def int64_feature(value: int) -> bytes:
  return _delimited(_INT64_LIST, _delimited(_PACKED_OR_BYTES_VALUE, _varint(value)))


_KEYS: dict[str, bytes] = {}


def _entry(name: str, feature: bytes) -> bytes:
  key = _KEYS.get(name)
  if key is None:
    key = _KEYS[name] = _delimited(_ENTRY, name.encode("utf-8"))
  return _delimited(_ENTRY, key + _delimited(_ENTRY_VALUE, feature))


def serialize(features: Mapping[str, bytes]) -> bytes:
  """An `Example` from {name: encoded feature}, entries in name order."""
  body = b"".join(_entry(name, features[name]) for name in sorted(features))
  return _delimited(_ENTRY, body)


class _Entry:
  """One feature's map entry, all but its value's bytes laid out once."""

  def __init__(self, name: str, kind: int):
    self.key = _delimited(_ENTRY, name.encode("utf-8"))
    self.kind = bytes((kind,))
    self._small: dict[int, bytes] = {}  # Prefixes of the short values most features have.

  def prefix(self, size: int) -> bytes:
    """The entry's bytes before a value of `size` bytes: lengths only, so the value is copied once."""
    if size < 1024:
      known = self._small.get(size)
      if known is None:
        known = self._small[size] = self._prefix(size)
      return known
    return self._prefix(size)

  def _prefix(self, size: int) -> bytes:
    listed = _varint(size)
    feature = _varint(1 + len(listed) + size)
    inner = _varint(1 + len(feature) + 1 + len(listed) + size)
    entry = _varint(len(self.key) + 1 + len(inner) + 1 + len(feature) + 1 + len(listed) + size)
    return b"\x0a" + entry + self.key + b"\x12" + inner + self.kind + feature + b"\x0a" + listed


_PASS_ENTRIES = {
    name: _Entry(name, kind) for name, kind in (
        ("creator_username", _BYTES_LIST), ("date_taken", _BYTES_LIST),
        ("gps_latitude", _FLOAT_LIST), ("gps_longitude", _FLOAT_LIST), ("hash", _BYTES_LIST),
        ("image", _BYTES_LIST), ("original_height", _INT64_LIST), ("original_width", _INT64_LIST),
    )
}
_NAN = _FLOAT.pack(math.nan)


def serialize_pass_example(
    image_hash: str, image: PreparedImage, metadata: ImageMetadata | None
) -> bytes:
  """One PASS example; empty metadata ("" and NaN) when the image has no CSV row.

  The same bytes as `serialize` over the `*_feature` encodings (tested), laid
  out with less work: this runs once per image. TFDS's
  `features.features_dict().serialize_example` parses to the same example
  for the values `features.example_values` gives.
  """
  entries = _PASS_ENTRIES
  parts = []
  for name, value in (
      ("creator_username", metadata.creator_username.encode("utf-8") if metadata else b""),
      ("date_taken", metadata.date_taken.encode("utf-8") if metadata else b""),
      ("gps_latitude", _FLOAT.pack(metadata.gps_latitude) if metadata else _NAN),
      ("gps_longitude", _FLOAT.pack(metadata.gps_longitude) if metadata else _NAN),
      ("hash", image_hash.encode("utf-8")),
      ("image", image.data),
      ("original_height", _varint(image.original_height)),
      ("original_width", _varint(image.original_width)),
  ):
    parts.append(entries[name].prefix(len(value)))
    parts.append(value)
  return b"".join((b"\x0a", _varint(sum(map(len, parts))), *parts))


def serialize_pass_example_slowly(
    image_hash: str, image: PreparedImage, metadata: ImageMetadata | None
) -> bytes:
  """`serialize_pass_example` through the general functions: the reference it is tested against."""
  return serialize({
      "image": bytes_feature(image.data),
      "creator_username": bytes_feature(metadata.creator_username.encode("utf-8") if metadata else b""),
      "hash": bytes_feature(image_hash.encode("utf-8")),
      "gps_latitude": float_feature(metadata.gps_latitude if metadata else math.nan),
      "gps_longitude": float_feature(metadata.gps_longitude if metadata else math.nan),
      "date_taken": bytes_feature(metadata.date_taken.encode("utf-8") if metadata else b""),
      "original_width": int64_feature(image.original_width),
      "original_height": int64_feature(image.original_height),
  })
