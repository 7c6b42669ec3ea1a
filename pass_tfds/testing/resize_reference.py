"""The quality yardstick for resized images: float Lanczos from the full-size decode.

`reference_resize` decodes a member at full size with Pillow, applies its EXIF
orientation, converts it to RGB as the builder does, and resamples it with a
Lanczos-3 filter in float64 (separable, the kernel widened by the scale when
shrinking, as Pillow's `resize` and libvips' `reduce` define it), with no
rounding until the end. `psnr` compares an output JPEG with it. Used by
benchmarks/resize_candidates.py (ported from the `resize` branch).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps

from pass_tfds.pipeline import images

LANCZOS_LOBES = 3


def _lanczos(x: np.ndarray) -> np.ndarray:
  return np.where(np.abs(x) < LANCZOS_LOBES, np.sinc(x) * np.sinc(x / LANCZOS_LOBES), 0.0)


def lanczos_weights(in_size: int, out_size: int) -> np.ndarray:
  """The (out_size, in_size) matrix of normalised Lanczos-3 weights along one axis.

  Pixel centres are aligned ((i + 0.5) * scale); when shrinking the kernel is
  stretched by the scale (antialiasing); taps that fall outside the image are
  dropped and the rest renormalised.
  """
  scale = in_size / out_size
  stretch = max(scale, 1.0)
  centres = (np.arange(out_size) + 0.5) * scale
  positions = np.arange(in_size) + 0.5
  weights = _lanczos((positions[None, :] - centres[:, None]) / stretch)
  return weights / weights.sum(axis=1, keepdims=True)


def lanczos_resize(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
  """`pixels` (height, width, channels) resampled to `size` (width, height), float64, unrounded."""
  height, width = pixels.shape[:2]
  rows = lanczos_weights(height, size[1])
  columns = lanczos_weights(width, size[0])
  planes = pixels.astype(np.float64).transpose(2, 0, 1)  # (channels, height, width)
  return (rows @ planes @ columns.T).transpose(1, 2, 0)


def full_size_rgb(data: bytes) -> np.ndarray:
  """The member decoded at full size, EXIF orientation applied, RGB as the builder converts it."""
  return np.asarray(images.to_rgb(ImageOps.exif_transpose(Image.open(io.BytesIO(data)))))


def reference_resize(data: bytes, size: tuple[int, int]) -> np.ndarray:
  """The float Lanczos reference of a member at `size` (width, height)."""
  return lanczos_resize(full_size_rgb(data), size)


def psnr(jpeg: bytes, reference: np.ndarray) -> float:
  """PSNR in dB of a JPEG's decoded pixels against a float reference of the same size."""
  decoded = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"), np.float64)
  if decoded.shape != reference.shape:
    raise ValueError(f"size {decoded.shape} differs from the reference's {reference.shape}")
  error = np.mean((decoded - np.clip(reference, 0, 255)) ** 2)
  return float("inf") if error == 0 else float(10 * np.log10(255**2 / error))
