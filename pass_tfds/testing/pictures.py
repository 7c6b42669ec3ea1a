"""Photo-like RGB pictures, cut fast from a small pool of rendered base pictures.

A pool of `POOL_SIZE` base pictures (1/f luminance, soft colour, a few shapes,
sensor noise) is rendered once per seed; every image is a crop of one of them,
maybe mirrored, with a faint unique patch so that no two images share bytes.
`calibrate` picks the noise level and JPEG qualities that give a target size.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import random
from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

POOL_SIZE = 8
NOISE_LEVELS = (1.0, 2.0, 4.0, 8.0, 14.0, 24.0, 40.0, 64.0)
DEFAULT_NOISE = 3  # Index into NOISE_LEVELS.
_BASE_SIZE = (704, 560)  # Base pictures; crops are at most 640 x 500.
_PATCH = 16  # Side of the unique random patch that makes every image's bytes distinct.
_LOW_NIBBLE = bytes(value & 15 for value in range(256))


@dataclasses.dataclass(frozen=True)
class Plan:
  """How to cut one image out of the base pool."""

  width: int
  height: int
  base: int
  x: int
  y: int
  flip: bool
  patch_xy: tuple[int, int]
  patch: bytes
  share: float  # Uniform in [0, 1): picks between the two calibrated JPEG qualities.


def plan_image(key: str) -> Plan:
  rng = random.Random(key)
  if rng.random() < 0.2:  # Portrait.
    height = rng.randint(400, 500)
    width = rng.randint(320, height - 40)
  else:
    width = rng.randint(360, 640)
    height = rng.randint(240, min(500, width - 40))
  return Plan(
      width=width,
      height=height,
      base=rng.randrange(POOL_SIZE),
      x=rng.randint(0, _BASE_SIZE[0] - width),
      y=rng.randint(0, _BASE_SIZE[1] - height),
      flip=rng.random() < 0.5,
      patch_xy=(rng.randint(0, width - _PATCH), rng.randint(0, height - _PATCH)),
      patch=rng.randbytes(_PATCH * _PATCH * 3),
      share=rng.random(),
  )


def _smooth_field(rng: np.random.Generator, cells: tuple[int, int], channels: int) -> np.ndarray:
  """Values in [-0.5, 0.5]: random cells upsampled bicubically to the base size."""
  small = (rng.random((cells[0], cells[1], channels)) * 255).astype(np.uint8)
  if channels == 1:
    small = small[..., 0]
  big = Image.fromarray(small).resize(_BASE_SIZE, Image.Resampling.BICUBIC)
  field = np.asarray(big, np.float32) / 255 - 0.5
  return field if channels > 1 else field[..., None]


def _render_base(rng: np.random.Generator, noise: float) -> Image.Image:
  """One photo-like picture: 1/f luminance, soft colour, a few shapes, sensor noise."""
  width, height = _BASE_SIZE
  luminance = np.zeros((height, width, 1), np.float32)
  for octave, amplitude in enumerate((120, 70, 40, 26, 18)):
    cells = (2 + 3 * 2**octave // 2, 3 + 4 * 2**octave // 2)
    luminance += _smooth_field(rng, cells, 1) * amplitude
  colour = rng.uniform(60, 200, 3) + _smooth_field(rng, (3, 4), 3) * 90
  picture = Image.fromarray(np.clip(colour + luminance, 0, 255).astype(np.uint8))
  for _ in range(int(rng.integers(5, 12))):
    mask = Image.new("L", _BASE_SIZE, 0)
    x, y = int(rng.integers(-50, width)), int(rng.integers(-50, height))
    w, h = int(rng.integers(30, 220)), int(rng.integers(30, 220))
    opacity = int(rng.integers(120, 230))
    if rng.random() < 0.6:
      ImageDraw.Draw(mask).ellipse((x, y, x + w, y + h), fill=opacity)
    else:
      ImageDraw.Draw(mask).rectangle((x, y, x + w, y + h), fill=opacity)
    picture.paste(tuple(int(c) for c in rng.integers(0, 256, 3)), mask=mask)
  picture = picture.filter(ImageFilter.GaussianBlur(1.2))
  pixels = np.array(picture, np.float32)
  pixels += rng.normal(0, noise, (height, width, 1)) + rng.normal(0, noise / 2, pixels.shape)
  return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


@functools.lru_cache(maxsize=4)
def base_pool(seed: int, noise: float) -> tuple[Image.Image, ...]:
  """The few base pictures every image is cropped from; deterministic per seed."""
  entropy = int(hashlib.md5(f"pass-sample/{seed}/pool/{noise}".encode()).hexdigest(), 16)
  rng = np.random.default_rng(entropy)
  return tuple(_render_base(rng, noise) for _ in range(POOL_SIZE))


def render_rgb(pool: Sequence[Image.Image], plan: Plan) -> Image.Image:
  image = pool[plan.base].crop((plan.x, plan.y, plan.x + plan.width, plan.y + plan.height))
  if plan.flip:
    image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
  # A faint unique texture (+-8 levels) makes every image's bytes distinct.
  x, y = plan.patch_xy
  box = (x, y, x + _PATCH, y + _PATCH)
  texture = Image.frombytes("RGB", (_PATCH, _PATCH), plan.patch.translate(_LOW_NIBBLE))
  image.paste(ImageChops.add(image.crop(box), texture, scale=1.0, offset=-8), box)
  return image


def encode(image: Image.Image, format_: str = "JPEG", **options: Any) -> bytes:
  buffer = io.BytesIO()
  image.save(buffer, format_, **options)
  return buffer.getvalue()


@dataclasses.dataclass(frozen=True)
class Encoding:
  """Calibrated rendering: noise level of the pool, and a mix of two JPEG qualities."""

  noise: float
  quality: int  # Used for a `high_share` of the images, `quality - 1` for the rest.
  high_share: float

  def quality_for(self, plan: Plan) -> int:
    return self.quality if plan.share < self.high_share else self.quality - 1


def calibrate(seed: int, image_kb: float) -> Encoding:
  """Picks noise and JPEG qualities giving about `image_kb` KB per image on average."""
  # Bytes per pixel measured on a few images, times the mean pixel count of many plans.
  pixels = [p.width * p.height for p in
            (plan_image(f"pass-sample/{seed}/calibration/{k}") for k in range(2000))]
  plans = [plan_image(f"pass-sample/{seed}/calibration/{k}") for k in range(40)]
  target = image_kb * 1024 / (sum(pixels) / len(pixels))

  @functools.lru_cache(maxsize=None)
  def mean_size(level: int, quality: int) -> float:
    pool = base_pool(seed, NOISE_LEVELS[level])
    size = sum(len(encode(render_rgb(pool, p), quality=quality)) for p in plans)
    return size / sum(p.width * p.height for p in plans)

  level = DEFAULT_NOISE
  while level + 1 < len(NOISE_LEVELS) and mean_size(level, 95) < target:
    level += 1
  while level > 0 and mean_size(level, 11) > target:
    level -= 1
  low, high = 11, 95  # Smallest quality reaching the target, by bisection.
  while low < high:
    middle = (low + high) // 2
    if mean_size(level, middle) < target:
      low = middle + 1
    else:
      high = middle
  above, below = mean_size(level, low), mean_size(level, low - 1)
  share = min(1.0, max(0.0, (target - below) / (above - below))) if above > below else 1.0
  return Encoding(NOISE_LEVELS[level], low, share)
