"""Writing one shard file, through Beam FileSystems (local or gs://), without TensorFlow.

Workers never import TensorFlow: it costs seconds per worker process and
nothing here needs it. TFRecord framing is written directly (the format is
a length, two masked CRC32C checksums and the data); ArrayRecord goes through
TFDS's own adapter.
"""

from __future__ import annotations

import struct
from typing import Iterable, Iterator

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
import google_crc32c
from tensorflow_datasets.core import file_adapters

_MASK_DELTA = 0xA282EAD8


def masked_crc32c(data: bytes) -> int:
  crc = google_crc32c.value(data)
  return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def tfrecord_frame(record: bytes) -> tuple[bytes, bytes]:
  """The bytes before and after a record in a TFRecord file."""
  length = struct.pack("<Q", len(record))
  return length + struct.pack("<I", masked_crc32c(length)), struct.pack("<I", masked_crc32c(record))


def _write_tfrecord(path: str, records: Iterable[bytes]) -> None:
  with FileSystems.create(
      path, mime_type="application/octet-stream", compression_type=CompressionTypes.UNCOMPRESSED
  ) as stream:
    for record in records:
      head, tail = tfrecord_frame(record)
      stream.write(head)
      stream.write(record)
      stream.write(tail)


def write_shard(path: str, records: Iterator[bytes], file_format: file_adapters.FileFormat) -> None:
  """Writes the serialized examples to `path`, replacing any earlier attempt."""
  if file_format == file_adapters.FileFormat.TFRECORD:
    _write_tfrecord(path, records)
  else:
    adapter = file_adapters.ADAPTER_FOR_FORMAT[file_format]
    adapter.write_examples(path, ((None, record) for record in records))


def rename(source: str, destination: str) -> None:
  if FileSystems.exists(destination):
    FileSystems.delete([destination])
  FileSystems.rename([source], [destination])


def delete(path: str) -> None:
  FileSystems.delete([path])


def write_text(path: str, text: str) -> None:
  with FileSystems.create(path, mime_type="text/plain") as stream:
    stream.write(text.encode("utf-8"))
