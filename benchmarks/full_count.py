"""The full-count corpus: PASS's 1,439,588 members in 10 tars, tiny images, a full-size CSV.

    python benchmarks/full_count.py OUT_DIR [--images N] [--seed S]

Written for speed (about a minute here), not through `write_sample`, which renders
every picture: a handful of tiny JPEGs are encoded once, and each member is one of
them with a COM (comment) segment right after SOI holding the member's index, so
every member is a valid, distinct JPEG of a few hundred bytes. The layout is the
real one: `PASS.N/<hash[:2]>/<hash>.jpg` with 32-hex hashes, directory entries
for `PASS.N/` and each `PASS.N/xx/`, members sorted by name within an archive;
PASS.9 holds about 60 % of what each other archive holds, as in the real data.
`pass_metadata.csv` has one row per image, in the real header
`,unickname,datetaken,licensename,hash,latitude,longitude`, in random order
(about 150 MB at full count), and `checksums.tsv` the TFDS checksums of all 11
files. `benchmark_corpus.json` records the parameters; a folder whose parameters
match is reused.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import random
import sys
import tarfile
import time
from typing import Any

from PIL import Image

from pass_tfds.testing.layout import CSV_HEADER, LICENSE, RELEASE_MTIME, archive_name
from pass_tfds.testing.metadata_csv import random_fields
from pass_tfds.testing.tar_files import write_checksums
from pass_tfds.testing.usernames import pandas_safe, username_pool

FULL_COUNT = 1_439_588
NUM_ARCHIVES = 10
LAST_ARCHIVE_SHARE = 0.6  # PASS.9 against each of the others.
PARAMS_FILE = "benchmark_corpus.json"
KIND = "full_count_v2"  # v2: colour only, as PASS's images are (v1 re-encoded its grey half).


def archive_counts(images: int, archives: int = NUM_ARCHIVES) -> list[int]:
  """Members per archive: equal shares, the last one LAST_ARCHIVE_SHARE of the others'."""
  unit = images / (archives - 1 + LAST_ARCHIVE_SHARE)
  counts = [round(unit)] * (archives - 1)
  counts.append(images - sum(counts))
  return counts


def tiny_jpegs(seed: int, count: int = 8) -> list[bytes]:
  """A few small, valid colour JPEGs (8 x 8 to 16 x 16, about 300-450 bytes).

  Colour, as PASS's images are: the `full` config stores them untouched, so the
  benchmark times the build's own per-image path, not Pillow re-encoding.
  """
  rng = random.Random(f"full-count/{seed}/jpegs")
  out = []
  for k in range(count):
    side = 8 + 2 * (k % 5)
    image = Image.new("RGB", (side, side), tuple(rng.randrange(256) for _ in range(3)))
    pixels = image.load()
    for _ in range(6):
      pixels[rng.randrange(side), rng.randrange(side)] = tuple(rng.randrange(256) for _ in range(3))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=60, optimize=True)
    out.append(buffer.getvalue())
  return out


def distinct_jpeg(base: bytes, index: int) -> bytes:
  """`base` with a COM segment after SOI naming `index`: still valid, now unique."""
  text = f"pass-bench {index}".encode()
  return base[:2] + b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text + base[2:]


def image_hash(seed: int, index: int) -> str:
  return hashlib.md5(f"full-count/{seed}/{index}".encode()).hexdigest()


def _header(name: str, size: int, directory: bool = False) -> bytes:
  """A GNU tar header block, as tarfile writes it (directory entries)."""
  info = tarfile.TarInfo(name)
  info.mtime = RELEASE_MTIME
  info.uname = info.gname = "pass"
  info.uid = info.gid = 1000
  if directory:
    info.type, info.mode = tarfile.DIRTYPE, 0o755
  else:
    info.size, info.mode = size, 0o644
  return info.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape")


