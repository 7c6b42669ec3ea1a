"""Candidates for the resized configs' decode/resize/encode: speed, quality, determinism.

    python benchmarks/resize_candidates.py [--corpus DIR] [--num_images 300] [--rounds 5]

Reads the JPEGs of a generated PASS-like corpus (`--corpus`, tars of about 80 KB
photo-like JPEGs; generated into --work_dir when not given) and the pictures of
the quirk corpus (grayscale, CMYK, PNG, EXIF rotation, ...), then for
short_side_256 and short_side_64 prints one markdown table:

* images/s per core: CPU seconds of this process (all its threads), the paths
  interleaved round by round (the machine is shared: load drifts), median over
  the rounds (min-max); libvips runs with one worker thread;
* PSNR: mean over the resized pictures (those kept as they are are equal on
  every path) against the float Lanczos-3 resize of the full-size decode
  (`pass_tfds.testing.resize_reference`); quirks only for the paths that keep
  Pillow's decode and colour handling;
* determinism: each path's output bytes in fresh subprocesses with the SIMD code
  paths off (`VIPS_NOVECTOR=1`, libjpeg-turbo's `JSIMD_FORCENONE=1`, OpenCV's
  `setUseOptimized(False)`), with SSE4 instead of AVX2 (`VIPS_VECTOR=0x200`,
  `JSIMD_FORCESSE2=1`, `OPENCV_CPU_DISABLE=...AVX2...`) and with one libvips
  thread (`VIPS_CONCURRENCY=1`), against a subprocess with the defaults: the
  number of outputs that differ.
  A dataset build must write the same bytes on any worker CPU, so any
  difference rejects a path.

`pillow` is today's `images.prepare_resized` (draft decode, LANCZOS, Pillow's
encoder), the baseline.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import time
from typing import Callable

import numpy as np
from PIL import Image, ImageOps

from pass_tfds import testing
from pass_tfds.pipeline import images
from pass_tfds.testing import resize_reference

QUALITY = 90
NO_SIMD_ENV = "RESIZE_BENCH_NO_SIMD"  # The subprocess turns OpenCV's optimised paths off.
ENV_VARIANTS = {
    "SIMD off": {"VIPS_NOVECTOR": "1", "JSIMD_FORCENONE": "1", NO_SIMD_ENV: "1"},
    "SSE4 not AVX2": {"VIPS_VECTOR": "0x200", "JSIMD_FORCESSE2": "1",
                      "OPENCV_CPU_DISABLE": "AVX512_SKX,AVX2,FMA3,AVX,POPCNT"},
    "1 vips thread": {"VIPS_CONCURRENCY": "1"},
}

Prepare = Callable[[bytes, int], bytes]
Shrink = Callable[[Image.Image, tuple[int, int]], Image.Image]


def _encode(image: Image.Image) -> bytes:
  buffer = io.BytesIO()
  image.save(buffer, format="JPEG", quality=QUALITY)
  return buffer.getvalue()


def _pillow_path(shrink: Shrink) -> Prepare:
  """Today's path (draft decode, EXIF orientation, colour, Pillow's encoder) with another shrink."""
  def prepare(data: bytes, short_side: int) -> bytes:
    image = Image.open(io.BytesIO(data))
    orientation = image.getexif().get(0x0112, 1)
    upright = image.size[::-1] if orientation in (5, 6, 7, 8) else image.size
    target = images.short_side_size(*upright, short_side)
    if (image.format == "JPEG" and image.mode in ("RGB", "YCbCr") and orientation == 1
        and target == image.size):
      return data
    if image.format == "JPEG":
      image.draft("RGB", target if orientation in (1, 2, 3, 4) else target[::-1])
    image = images.to_rgb(ImageOps.exif_transpose(image))
    return _encode(image if image.size == target else shrink(image, target))
  return prepare


def pillow(data: bytes, short_side: int) -> bytes:
  return images.prepare_resized(data, short_side, QUALITY).data


def _pillow_bicubic(image: Image.Image, target: tuple[int, int]) -> Image.Image:
  return image.resize(target, Image.Resampling.BICUBIC)


def _vips_reduce(image: Image.Image, target: tuple[int, int]) -> Image.Image:
  import pyvips  # pylint: disable=import-outside-toplevel
  width, height = image.size
  pixels = pyvips.Image.new_from_memory(image.tobytes(), width, height, 3, "uchar")
  reduced = pixels.reduce(width / target[0], height / target[1], kernel="lanczos3")
  return Image.frombytes("RGB", (reduced.width, reduced.height), reduced.write_to_memory())


def _opencv(interpolation: str) -> Shrink:
  def shrink(image: Image.Image, target: tuple[int, int]) -> Image.Image:
    import cv2  # pylint: disable=import-outside-toplevel
    flag = getattr(cv2, interpolation)
    return Image.fromarray(cv2.resize(np.asarray(image), target, interpolation=flag))
  return shrink


def _target(data: bytes, short_side: int) -> tuple[int, int]:
  image = Image.open(io.BytesIO(data))
  width, height = image.size
  if image.getexif().get(0x0112, 1) in (5, 6, 7, 8):
    width, height = height, width
  return images.short_side_size(width, height, short_side)


def vips_end_to_end(data: bytes, short_side: int) -> bytes:
  """libvips throughout (three-channel JPEGs): shrink-on-load, autorotate, lanczos3, its encoder."""
  import pyvips  # pylint: disable=import-outside-toplevel
  target = _target(data, short_side)
  if target == _target(data, 10**9):
    return data
  header = pyvips.Image.new_from_buffer(data, "")
  orientation = header.get("orientation") if header.get_typeof("orientation") else 1
  stored = target[::-1] if orientation in (5, 6, 7, 8) else target
  shrink = 1
  while (shrink < 8
         and min(header.width // (shrink * 2), header.height // (shrink * 2)) >= min(stored)):
    shrink *= 2
  image = pyvips.Image.new_from_buffer(data, "", shrink=shrink, access="sequential").autorot()
  resized = image.resize(target[0] / image.width, vscale=target[1] / image.height,
                         kernel="lanczos3")
  return resized.jpegsave_buffer(Q=QUALITY, keep="none", subsample_mode="on")


def vips_thumbnail(data: bytes, short_side: int) -> bytes:
  """`thumbnail_buffer`: libvips' own size rounding, shrink-on-load and colour management."""
  import pyvips  # pylint: disable=import-outside-toplevel
  target = _target(data, short_side)
  if target == _target(data, 10**9):
    return data
  return pyvips.Image.thumbnail_buffer(data, target[0], height=target[1]).jpegsave_buffer(
      Q=QUALITY, keep="none", subsample_mode="on")


