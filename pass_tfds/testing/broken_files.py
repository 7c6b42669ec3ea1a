"""Archive members that are not usable pictures: bombs, garbage, an error page, a README."""

from __future__ import annotations

import io
import random
import struct
import zlib

from PIL import Image

from pass_tfds.testing.pictures import encode

BOMB_SIDE = 30000
README = (b"PASS: Pictures without humAns for Self-Supervision\n"
          b"Images are CC-BY; see pass_metadata.csv for their creators.\n")
HTML_PAGE = b"""<!DOCTYPE html>
<html><head><title>503 Service Unavailable</title></head>
<body><h1>Service Unavailable</h1>
<p>The server is temporarily unable to service your request. Please try again later.</p>
<hr><address>Apache Server at live.staticflickr.com Port 443</address></body></html>
"""
DS_STORE = b"\x00\x00\x00\x01Bud1" + bytes(6140)
APPLE_DOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(4070)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
  return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side: int = BOMB_SIDE) -> bytes:
  """A white 1-bit PNG of side x side pixels (~150 KB), compressed a block of rows at a time."""
  row = b"\x00" + b"\xff" * ((side + 7) // 8)
  compressor = zlib.compressobj(9)
  parts = [compressor.compress(row * min(1000, side - start)) for start in range(0, side, 1000)]
  parts.append(compressor.flush())
  header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
  return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
          + _png_chunk(b"IDAT", b"".join(parts)) + _png_chunk(b"IEND", b""))


def jpeg_bomb(side: int = BOMB_SIDE) -> bytes:
  """A tiny JPEG whose SOF0 header claims side x side pixels."""
  data = bytearray(encode(Image.new("L", (64, 64), 128), quality=75))
  sof = data.index(b"\xff\xc0")
  struct.pack_into(">HH", data, sof + 5, side, side)  # Height, width.
  return bytes(data)


def garbage(rng: random.Random) -> bytes:
  """Random bytes that Pillow cannot identify as any picture format."""
  while True:
    data = b"\x13\x37" + rng.randbytes(8190)
    try:
      with Image.open(io.BytesIO(data)) as image:
        image.load()
    except Exception:  # pylint: disable=broad-except
      return data
