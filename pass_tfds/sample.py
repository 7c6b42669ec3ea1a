"""Synthetic PASS-like corpora in the real layout, for demos, tests and benchmarks.

The real PASS data (https://zenodo.org/record/6615455) cannot be downloaded
everywhere, so this module writes look-alikes:

* `write_sample` writes `PASS.0.tar` ... `PASS.{n-1}.tar` (plain tar, members
  `PASS.<k>/<hash[:2]>/<hash>.jpg` plus their directory entries), a
  `pass_metadata.csv` with PASS's header and messy Flickr-ish usernames, and
  optionally a TFDS `checksums.tsv`. Images are photo-like RGB JPEGs of about
  `image_kb` KB, rendered fast from a small pool of base pictures.
* `write_quirk_corpus` writes every awkward case the builder must survive
  (odd encodings, broken files, bombs, junk names, duplicates, odd CSV values)
  and records the expected outcome of every archive member.

Both save a `manifest.json` (`SampleManifest`) next to the files.

    python -m pass_tfds.sample --out DIR --num_images N [--num_archives 10] [--seed 0]
        [--image_kb 80] [--csv_rows N] [--quirks] [--processes P]
"""

from __future__ import annotations

import argparse
import collections
import csv
import dataclasses
import functools
import hashlib
import io
import json
import multiprocessing
import os
import random
import struct
import tarfile
import time
import zlib
from typing import Any, Callable, Iterable, Sequence

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from pass_tfds.accounting import (
    DECOMPRESSION_BOMB,
    DUPLICATE_HASH,
    EMPTY_FILE,
    NAME_WITHOUT_HASH,
    NOT_AN_IMAGE,
    SKIP_REASONS,
    TRUNCATED,
    UNDECODABLE,
)

METADATA_FILE = "pass_metadata.csv"
MANIFEST_FILE = "manifest.json"
CHECKSUMS_FILE = "checksums.tsv"
URL_PREFIX = "https://zenodo.org/record/6615455/files/"
CSV_HEADER = ("", "unickname", "datetaken", "licensename", "hash", "latitude", "longitude")
FULL_CSV_ROWS = 1_439_588  # Rows of the real pass_metadata.csv.
LICENSE = "Attribution License"
WRITTEN = "written"
WRITTEN_REENCODED = "written_reencoded"
OUTCOMES = (WRITTEN, WRITTEN_REENCODED) + SKIP_REASONS

_MTIME = 1654560000  # 2022-06-07, PASS's Zenodo release: fixed for byte-identical tars.
_BASE_SIZE = (704, 560)  # Base pictures; crops are at most 640 x 500.
_POOL_SIZE = 8
_PATCH = 16  # Side of the unique random patch that makes every image's bytes distinct.
_LOW_NIBBLE = bytes(value & 15 for value in range(256))
_NOISE_LEVELS = (1.0, 2.0, 4.0, 8.0, 14.0, 24.0, 40.0, 64.0)
_DEFAULT_NOISE = 3  # Index into _NOISE_LEVELS.
_DATE_START = 1104537600  # 2005-01-01
_DATE_SPAN = 15 * 365 * 86400
_GPS_SHARE = 0.3


def archive_name(index: int) -> str:
  return f"PASS.{index}.tar"


# --------------------------------------------------------------------------
# Manifest


@dataclasses.dataclass(frozen=True)
class SampleManifest:
  """What a writer produced; saved as `manifest.json` in the output folder.

  `images`: for `write_sample`, hash -> {"archive", "member", "width", "height"};
  for the quirk corpus, member path -> the same plus "hash" (None when the name
  holds no hash; width/height None when the file is not a complete picture).
  `expected` (quirk corpus): member path -> "written", "written_reencoded" or a
  skip reason of `pass_tfds.accounting`. `expected_counts`: the numbers a
  correct build reports for these files.
  """

  archives: list[str]
  metadata_file: str = METADATA_FILE
  images: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
  expected: dict[str, str] = dataclasses.field(default_factory=dict)
  expected_counts: dict[str, Any] = dataclasses.field(default_factory=dict)
  kind: str = "sample"  # "sample" or "quirks".
  seed: int = 0

  def to_json(self) -> str:
    fields = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
    return json.dumps(fields, ensure_ascii=False, indent=1) + "\n"

  @classmethod
  def from_json(cls, text: str) -> "SampleManifest":
    return cls(**json.loads(text))

  def save(self, out_dir: str) -> str:
    path = os.path.join(out_dir, MANIFEST_FILE)
    with open(path, "w", encoding="utf-8") as f:
      f.write(self.to_json())
    return path


def load_manifest(out_dir: str) -> SampleManifest:
  with open(os.path.join(out_dir, MANIFEST_FILE), encoding="utf-8") as f:
    return SampleManifest.from_json(f.read())