class _FileHeaders:
  """Header blocks of regular files whose names all have one length, from a template:
  the name and size fields patched and the checksum recomputed (tarfile is ~10x slower)."""

  def __init__(self, name_length: int):
    self.block = bytearray(_header("x" * name_length, 0))
    self.name_length = name_length

  def __call__(self, name: str, size: int) -> bytes:
    block = self.block
    encoded = name.encode()
    assert len(encoded) == self.name_length
    block[0:self.name_length] = encoded
    block[124:136] = b"%011o\0" % size
    block[148:156] = b"        "
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def write_archive(path: str, index: int, members: list[tuple[str, bytes]]) -> tuple[int, str]:
  """Writes one tar (GNU format, directory entries first as `tar` writes them)."""
  top = f"PASS.{index}"
  sha = hashlib.sha256()
  size = 0
  seen: set[str] = set()
  file_header = _FileHeaders(len(f"{top}/00/{'0' * 32}.jpg"))
  with open(path, "wb") as f:
    chunk: list[bytes] = []

    def put(data: bytes) -> None:
      chunk.append(data)

    put(_header(top, 0, directory=True))
    for hash_, data in members:
      folder = f"{top}/{hash_[:2]}"
      if folder not in seen:
        seen.add(folder)
        put(_header(folder, 0, directory=True))
      put(file_header(f"{folder}/{hash_}.jpg", len(data)))
      put(data)
      pad = -len(data) % 512
      if pad:
        put(bytes(pad))
      if len(chunk) > 4096:
        blob = b"".join(chunk)
        chunk.clear()
        f.write(blob)
        sha.update(blob)
        size += len(blob)
    put(bytes(1024))  # End-of-archive: two zero blocks (tarfile pads to 10 KiB; real tars vary).
    blob = b"".join(chunk)
    f.write(blob)
    sha.update(blob)
    size += len(blob)
  return size, sha.hexdigest()


def write_csv(path: str, seed: int, hashes: list[str]) -> tuple[int, str]:
  rng = random.Random(f"full-count/{seed}/csv")
  order = list(hashes)
  rng.shuffle(order)
  names = [pandas_safe(name) for name in username_pool(rng, 20000)]
  with open(path, "w", encoding="utf-8", newline="") as f:
    writer = csv.writer(f, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row, hash_ in enumerate(order):
      name, taken, latitude, longitude = random_fields(rng, names)
      writer.writerow((row, name, taken, LICENSE, hash_, latitude, longitude))
  return _sha256(path)


def _sha256(path: str) -> tuple[int, str]:
  sha = hashlib.sha256()
  with open(path, "rb") as f:
    while block := f.read(8 << 20):
      sha.update(block)
  return os.path.getsize(path), sha.hexdigest()


def params(images: int, seed: int) -> dict[str, Any]:
  return {"kind": KIND, "images": images, "seed": seed, "num_archives": NUM_ARCHIVES}


def corpus_matches(out_dir: str, images: int, seed: int) -> bool:
  try:
    with open(os.path.join(out_dir, PARAMS_FILE), encoding="utf-8") as f:
      return json.load(f) == params(images, seed)
  except (OSError, ValueError):
    return False


def write_full_count(out_dir: str, images: int = FULL_COUNT, seed: int = 0) -> dict[str, Any]:
  """Writes the corpus (the params file last, so a half-written folder never matches)."""
  start = time.perf_counter()
  os.makedirs(out_dir, exist_ok=True)
  marker = os.path.join(out_dir, PARAMS_FILE)
  if os.path.exists(marker):
    os.remove(marker)
  jpegs = tiny_jpegs(seed)
  checksums: dict[str, tuple[int, str]] = {}
  all_hashes: list[str] = []
  first = 0
  for archive, count in enumerate(archive_counts(images)):
    members = []
    for index in range(first, first + count):
      hash_ = image_hash(seed, index)
      members.append((hash_, distinct_jpeg(jpegs[index % len(jpegs)], index)))
    first += count
    members.sort()
    all_hashes.extend(hash_ for hash_, _ in members)
    name = archive_name(archive)
    checksums[name] = write_archive(os.path.join(out_dir, name), archive, members)
  checksums["pass_metadata.csv"] = write_csv(os.path.join(out_dir, "pass_metadata.csv"), seed,
                                             all_hashes)
  write_checksums(out_dir, checksums)
  with open(marker, "w", encoding="utf-8") as f:
    json.dump(params(images, seed), f)
  return {"seconds": time.perf_counter() - start,
          "bytes": {name: size for name, (size, _) in checksums.items()}}


def main(argv: list[str] | None = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
  parser.add_argument("out_dir")
  parser.add_argument("--images", type=int, default=FULL_COUNT)
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args(argv)
  if corpus_matches(args.out_dir, args.images, args.seed):
    print(json.dumps({"reused": True}))
    return
  print(json.dumps(write_full_count(args.out_dir, args.images, args.seed)))


if __name__ == "__main__":
  main()