def _dct_scale(size: tuple[int, int], target: tuple[int, int]) -> int:
  """The largest of 1, 2, 4, 8 whose DCT-scaled decode keeps both sides >= `target`'s (as draft)."""
  scale = 1
  while scale < 8 and all(-(-side // (scale * 2)) >= want for side, want in zip(size, target)):
    scale *= 2
  return scale


ArrayShrink = Callable[[np.ndarray, tuple[int, int]], np.ndarray]


def _simplejpeg_path(shrink: ArrayShrink, small_shrink: ArrayShrink | None = None,
                     small_pixels: int = 0) -> Prepare:
  """simplejpeg (libjpeg-turbo) decode at draft mode's scales and encode, 4:2:0 as Pillow's.

  Three-channel upright JPEGs only, with today's header checks (complete, EXIF
  orientation). With `small_shrink`, decoded pictures of at most `small_pixels`
  pixels use it instead (libvips' fixed cost per call outweighs its speed there).
  """
  import simplejpeg  # pylint: disable=import-outside-toplevel

  def prepare(data: bytes, short_side: int) -> bytes:
    # The checks an integrated path would keep: complete three-channel JPEG, upright.
    header = images.scan_jpeg(data)
    assert header is not None and header.complete and header.components == 3
    assert Image.open(io.BytesIO(data)).getexif().get(0x0112, 1) == 1
    width, height = header.width, header.height
    target = images.short_side_size(width, height, short_side)
    if target == (width, height):
      return data
    scale = _dct_scale((width, height), target)
    pixels = simplejpeg.decode_jpeg(data, "RGB", min_width=-(-width // scale),
                                    min_height=-(-height // scale))
    if pixels.shape[1::-1] != target:
      use_small = small_shrink is not None and pixels.shape[0] * pixels.shape[1] <= small_pixels
      pixels = (small_shrink if use_small else shrink)(pixels, target)
    return simplejpeg.encode_jpeg(np.ascontiguousarray(pixels), QUALITY, "RGB", "420")
  return prepare


def _array_vips_reduce(pixels: np.ndarray, target: tuple[int, int]) -> np.ndarray:
  import pyvips  # pylint: disable=import-outside-toplevel
  height, width = pixels.shape[:2]
  image = pyvips.Image.new_from_memory(pixels.data, width, height, 3, "uchar")
  reduced = image.reduce(width / target[0], height / target[1], kernel="lanczos3")
  return np.frombuffer(reduced.write_to_memory(), np.uint8).reshape(target[1], target[0], 3)


def _array_pillow_lanczos(pixels: np.ndarray, target: tuple[int, int]) -> np.ndarray:
  return np.asarray(Image.fromarray(pixels).resize(target, Image.Resampling.LANCZOS))


def paths() -> dict[str, tuple[Prepare, bool]]:
  """name -> (prepare, whether it handles every picture the builder does: quirks measured)."""
  found: dict[str, tuple[Prepare, bool]] = {"pillow (today)": (pillow, True)}
  found["Pillow, BICUBIC instead of LANCZOS"] = (_pillow_path(_pillow_bicubic), True)
  try:
    import pyvips  # pylint: disable=import-outside-toplevel
  except ImportError:
    pass
  else:
    pyvips.cache_set_max(0)  # Each picture is seen once: caching only costs.
    found["Pillow decode+encode, libvips reduce lanczos3"] = (_pillow_path(_vips_reduce), True)
    found["libvips end to end (shrink-on-load, resize lanczos3, its encoder)"] = (
        vips_end_to_end, False)
    found["libvips thumbnail_buffer"] = (vips_thumbnail, False)
    try:
      import simplejpeg  # pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
      pass
    else:
      found["simplejpeg decode+encode, libvips reduce lanczos3"] = (
          _simplejpeg_path(_array_vips_reduce), False)
      found["simplejpeg decode+encode, libvips reduce above 64k px, else Pillow LANCZOS"] = (
          _simplejpeg_path(_array_vips_reduce, _array_pillow_lanczos, 64_000), False)
  try:
    import simplejpeg  # pylint: disable=import-outside-toplevel,unused-import
  except ImportError:
    pass
  else:
    found["simplejpeg decode+encode, Pillow LANCZOS"] = (
        _simplejpeg_path(_array_pillow_lanczos), False)
  try:
    import cv2  # pylint: disable=import-outside-toplevel
  except ImportError:
    pass
  else:
    if os.environ.get(NO_SIMD_ENV):
      cv2.setUseOptimized(False)
    found["Pillow decode+encode, OpenCV INTER_AREA"] = (
        _pillow_path(_opencv("INTER_AREA")), True)
    # A control: the resize branch found OpenCV's resize bytes change with its SIMD paths.
    found["Pillow decode+encode, OpenCV INTER_CUBIC (control)"] = (
        _pillow_path(_opencv("INTER_CUBIC")), True)
  return found


def _members(corpus: str) -> dict[str, bytes]:
  data = {}
  for name in sorted(os.listdir(corpus)):
    if name.endswith(".tar"):
      with tarfile.open(os.path.join(corpus, name)) as tar:
        data.update((m.name, tar.extractfile(m).read()) for m in tar if m.isreg())
  return data


def _inputs(args: argparse.Namespace) -> tuple[list[bytes], list[bytes]]:
  corpus = args.corpus or os.path.join(args.work_dir, f"sample_{args.num_images}")
  if not args.corpus and not os.path.exists(os.path.join(corpus, "manifest.json")):
    testing.write_sample(corpus, args.num_images, image_kb=80)
  quirks = os.path.join(args.work_dir, "quirks")
  if not os.path.exists(os.path.join(quirks, "manifest.json")):
    testing.write_quirk_corpus(quirks)
  generated = [data for name, data in _members(corpus).items()
               if name.endswith((".jpg", ".jpeg"))][:args.num_images]
  expected = testing.load_manifest(quirks).expected
  quirk_pictures = [data for name, data in _members(quirks).items()
                    if expected.get(name) in (testing.WRITTEN, testing.WRITTEN_REENCODED)]
  return generated, quirk_pictures


def _digests(args: argparse.Namespace) -> None:
  """Subprocess: every path's output digests, one JSON object on stdout."""
  generated, quirk_pictures = _inputs(args)
  result = {}
  for name, (prepare, handles_quirks) in paths().items():
    payloads = generated + (quirk_pictures if handles_quirks else [])
    result[name] = {str(short_side): [hashlib.sha256(prepare(data, short_side)).hexdigest()
                                      for data in payloads]
                    for short_side in args.short_sides}
  print(json.dumps(result))


def _digests_under(args: argparse.Namespace, env: dict[str, str]) -> dict:
  command = [sys.executable, os.path.abspath(__file__), "--digests", "--work_dir", args.work_dir,
             "--num_images", str(args.num_images), "--short_sides", *map(str, args.short_sides)]
  if args.corpus:
    command += ["--corpus", args.corpus]
  environment = {k: v for k, v in os.environ.items()
                 if k not in ("VIPS_NOVECTOR", "VIPS_VECTOR", "VIPS_CONCURRENCY",
                              "OPENCV_CPU_DISABLE")
                 and not k.startswith("JSIMD_")}
  done = subprocess.run(command, env={**environment, **env}, capture_output=True, text=True)
  if done.returncode:
    raise RuntimeError(f"digests under {env} failed:\n{done.stderr[-3000:]}")
  return json.loads(done.stdout.strip().splitlines()[-1])


def _rates(prepares: dict[str, Prepare], payloads: list[bytes], short_side: int,
           rounds: int) -> dict[str, list[float]]:
  rates: dict[str, list[float]] = {name: [] for name in prepares}
  for _ in range(rounds):
    for name, prepare in prepares.items():
      started = time.process_time()
      for payload in payloads:
        prepare(payload, short_side)
      rates[name].append(len(payloads) / (time.process_time() - started))
  return rates


def _resized(payloads: list[bytes], short_side: int) -> tuple[list[bytes], list[np.ndarray]]:
  """The payloads that get resized, and their float Lanczos references."""
  kept, references = [], []
  for data in payloads:
    target = _target(data, short_side)
    if _target(data, 10**9) != target:
      kept.append(data)
      references.append(resize_reference.reference_resize(data, target))
  return kept, references


def _psnr(prepare: Prepare, payloads: list[bytes], references: list[np.ndarray],
          short_side: int) -> tuple[float, int]:
  """Mean PSNR, and how many outputs were not the requested size (compared at their own size)."""
  values, wrong_size = [], 0
  for data, reference in zip(payloads, references):
    output = prepare(data, short_side)
    size = Image.open(io.BytesIO(output)).size
    if size != reference.shape[1::-1]:
      wrong_size += 1
      reference = resize_reference.reference_resize(data, size)
    values.append(resize_reference.psnr(output, reference))
  return statistics.mean(values), wrong_size


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--corpus", help="a generated corpus (tars); default: generate one")
  parser.add_argument("--num_images", type=int, default=300)
  parser.add_argument("--work_dir", default="/tmp/pass_resize")
  parser.add_argument("--rounds", type=int, default=5)
  parser.add_argument("--short_sides", type=int, nargs="+", default=[256, 64])
  parser.add_argument("--digests", action="store_true", help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.digests:
    _digests(args)
    return
  try:
    import pyvips  # pylint: disable=import-outside-toplevel
    pyvips.vips_lib.vips_concurrency_set(1)
  except ImportError:
    pass
  generated, quirk_pictures = _inputs(args)
  found = paths()
  baseline = _digests_under(args, {})
  differences = {}
  for label, env in ENV_VARIANTS.items():
    other = _digests_under(args, env)
    differences[label] = {
        (name, short_side): sum(a != b for a, b in zip(baseline[name][short_side],
                                                        other[name][short_side]))
        for name in baseline for short_side in baseline[name]}
  size_kb = sum(map(len, generated)) / len(generated) / 1024
  print(f"{len(generated)} generated JPEGs ({size_kb:.0f} KB on average) and"
        f" {len(quirk_pictures)} quirk-corpus pictures; {platform.machine()},"
        f" {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start."
        f" images/s: CPU seconds of one process, median of {args.rounds} rounds interleaved"
        f" (min-max). PSNR: mean dB over the resized pictures against the float Lanczos-3"
        f" reference. Determinism: outputs (of {len(generated)} generated + quirks where"
        f" measured) that differ from a default subprocess.\n")
  for short_side in args.short_sides:
    resized, references = _resized(generated, short_side)
    quirk_resized, quirk_references = _resized(quirk_pictures, short_side)
    rates = _rates({name: prepare for name, (prepare, _) in found.items()}, generated,
                   short_side, args.rounds)
    base_rate = statistics.median(rates["pillow (today)"])
    print(f"\nshort_side_{short_side} ({len(resized)} of the generated and {len(quirk_resized)}"
          f" of the quirk pictures are resized; load average {os.getloadavg()[0]:.1f}):\n")
    print("| path | images/s per core | vs pillow | PSNR | PSNR quirks | "
          + " | ".join(f"differ: {label}" for label in ENV_VARIANTS) + " |")
    print("|---|---:|---:|---:|---:|" + "---:|" * len(ENV_VARIANTS))
    for name, (prepare, handles_quirks) in found.items():
      rate = statistics.median(rates[name])
      quality, wrong_size = _psnr(prepare, resized, references, short_side)
      quirk = (f"{_psnr(prepare, quirk_resized, quirk_references, short_side)[0]:.2f}"
               if handles_quirks and quirk_resized else "-")
      size_note = f" ({wrong_size} not the requested size)" if wrong_size else ""
      differ = " | ".join(str(differences[label][(name, str(short_side))])
                          for label in ENV_VARIANTS)
      print(f"| {name} | {rate:,.0f} ({min(rates[name]):,.0f}-{max(rates[name]):,.0f})"
            f" | {rate / base_rate:.2f}x | {quality:.2f}{size_note} | {quirk} | {differ} |",
            flush=True)


if __name__ == "__main__":
  main()
