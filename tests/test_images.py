"""Image normalisation, without Beam."""

import io

import numpy as np
import pytest
from PIL import Image, ImageFile

from pass_tfds.pipeline import accounting, images


def _picture(mode="RGB", size=(96, 64), fmt="JPEG", **save):
  rng = np.random.default_rng(0)
  array = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
  image = Image.fromarray(array).convert(mode)
  buffer = io.BytesIO()
  image.save(buffer, format=fmt, **save)
  return buffer.getvalue()


def _decoded(data):
  image = Image.open(io.BytesIO(data))
  image.load()
  return image


def test_rgb_jpeg_bytes_untouched():
  data = _picture()
  prepared = images.prepare_full(data)
  assert prepared.data is data and not prepared.reencoded
  assert (prepared.original_width, prepared.original_height) == (96, 64)


def test_progressive_jpeg_untouched():
  data = _picture(progressive=True)
  assert images.prepare_full(data).data is data


@pytest.mark.parametrize(
    "mode, fmt", [("L", "JPEG"), ("CMYK", "JPEG"), ("RGB", "PNG"), ("RGBA", "PNG")]
)
def test_other_pictures_become_rgb_jpeg(mode, fmt):
  prepared = images.prepare_full(_picture(mode, fmt=fmt))
  decoded = _decoded(prepared.data)
  assert prepared.reencoded and decoded.format == "JPEG" and decoded.mode == "RGB"
  assert decoded.size == (96, 64)


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", accounting.EMPTY_FILE),
        (_picture()[:-300], accounting.TRUNCATED),
        (_picture(fmt="PNG")[:-200], accounting.TRUNCATED),
        (b"<html><body>503 Service Unavailable</body></html>", accounting.UNDECODABLE),
        (bytes(range(256)) * 10, accounting.UNDECODABLE),
    ],
)
@pytest.mark.parametrize("prepare", [images.prepare_full, lambda data: images.prepare_resized(data, 64, 90)],
                         ids=["full", "short_side_64"])
def test_unusable_bytes_are_skipped(data, reason, prepare):
  with pytest.raises(images.SkipImage) as skip:
    prepare(data)
  assert skip.value.reason == reason


class Decoded(Exception):
  """Raised by the patched decoders: the code under test decoded pixels."""


def _refuse_decoding(*args, **kwargs):
  raise Decoded("pixels were decoded")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.parametrize("prepare", [
    images.prepare_full,
    lambda data, max_pixels: images.prepare_resized(data, 64, 90, max_pixels=max_pixels),
], ids=["full", "resized"])
def test_bomb_refused_from_header(fmt, prepare, monkeypatch):
  data = _picture(size=(400, 300), fmt=fmt)
  monkeypatch.setattr(Image.Image, "load", _refuse_decoding)
  monkeypatch.setattr(ImageFile.ImageFile, "load", _refuse_decoding)
  with pytest.raises(Decoded):  # The patch does catch decoding: resizing must decode.
    images.prepare_resized(data, 64, 90)
  with pytest.raises(images.SkipImage) as skip:
    prepare(data, max_pixels=100_000)
  assert skip.value.reason == accounting.DECOMPRESSION_BOMB


def test_jpeg_is_complete_ignores_thumbnail_eoi():
  thumbnail = _picture(size=(16, 16))
  image = Image.open(io.BytesIO(_picture()))
  exif = Image.Exif()
  exif[0x010E] = "x"
  buffer = io.BytesIO()
  image.save(buffer, format="JPEG", exif=exif.tobytes() + thumbnail)
  data = buffer.getvalue()
  assert images.jpeg_is_complete(data)
  cut = data[: data.rindex(b"\xff\xd9")]
  assert not images.jpeg_is_complete(cut)


@pytest.mark.parametrize(
    "size, short_side, expected",
    [((640, 480), 256, (341, 256)), ((480, 640), 256, (256, 341)), ((200, 100), 256, (200, 100))],
)
def test_short_side_size(size, short_side, expected):
  assert images.short_side_size(*size, short_side) == expected


@pytest.mark.parametrize("use_draft", [True, False])
def test_resize_keeps_aspect_and_original_size(use_draft):
  prepared = images.prepare_resized(_picture(size=(640, 480)), 64, 90, use_draft=use_draft)
  assert _decoded(prepared.data).size == (85, 64)
  assert (prepared.original_width, prepared.original_height) == (640, 480)


def test_resize_applies_exif_orientation():
  image = Image.open(io.BytesIO(_picture(size=(640, 480))))
  exif = Image.Exif()
  exif[0x0112] = 6  # Rotate 90: displayed portrait.
  buffer = io.BytesIO()
  image.save(buffer, format="JPEG", exif=exif)
  prepared = images.prepare_resized(buffer.getvalue(), 64, 90)
  assert _decoded(prepared.data).size == (64, 85)
  assert (prepared.original_width, prepared.original_height) == (640, 480)


def test_small_upright_image_kept_as_is():
  data = _picture(size=(60, 40))
  assert images.prepare_resized(data, 64, 90).data is data
