"""Turning an archive member's bytes into the JPEG the dataset stores.

`full` keeps a member's own bytes whenever they are a complete JPEG with three
colour channels; anything else that is a valid picture (grayscale or CMYK JPEG,
PNG, ...) is decoded and re-encoded as an RGB JPEG. The `short_side_N` configs
resize, using JPEG draft mode to decode at 1/2, 1/4 or 1/8 scale first.
"""

from __future__ import annotations

import dataclasses
import io
import warnings

from PIL import Image, ImageOps

from pass_tfds.pipeline import accounting

# Refuse anything above this many pixels without decoding it, checked from the
# header; PASS's largest images are far below. Pillow's own check, left as it
# is, runs in Image.open: above Image.MAX_IMAGE_PIXELS (89,478,485 by default)
# it only warns (DecompressionBombWarning, silenced in `_open`), above twice
# that (about 179 megapixels) it raises DecompressionBombError.
MAX_PIXELS = 64_000_000
REENCODE_QUALITY = 95  # For `full`: formats that must become JPEG.
_THREE_CHANNEL_JPEG_MODES = frozenset({"RGB", "YCbCr"})
_JPEG_FORMATS = frozenset({"JPEG", "MPO"})


class SkipImage(Exception):
  """The bytes are not a usable picture; `reason` is an accounting skip reason."""

  def __init__(self, reason: str, detail: str):
    super().__init__(f"{reason}: {detail}")
    self.reason = reason
    self.detail = detail


@dataclasses.dataclass(frozen=True, slots=True)
class PreparedImage:
  data: bytes  # JPEG bytes to store.
  original_width: int
  original_height: int
  reencoded: bool


@dataclasses.dataclass(frozen=True, slots=True)
class JpegHeader:
  width: int
  height: int
  components: int  # 3 for colour (YCbCr or RGB), 1 grayscale, 4 CMYK.
  complete: bool  # Reaches an end-of-image marker after the main scan.


_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def scan_jpeg(data: bytes) -> JpegHeader | None:
  """Reads a JPEG's frame header and checks it is complete, without decoding.

  Walks the marker segments to the first start-of-scan of the main image (so
  an EXIF thumbnail's EOI does not count), then looks for EOI, searching from
  the end, in the scan data: 0xFF bytes there are always stuffed, so FF D9 can
  only be a real marker. None when the bytes are not a JPEG with a frame header.
  """
  if not data.startswith(b"\xff\xd8"):
    return None
  position, end = 2, len(data)
  frame = None
  while position + 4 <= end:
    if data[position] != 0xFF:
      return None
    marker = data[position + 1]
    if marker == 0xFF:  # Fill byte.
      position += 1
      continue
    if 0xD0 <= marker <= 0xD7 or marker == 0x01:
      position += 2
      continue
    if marker == 0xD9:  # EOI before any scan.
      break
    length = int.from_bytes(data[position + 2:position + 4], "big")
    if marker in _SOF_MARKERS and frame is None and position + 10 <= end:
      height = int.from_bytes(data[position + 5:position + 7], "big")
      width = int.from_bytes(data[position + 7:position + 9], "big")
      frame = (width, height, data[position + 9])
    position += 2 + length
    if marker == 0xDA:
      if frame is None:
        return None
      return JpegHeader(*frame, complete=data.rfind(b"\xff\xd9", position) != -1)
  return JpegHeader(*frame, complete=False) if frame else None


def jpeg_is_complete(data: bytes) -> bool:
  """True when a JPEG's marker structure reaches its end-of-image marker."""
  header = scan_jpeg(data)
  return header is not None and header.complete


def short_side_size(width: int, height: int, short_side: int) -> tuple[int, int]:
  """The size with the shorter side at `short_side`, aspect kept; never upscaled."""
  shorter = min(width, height)
  if shorter <= short_side:
    return width, height
  scale = short_side / shorter
  if width <= height:
    return short_side, max(1, round(height * scale))
  return max(1, round(width * scale)), short_side


def _open(data: bytes, max_pixels: int) -> Image.Image:
  if not data:
    raise SkipImage(accounting.EMPTY_FILE, "zero bytes")
  try:
    with warnings.catch_warnings():
      warnings.simplefilter("ignore", Image.DecompressionBombWarning)
      image = Image.open(io.BytesIO(data))
  except Image.DecompressionBombError as error:
    raise SkipImage(accounting.DECOMPRESSION_BOMB, str(error)) from None
  except (OSError, SyntaxError, ValueError) as error:
    raise SkipImage(accounting.UNDECODABLE, f"not a picture Pillow can read ({error})") from None
  width, height = image.size
  if width * height > max_pixels:
    raise SkipImage(
        accounting.DECOMPRESSION_BOMB,
        f"{width}x{height} = {width * height:,} pixels in {len(data):,} bytes (limit {max_pixels:,})",
    )
  if width == 0 or height == 0:
    raise SkipImage(accounting.UNDECODABLE, f"size {width}x{height}")
  return image