# --------------------------------------------------------------------------
# Hashes


def _hash_with_length(key: str, lengths: Sequence[int] = (30, 31, 32),
                      taken: set[str] | frozenset[str] = frozenset()) -> str:
  """md5 hexdigest of `key` without leading zeros, re-drawn until its length fits."""
  digest = hashlib.md5(key.encode()).hexdigest().lstrip("0")
  salt = 0
  while len(digest) not in lengths or digest in taken:
    salt += 1
    digest = hashlib.md5(f"{key}#{salt}".encode()).hexdigest().lstrip("0")
  return digest


def _image_hash(seed: int, index: int) -> str:
  """Hash of sample image `index`; a few are forced to 31 and 30 characters."""
  lengths = {1: (31,), 2: (30,)}.get(index % 100, (30, 31, 32))
  return _hash_with_length(f"pass-sample/{seed}/image/{index}", lengths)


# --------------------------------------------------------------------------
# Pictures


@dataclasses.dataclass(frozen=True)
class _Plan:
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


def _plan_image(key: str) -> _Plan:
  rng = random.Random(key)
  if rng.random() < 0.2:  # Portrait.
    height = rng.randint(400, 500)
    width = rng.randint(320, height - 40)
  else:
    width = rng.randint(360, 640)
    height = rng.randint(240, min(500, width - 40))
  return _Plan(
      width=width,
      height=height,
      base=rng.randrange(_POOL_SIZE),
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
def _base_pool(seed: int, noise: float) -> tuple[Image.Image, ...]:
  """The few base pictures every image is cropped from; deterministic per seed."""
  entropy = int(hashlib.md5(f"pass-sample/{seed}/pool/{noise}".encode()).hexdigest(), 16)
  rng = np.random.default_rng(entropy)
  return tuple(_render_base(rng, noise) for _ in range(_POOL_SIZE))


def _render_rgb(pool: Sequence[Image.Image], plan: _Plan) -> Image.Image:
  image = pool[plan.base].crop((plan.x, plan.y, plan.x + plan.width, plan.y + plan.height))
  if plan.flip:
    image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
  # A faint unique texture (+-8 levels) makes every image's bytes distinct.
  x, y = plan.patch_xy
  box = (x, y, x + _PATCH, y + _PATCH)
  texture = Image.frombytes("RGB", (_PATCH, _PATCH), plan.patch.translate(_LOW_NIBBLE))
  image.paste(ImageChops.add(image.crop(box), texture, scale=1.0, offset=-8), box)
  return image


def _encode(image: Image.Image, format_: str = "JPEG", **options: Any) -> bytes:
  buffer = io.BytesIO()
  image.save(buffer, format_, **options)
  return buffer.getvalue()


@dataclasses.dataclass(frozen=True)
class _Encoding:
  """Calibrated rendering: noise level of the pool, and a mix of two JPEG qualities."""

  noise: float
  quality: int  # Used for a `high_share` of the images, `quality - 1` for the rest.
  high_share: float

  def quality_for(self, plan: _Plan) -> int:
    return self.quality if plan.share < self.high_share else self.quality - 1


def _calibrate(seed: int, image_kb: float) -> _Encoding:
  """Picks noise and JPEG qualities giving about `image_kb` KB per image on average."""
  # Bytes per pixel measured on a few images, times the mean pixel count of many plans.
  pixels = [p.width * p.height for p in
            (_plan_image(f"pass-sample/{seed}/calibration/{k}") for k in range(2000))]
  plans = [_plan_image(f"pass-sample/{seed}/calibration/{k}") for k in range(40)]
  target = image_kb * 1024 / (sum(pixels) / len(pixels))

  @functools.lru_cache(maxsize=None)
  def mean_size(level: int, quality: int) -> float:
    pool = _base_pool(seed, _NOISE_LEVELS[level])
    size = sum(len(_encode(_render_rgb(pool, p), quality=quality)) for p in plans)
    return size / sum(p.width * p.height for p in plans)

  level = _DEFAULT_NOISE
  while level + 1 < len(_NOISE_LEVELS) and mean_size(level, 95) < target:
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
  return _Encoding(_NOISE_LEVELS[level], low, share)


# --------------------------------------------------------------------------
# Tar, CSV and checksum writing


class _HashingFile:
  """Write-only file wrapper counting bytes and computing their sha256."""

  def __init__(self, raw: Any):
    self._raw = raw
    self.size = 0
    self.sha256 = hashlib.sha256()

  def write(self, data: bytes) -> int:
    self._raw.write(data)
    self.sha256.update(data)
    self.size += len(data)
    return len(data)

  def tell(self) -> int:
    return self.size


def _tar_info(name: str, size: int | None) -> tarfile.TarInfo:
  info = tarfile.TarInfo(name)
  info.mtime = _MTIME
  info.uname = info.gname = "pass"
  info.uid = info.gid = 1000
  if size is None:
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
  else:
    info.size = size
    info.mode = 0o644
  return info


def _write_tar(path: str, files: Iterable[tuple[str, bytes]]) -> tuple[int, str, int]:
  """Writes members (and their parent directory entries) in order.

  Returns (size, sha256 hex, number of directory entries).
  """
  seen: set[str] = set()
  with open(path, "wb") as raw:
    out = _HashingFile(raw)
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
      for member, data in files:
        parts = member.split("/")
        for depth in range(1, len(parts)):
          folder = "/".join(parts[:depth])
          if folder not in seen:
            seen.add(folder)
            tar.addfile(_tar_info(folder, None))
        tar.addfile(_tar_info(member, len(data)), io.BytesIO(data))
  return out.size, out.sha256.hexdigest(), len(seen)


def _sha256_file(path: str) -> tuple[int, str]:
  digest = hashlib.sha256()
  size = 0
  with open(path, "rb") as f:
    while chunk := f.read(1 << 20):
      digest.update(chunk)
      size += len(chunk)
  return size, digest.hexdigest()


def _write_checksums(out_dir: str, files: dict[str, tuple[int, str]]) -> None:
  """TFDS format: `url<TAB>size<TAB>sha256<TAB>filename`, sorted by url."""
  lines = sorted(f"{URL_PREFIX}{name}\t{size}\t{sha}\t{name}\n"
                 for name, (size, sha) in files.items())
  with open(os.path.join(out_dir, CHECKSUMS_FILE), "w", encoding="utf-8") as f:
    f.writelines(lines)


def _csv_writer(f: Any) -> Any:
  return csv.writer(f, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")


# --------------------------------------------------------------------------
# Usernames and CSV rows

_FIRST = ("john", "maria", "alex", "sophie", "lukas", "emma", "josé", "anna", "li", "kenji", "olga",
          "pierre", "fatima", "ivan", "chloé", "jürgen", "søren", "zoë", "raj", "mehmet", "aiko",
          "pablo", "ingrid", "tomás", "nina", "dave", "sarah", "ahmed", "lucía", "marek")
_LAST = ("smith", "garcia", "müller", "rossi", "dubois", "tanaka", "kowalski", "nguyen", "silva",
         "o'connor", "jensen", "van der berg", "novák", "yılmaz", "andersson", "kim", "costa",
         "brown")
_WORDS = ("photo", "pics", "lens", "shots", "travel", "wanderer", "nature", "urban", "film",
          "pixel", "light", "street", "birder", "macro", "sky", "nomad", "shutter", "wild",
          "analog", "click")
_NON_LATIN = ("日本語の写真", "山田太郎", "Кирилл", "Кирилл Петров", "Ελένη", "محمد", "김민수", "王小明",
              "सूरज कुमार", "שרה כהן", "ชัยวัฒน์", "Ολυμπία Π.", "Дмитрий_фото", "さくら🌸")
_QUOTED = ('the "real" joe', "O'Brien photos", '"Mad" Max', "Joe's pics", 'say "cheese"')
_COMMAS = ("Smith, John", "photos, etc.", "Lee, Ann & Bob", "Paris, France", "me, myself, i")
_NULLISH = ("NA", "null", "nan", "None", "N/A")
# The strings pandas' read_csv turns into NaN by default (pandas._libs.parsers.STR_NA_VALUES,
# pandas 1.x-3.x): a username among them crashes the TFDS catalog's `pass` builder.
PANDAS_NA_STRINGS = frozenset({
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
})


def _pandas_safe(name: str) -> str:
  """`name`, or a variant pandas reads as a string when it would read `name` as NaN."""
  while name in PANDAS_NA_STRINGS or name.strip() in PANDAS_NA_STRINGS:
    name = f"{name}_"
  return name


def _username(rng: random.Random, plain: bool = False) -> str:
  """One Flickr-ish username; mostly handles and names, sometimes awkward (unless `plain`)."""
  roll = rng.random() * (0.77 if plain else 1.0)
  first, last, word = rng.choice(_FIRST), rng.choice(_LAST), rng.choice(_WORDS)
  if roll < 0.40:
    suffix = str(rng.randint(1, 9999)) if rng.random() < 0.5 else ""
    return f"{word}{rng.choice(('', '_', '.', '-'))}{rng.choice(_WORDS)}{suffix}"
  if roll < 0.65:
    return f"{first.capitalize()} {last.title()}"
  if roll < 0.77:
    return f"{first}{rng.choice(('.', '_', ''))}{last.replace(' ', '')}{rng.randint(0, 99) or ''}"
  if roll < 0.83:
    return rng.choice(_NON_LATIN)
  if roll < 0.88:
    return f"{first.capitalize()} {last[0].upper()}. ({rng.choice(_WORDS)})"
  if roll < 0.92:
    return rng.choice(_QUOTED)
  if roll < 0.96:
    return rng.choice(_COMMAS)
  if roll < 0.98:
    return rng.choice(_NULLISH)
  return f":: {word} {rng.choice(_WORDS)} ::"


def _username_pool(rng: random.Random, size: int, plain: bool = False) -> list[str]:
  return [_username(rng, plain) for _ in range(size)]


def _random_fields(rng: random.Random, names: Sequence[str]) -> tuple[str, str, str, str]:
  """(unickname, datetaken, latitude, longitude), all valid; GPS for ~30% of rows."""
  name = names[int(len(names) * rng.random() ** 2)]  # A few prolific users.
  moment = time.gmtime(_DATE_START + int(rng.random() * _DATE_SPAN))
  taken = time.strftime("%Y-%m-%d %H:%M:%S.0", moment)
  if rng.random() < _GPS_SHARE:
    latitude = repr(round(rng.uniform(-55.0, 70.0), 6))
    longitude = repr(round(rng.uniform(-180.0, 180.0), 6))
    return name, taken, latitude, longitude
  return name, taken, "", ""


def _write_sample_csv(path: str, seed: int, image_hashes: list[str], rows: int,
                      pandas_safe_usernames: bool = False) -> int:
  """Writes `rows` rows in random order: one per image (while rows last), the rest
  for hashes without an image. Returns the number of images that got a row."""
  rng = random.Random(f"pass-sample/{seed}/csv")
  with_row = list(image_hashes) if rows >= len(image_hashes) else rng.sample(image_hashes, rows)
  rng.shuffle(with_row)
  slots = dict(zip(rng.sample(range(rows), len(with_row)), with_row))
  names = _username_pool(rng, max(50, min(20000, rows // 30)))
  if pandas_safe_usernames:  # Same random draws; only the NaN-looking names change.
    names = [_pandas_safe(name) for name in names]
  taken = set(image_hashes)
  extra = 0
  with open(path, "w", encoding="utf-8", newline="") as f:
    writer = _csv_writer(f)
    writer.writerow(CSV_HEADER)
    for row in range(rows):
      hash_ = slots.get(row)
      if hash_ is None:
        hash_ = _hash_with_length(f"pass-sample/{seed}/extra/{extra}", taken=taken)
        extra += 1
      name, taken_at, latitude, longitude = _random_fields(rng, names)
      writer.writerow((row, name, taken_at, LICENSE, hash_, latitude, longitude))
  return len(with_row)


# --------------------------------------------------------------------------
# write_sample


def _default_processes(num_images: int, num_archives: int) -> int:
  if num_images < 2000:
    return 1
  cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
  return max(1, min(cpus, num_archives))


def _warm_pool(seed: int, noise: float) -> None:
  _base_pool(seed, noise)


def _run(function: Callable[[Any], Any], jobs: list[Any], processes: int,
         seed: int, noise: float) -> list[Any]:
  """Maps `function` over `jobs`, in worker processes when `processes` > 1."""
  if processes <= 1 or len(jobs) <= 1:
    return [function(job) for job in jobs]
  # Fork: the workers inherit the rendered pool, and do not re-import `pass_tfds`
  # (whose __init__ loads TensorFlow). They only use numpy, Pillow and tarfile.
  methods = multiprocessing.get_all_start_methods()
  context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
  with context.Pool(min(processes, len(jobs)), _warm_pool, (seed, noise)) as pool:
    return pool.map(function, jobs, chunksize=1)


def _sample_archive_job(job: tuple[str, list[tuple[int, str]], int, _Encoding]
                        ) -> tuple[int, str, int]:
  """Renders and writes one archive; job = (path, [(index, member)], seed, encoding)."""
  path, items, seed, encoding = job
  pool = _base_pool(seed, encoding.noise)

  def files() -> Iterable[tuple[str, bytes]]:
    for index, member in items:
      plan = _plan_image(f"pass-sample/{seed}/plan/{index}")
      yield member, _encode(_render_rgb(pool, plan), quality=encoding.quality_for(plan))

  return _write_tar(path, files())


def write_sample(out_dir: str, num_images: int, *, num_archives: int = 10, seed: int = 0,
                 image_kb: int = 80, csv_rows: int | None = None, write_checksums: bool = True,
                 processes: int | None = None,
                 pandas_safe_usernames: bool = False) -> SampleManifest:
  """Writes `num_images` JPEGs over `num_archives` tars plus the metadata CSV.

  `csv_rows` (default `num_images`) larger than `num_images` adds rows for
  hashes without an image; smaller leaves random images without a row.
  `processes` defaults to the available CPUs for large samples; the output is
  identical whatever the number of processes.
  `pandas_safe_usernames` avoids usernames that pandas' `read_csv` reads as NaN
  (`NA`, `null`, `nan`, `None`, `N/A`, ...: `PANDAS_NA_STRINGS`) by appending
  `_` to them, so that the TFDS catalog's `pass` builder can read the CSV; the
  default keeps them, as the real data has such names. Archives are the same.
  """
  if num_images < 0 or num_archives < 1 or image_kb <= 0 or (csv_rows is not None and csv_rows < 0):
    raise ValueError("need num_images >= 0, num_archives >= 1, image_kb > 0, csv_rows >= 0")
  os.makedirs(out_dir, exist_ok=True)
  hashes = [_image_hash(seed, index) for index in range(num_images)]
  if len(set(hashes)) != len(hashes):
    raise RuntimeError("hash collision in the sample; use another seed")
  order = list(range(num_images))
  random.Random(f"pass-sample/{seed}/spread").shuffle(order)
  archive_of = {index: position % num_archives for position, index in enumerate(order)}
  members = [f"PASS.{archive_of[i]}/{h[:2]}/{h}.jpg" for i, h in enumerate(hashes)]
  per_archive: list[list[tuple[int, str]]] = [[] for _ in range(num_archives)]
  for index, member in enumerate(members):
    per_archive[archive_of[index]].append((index, member))
  for items in per_archive:
    items.sort(key=lambda item: item[1])  # Folder by folder, like `tar` of a sorted tree.

  encoding = _calibrate(seed, image_kb)
  archives = [archive_name(k) for k in range(num_archives)]
  jobs = [(os.path.join(out_dir, archives[k]), per_archive[k], seed, encoding)
          for k in range(num_archives)]
  if processes is None:
    processes = _default_processes(num_images, num_archives)
  results = _run(_sample_archive_job, jobs, processes, seed, encoding.noise)

  rows = num_images if csv_rows is None else csv_rows
  csv_path = os.path.join(out_dir, METADATA_FILE)
  with_row = _write_sample_csv(csv_path, seed, hashes, rows, pandas_safe_usernames)
  if write_checksums:
    files = {name: (size, sha) for name, (size, sha, _) in zip(archives, results)}
    files[METADATA_FILE] = _sha256_file(csv_path)
    _write_checksums(out_dir, files)

  images = {}
  for index, (hash_, member) in enumerate(zip(hashes, members)):
    plan = _plan_image(f"pass-sample/{seed}/plan/{index}")
    images[hash_] = {"archive": archives[archive_of[index]], "member": member,
                     "width": plan.width, "height": plan.height}
  manifest = SampleManifest(
      archives=archives,
      images=images,
      expected_counts={
          "members": num_images,
          "written": num_images,
          "reencoded": 0,
          "skipped": {},
          "non_file_entries": sum(dirs for _, _, dirs in results),
          "metadata_rows": rows,
          "metadata_rows_without_image": rows - with_row,
          "images_without_metadata": num_images - with_row,
          "invalid_dates": 0,
          "invalid_gps": 0,
      },
      kind="sample",
      seed=seed,
  )
  manifest.save(out_dir)
  return manifest


# --------------------------------------------------------------------------
# The quirk corpus

QUIRK_USERNAMES = ("NA", "null", "None", "nan", "N/A", "", "007", "a, b", "line1\nline2",
                   '"quoted"', "山田太郎", "Ελένη", "محمد")
# (datetaken, invalid): invalid means non-empty and rejected.
QUIRK_DATES = (
    ("2012-08-09 18:00:20.0", False),
    ("2012-08-09 18:00:20", False),
    ("0000-00-00 00:00:00", True),
    ("2013-02-30 10:00:00", True),
    ("yesterday", True),
    ("", False),
)
# (latitude, longitude, invalid): invalid means a value is set but unusable, or only one is set.
QUIRK_GPS = (
    ("", "", False),
    ("abc", "12.5", True),
    ("95.0", "10.0", True),
    ("45.0", "-200", True),
    ("48.858844", "2.294351", False),
    ("48.1", "", True),
    ("", "-3.7", True),
    ("-33.86882", "151.209296", False),
)
QUIRK_ROWS_WITHOUT_IMAGE = 5
QUIRK_NORMAL_PER_ARCHIVE = 4
_BOMB_SIDE = 30000
_README = (b"PASS: Pictures without humAns for Self-Supervision\n"
           b"Images are CC-BY; see pass_metadata.csv for their creators.\n")
_HTML_PAGE = b"""<!DOCTYPE html>
<html><head><title>503 Service Unavailable</title></head>
<body><h1>Service Unavailable</h1>
<p>The server is temporarily unable to service your request. Please try again later.</p>
<hr><address>Apache Server at live.staticflickr.com Port 443</address></body></html>
"""


@dataclasses.dataclass
class _Member:
  archive: int
  member: str
  data: bytes
  expected: str
  hash: str | None
  width: int | None = None
  height: int | None = None
  csv_row: bool = True  # Whether a written image gets a CSV row.


def _png_chunk(kind: bytes, data: bytes) -> bytes:
  return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_bomb(side: int = _BOMB_SIDE) -> bytes:
  """A white 1-bit PNG of side x side pixels (~150 KB), compressed a block of rows at a time."""
  row = b"\x00" + b"\xff" * ((side + 7) // 8)
  compressor = zlib.compressobj(9)
  parts = [compressor.compress(row * min(1000, side - start)) for start in range(0, side, 1000)]
  parts.append(compressor.flush())
  header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
  return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
          + _png_chunk(b"IDAT", b"".join(parts)) + _png_chunk(b"IEND", b""))


def _jpeg_bomb(side: int = _BOMB_SIDE) -> bytes:
  """A tiny JPEG whose SOF0 header claims side x side pixels."""
  data = bytearray(_encode(Image.new("L", (64, 64), 128), quality=75))
  sof = data.index(b"\xff\xc0")
  struct.pack_into(">HH", data, sof + 5, side, side)  # Height, width.
  return bytes(data)


def _garbage(rng: random.Random) -> bytes:
  """Random bytes that Pillow cannot identify as any picture format."""
  while True:
    data = b"\x13\x37" + rng.randbytes(8190)
    try:
      with Image.open(io.BytesIO(data)) as image:
        image.load()
    except Exception:  # pylint: disable=broad-except
      return data


class _QuirkBuilder:
  """Makes the quirk corpus's members; each call draws a fresh picture and hash."""

  def __init__(self, seed: int):
    self.seed = seed
    self.pool = _base_pool(seed, _NOISE_LEVELS[_DEFAULT_NOISE])
    self.count = 0

  def _next(self) -> int:
    self.count += 1
    return self.count

  def picture(self) -> Image.Image:
    return _render_rgb(self.pool, _plan_image(f"pass-quirks/{self.seed}/plan/{self._next()}"))

  def hash(self) -> str:
    return _hash_with_length(f"pass-quirks/{self.seed}/hash/{self._next()}")

  def image(self, archive: int, picture: Image.Image, data: bytes, expected: str = WRITTEN,
            hash_: str | None = None, folder: str | None = None) -> _Member:
    """A member holding a complete picture, named `<hash>.jpg`."""
    hash_ = hash_ or self.hash()
    member = f"PASS.{archive}/{folder or hash_[:2]}/{hash_}.jpg"
    return _Member(archive, member, data, expected, hash_, picture.width, picture.height)

  def jpeg(self, archive: int, expected: str = WRITTEN, hash_: str | None = None,
           folder: str | None = None) -> _Member:
    picture = self.picture()
    return self.image(archive, picture, _encode(picture, quality=90), expected, hash_, folder)

  def normal(self, archive: int) -> list[_Member]:
    return [self.jpeg(archive) for _ in range(QUIRK_NORMAL_PER_ARCHIVE)]

  def broken(self, archive: int, data: bytes, expected: str) -> _Member:
    """A `<hash>.jpg` member that is not a complete picture."""
    hash_ = self.hash()
    return _Member(archive, f"PASS.{archive}/{hash_[:2]}/{hash_}.jpg", data, expected, hash_)

  def other(self, archive: int, name: str, data: bytes, expected: str,
            picture: Image.Image | None = None) -> _Member:
    """A member whose name holds no hash."""
    size = (picture.width, picture.height) if picture else (None, None)
    return _Member(archive, f"PASS.{archive}/{name}", data, expected, None, *size)


def _quirk_members(seed: int) -> list[_Member]:
  """Every archive member of the quirk corpus, in archive order."""
  make = _QuirkBuilder(seed)
  rng = random.Random(f"pass-quirks/{seed}/bytes")
  members: list[_Member] = []
  # PASS.0: a text file, a grayscale JPEG.
  members.append(make.other(0, "README.txt", _README, NOT_AN_IMAGE))
  gray = make.picture().convert("L")
  members.append(make.image(0, gray, _encode(gray, quality=90), WRITTEN_REENCODED))
  members += make.normal(0)
  # PASS.1: .DS_Store, a CMYK JPEG, a picture whose name is not a hash.
  members.append(make.other(1, ".DS_Store", b"\x00\x00\x00\x01Bud1" + bytes(6140), NOT_AN_IMAGE))
  cmyk = make.picture().convert("CMYK")
  members.append(make.image(1, cmyk, _encode(cmyk, quality=90), WRITTEN_REENCODED))
  members += make.normal(1)
  rgb = make.picture()
  members.append(make.other(1, "thumbnail_final.jpg", _encode(rgb, quality=90), NAME_WITHOUT_HASH,
                            rgb))
  # PASS.2: AppleDouble companion, progressive JPEG, first copy of a duplicated hash.
  members += make.normal(2)
  apple_double = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(4070)
  members.append(make.other(2, f"._{members[-1].hash}.jpg", apple_double, NOT_AN_IMAGE))
  rgb = make.picture()
  members.append(make.image(2, rgb, _encode(rgb, quality=90, progressive=True)))
  across = make.jpeg(2)
  members.append(across)
  # PASS.3: PNGs under .jpg names.
  rgb = make.picture()
  members.append(make.image(3, rgb, _encode(rgb, "PNG"), WRITTEN_REENCODED))
  rgba = make.picture().convert("RGBA")
  rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
  members.append(make.image(3, rgba, _encode(rgba, "PNG"), WRITTEN_REENCODED))
  members += make.normal(3)
  # PASS.4: one hash twice in one archive (other folder, other bytes); the first is written.
  within = make.jpeg(4)
  members.append(within)
  members += make.normal(4)
  members.append(make.jpeg(4, DUPLICATE_HASH, within.hash, folder="copies"))
  # PASS.5: PASS.2's hash again (first in this archive, yet a duplicate); EXIF rotation.
  members.append(dataclasses.replace(across, archive=5, expected=DUPLICATE_HASH,
                                     member=across.member.replace("PASS.2/", "PASS.5/", 1)))
  rgb = make.picture()
  exif = Image.Exif()
  exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display.
  members.append(make.image(5, rgb, _encode(rgb, quality=90, exif=exif.tobytes())))
  members += make.normal(5)
  # PASS.6: empty and truncated JPEGs.
  members.append(make.broken(6, b"", EMPTY_FILE))
  complete = _encode(make.picture(), quality=90)
  members.append(make.broken(6, complete[: len(complete) * 6 // 10], TRUNCATED))
  members += make.normal(6)
  # PASS.7: garbage, an HTML error page, a truncated PNG.
  members.append(make.broken(7, _garbage(rng), UNDECODABLE))
  members.append(make.broken(7, _HTML_PAGE, UNDECODABLE))
  complete = _encode(make.picture(), "PNG")
  members.append(make.broken(7, complete[: len(complete) * 6 // 10], TRUNCATED))
  members += make.normal(7)
  # PASS.8: decompression bombs (PNG and JPEG), never to be decoded.
  for data in (_png_bomb(), _jpeg_bomb()):
    bomb = make.broken(8, data, DECOMPRESSION_BOMB)
    members.append(dataclasses.replace(bomb, width=_BOMB_SIDE, height=_BOMB_SIDE))
  members += make.normal(8)
  # PASS.9: hashes pandas would mangle (int, float), an image without a CSV row.
  digits = "000123" + "".join(rng.choice("0123456789") for _ in range(26))
  float_like = "1234e5670" + "".join(rng.choice("0123456789") for _ in range(22))
  members.append(make.jpeg(9, hash_=digits))
  members.append(make.jpeg(9, hash_=float_like))
  members.append(dataclasses.replace(make.jpeg(9), csv_row=False))
  members += make.normal(9)
  return members


def _quirk_rows(seed: int, members: list[_Member]) -> tuple[list[tuple[str, ...]], dict[str, int]]:
  """The CSV rows (without index), shuffled, and the CSV-side expected counts."""
  rng = random.Random(f"pass-quirks/{seed}/csv")
  written = [m for m in members if m.expected in (WRITTEN, WRITTEN_REENCODED)]
  with_row = [m.hash for m in written if m.csv_row]
  written = [m.hash for m in written]
  orphans = [_hash_with_length(f"pass-quirks/{seed}/orphan/{k}", taken=set(written))
             for k in range(QUIRK_ROWS_WITHOUT_IMAGE)]
  names = _username_pool(rng, 40, plain=True)  # Awkward names only from QUIRK_USERNAMES.
  rows, invalid_dates, invalid_gps = [], 0, 0
  dates_from, gps_from = len(QUIRK_USERNAMES), len(QUIRK_USERNAMES) + len(QUIRK_DATES)
  if gps_from + len(QUIRK_GPS) > len(with_row):
    raise AssertionError("not enough images for the CSV cases")
  for k, hash_ in enumerate(with_row + orphans):
    name, taken, latitude, longitude = _random_fields(rng, names)
    if k < dates_from:
      name = QUIRK_USERNAMES[k]
    elif k < gps_from:
      taken, invalid = QUIRK_DATES[k - dates_from]
      invalid_dates += invalid
    elif k < gps_from + len(QUIRK_GPS):
      latitude, longitude, invalid = QUIRK_GPS[k - gps_from]
      invalid_gps += invalid
    rows.append((name, taken, LICENSE, hash_, latitude, longitude))
  rng.shuffle(rows)
  counts = {
      "metadata_rows": len(rows),
      "metadata_rows_without_image": len(orphans),
      "images_without_metadata": len(set(written)) - len(with_row),
      "invalid_dates": invalid_dates,
      "invalid_gps": invalid_gps,
  }
  return rows, counts


def write_quirk_corpus(out_dir: str, *, seed: int = 0) -> SampleManifest:
  """Writes 10 archives + CSV holding every awkward case, with expected outcomes.

  See the module's QUIRK_* tables and `_quirk_members` for the cases; the
  manifest maps every regular-file member path to its expected outcome.
  """
  os.makedirs(out_dir, exist_ok=True)
  members = _quirk_members(seed)
  archives = [archive_name(k) for k in range(10)]
  files: dict[str, tuple[int, str]] = {}
  directories = 0
  for k, name in enumerate(archives):
    size, sha, dirs = _write_tar(os.path.join(out_dir, name),
                                 ((m.member, m.data) for m in members if m.archive == k))
    files[name] = (size, sha)
    directories += dirs
  rows, csv_counts = _quirk_rows(seed, members)
  csv_path = os.path.join(out_dir, METADATA_FILE)
  with open(csv_path, "w", encoding="utf-8", newline="") as f:
    writer = _csv_writer(f)
    writer.writerow(CSV_HEADER)
    writer.writerows((index,) + row for index, row in enumerate(rows))
  files[METADATA_FILE] = _sha256_file(csv_path)
  _write_checksums(out_dir, files)

  outcomes = collections.Counter(m.expected for m in members)
  expected_counts = {
      "members": len(members),
      "written": outcomes[WRITTEN] + outcomes[WRITTEN_REENCODED],
      "reencoded": outcomes[WRITTEN_REENCODED],
      "skipped": {reason: outcomes[reason] for reason in SKIP_REASONS},
      "non_file_entries": directories,
      **csv_counts,
  }
  manifest = SampleManifest(
      archives=archives,
      images={m.member: {"archive": archive_name(m.archive), "member": m.member,
                         "hash": m.hash, "width": m.width, "height": m.height} for m in members},
      expected={m.member: m.expected for m in members},
      expected_counts=expected_counts,
      kind="quirks",
      seed=seed,
  )
  if len(manifest.expected) != len(members):
    raise AssertionError("quirk member paths are not unique")
  manifest.save(out_dir)
  return manifest


# --------------------------------------------------------------------------
# Command line


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
  parser = argparse.ArgumentParser(prog="python -m pass_tfds.sample",
                                   description=__doc__.split("\n", 1)[0])
  parser.add_argument("--out", required=True, help="output folder")
  parser.add_argument("--num_images", type=int, help="images to generate (not with --quirks)")
  parser.add_argument("--num_archives", type=int, default=10)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--image_kb", type=int, default=80, help="average JPEG size in KB")
  parser.add_argument("--csv_rows", type=int, default=None,
                      help=f"CSV rows (default num_images; the real CSV has {FULL_CSV_ROWS})")
  parser.add_argument("--quirks", action="store_true", help="write the quirk corpus instead")
  parser.add_argument("--processes", type=int, default=None, help="worker processes")
  args = parser.parse_args(argv)
  if not args.quirks and args.num_images is None:
    parser.error("--num_images is required unless --quirks is given")
  return args


def _member_sizes(path: str) -> list[int]:
  with tarfile.open(path) as tar:
    return [member.size for member in tar if member.isfile()]


def main(argv: Sequence[str] | None = None) -> None:
  args = _parse_args(argv)
  start = time.perf_counter()
  if args.quirks:
    manifest = write_quirk_corpus(args.out, seed=args.seed)
  else:
    manifest = write_sample(args.out, args.num_images, num_archives=args.num_archives,
                            seed=args.seed, image_kb=args.image_kb, csv_rows=args.csv_rows,
                            processes=args.processes)
  seconds = time.perf_counter() - start
  names = manifest.archives + [manifest.metadata_file]
  total = sum(os.path.getsize(os.path.join(args.out, name)) for name in names)
  sizes = [size for name in manifest.archives
           for size in _member_sizes(os.path.join(args.out, name))]
  print(f"{manifest.kind}: {len(names)} files, {len(sizes)} members"
        f" (avg {sum(sizes) / max(len(sizes), 1) / 1024:.1f} KB), {total / 1e6:.1f} MB"
        f" in {seconds:.1f} s -> {args.out}")


if __name__ == "__main__":
  main()
