"""The float Lanczos reference the resize candidates are measured against."""

import io

import numpy as np
from PIL import Image

from pass_tfds.testing import resize_reference


def _noise(size=(300, 200)):
  rng = np.random.default_rng(0)
  return rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)


def test_weights_are_normalised_and_constant_stays_constant():
  weights = resize_reference.lanczos_weights(300, 97)
  np.testing.assert_allclose(weights.sum(axis=1), 1.0)
  flat = np.full((200, 300, 3), 77, np.uint8)
  np.testing.assert_allclose(resize_reference.lanczos_resize(flat, (97, 64)), 77.0)


def test_matches_pillow_lanczos_up_to_rounding():
  """Same kernel, centres and stretch as Pillow's LANCZOS: only rounding apart.

  Pillow rounds (and clips the overshoot) after each of its two passes: about
  0.27 levels on average on noise. BICUBIC, a half-pixel shift or an
  unstretched kernel are 1 to 4 levels off.
  """
  pixels = _noise()
  for size in [(97, 64), (150, 100), (41, 29)]:
    pillow = np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.LANCZOS), np.float64)
    reference = np.clip(resize_reference.lanczos_resize(pixels, size), 0, 255)
    assert np.abs(pillow - reference).mean() < 0.35


def test_psnr_of_a_jpeg_against_the_reference():
  pixels = _noise((64, 48))
  buffer = io.BytesIO()
  Image.fromarray(pixels).save(buffer, format="PNG")
  assert resize_reference.psnr(buffer.getvalue(), pixels.astype(np.float64)) == float("inf")
  buffer = io.BytesIO()
  Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
  assert 10 < resize_reference.psnr(buffer.getvalue(), pixels.astype(np.float64)) < 40