_DECODING_ERRORS = (OSError, SyntaxError, ValueError, EOFError)


def _skip_for(error: Exception) -> SkipImage:
  """The skip for an error Pillow raised while decoding pixels."""
  message = str(error)
  truncated = isinstance(error, OSError) and "truncated" in message
  return SkipImage(accounting.TRUNCATED if truncated else accounting.UNDECODABLE, message)


def _load(image: Image.Image) -> None:
  try:
    image.load()
  except _DECODING_ERRORS as error:
    raise _skip_for(error) from None


def _orientation(image: Image.Image) -> int:
  """The EXIF orientation tag (1 when absent). A PNG's EXIF may follow its pixels, so reading it
  can decode them: a damaged picture is skipped here as `_load` would skip it."""
  try:
    return image.getexif().get(0x0112, 1)
  except _DECODING_ERRORS as error:
    raise _skip_for(error) from None


def to_rgb(image: Image.Image) -> Image.Image:
  """The picture as RGB; transparency is composited on white."""
  if image.mode == "RGB":
    return image
  if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background
  return image.convert("RGB")


def _encode_jpeg(image: Image.Image, quality: int) -> bytes:
  buffer = io.BytesIO()
  image.save(buffer, format="JPEG", quality=quality)
  return buffer.getvalue()


def prepare_full(data: bytes, max_pixels: int = MAX_PIXELS) -> PreparedImage:
  """The `full` config: the original bytes when possible, else an RGB JPEG."""
  header = scan_jpeg(data)
  if (
      header is not None
      and header.complete
      and header.components == 3
      and 0 < header.width * header.height <= max_pixels
  ):  # The common case, decided from the header alone: no decoding.
    return PreparedImage(data, header.width, header.height, reencoded=False)
  image = _open(data, max_pixels)
  width, height = image.size
  if image.format in _JPEG_FORMATS:
    if not jpeg_is_complete(data):
      raise SkipImage(accounting.TRUNCATED, "JPEG data ends before its end-of-image marker")
    if image.mode in _THREE_CHANNEL_JPEG_MODES:
      return PreparedImage(data, width, height, reencoded=False)
  _load(image)
  return PreparedImage(
      _encode_jpeg(to_rgb(image), REENCODE_QUALITY), width, height, reencoded=True
  )


def prepare_resized(
    data: bytes,
    short_side: int,
    quality: int,
    *,
    use_draft: bool = True,
    max_pixels: int = MAX_PIXELS,
) -> PreparedImage:
  """A `short_side_N` config: EXIF orientation applied, shorter side resized to N.

  With `use_draft`, JPEGs are decoded at the smallest DCT scale (1/2, 1/4, 1/8)
  that still leaves the shorter side at least N, which skips most of the work.
  Images already small enough and upright keep their bytes.
  """
  image = _open(data, max_pixels)
  width, height = image.size
  is_jpeg = image.format in _JPEG_FORMATS
  if is_jpeg and not jpeg_is_complete(data):
    raise SkipImage(accounting.TRUNCATED, "JPEG data ends before its end-of-image marker")
  orientation = _orientation(image)
  target = short_side_size(*_oriented(width, height, orientation), short_side)
  if (
      is_jpeg
      and image.mode in _THREE_CHANNEL_JPEG_MODES
      and orientation == 1
      and target == (width, height)
  ):
    return PreparedImage(data, width, height, reencoded=False)
  if is_jpeg and use_draft:
    # Draft takes the requested size in stored (unrotated) orientation.
    stored_target = target if orientation in (1, 2, 3, 4) else target[::-1]
    image.draft("RGB", stored_target)
  _load(image)
  image = to_rgb(ImageOps.exif_transpose(image))
  if image.size != target:
    image = image.resize(target, Image.Resampling.LANCZOS)
  return PreparedImage(_encode_jpeg(image, quality), width, height, reencoded=True)


def _oriented(width: int, height: int, orientation: int) -> tuple[int, int]:
  return (height, width) if orientation in (5, 6, 7, 8) else (width, height)
