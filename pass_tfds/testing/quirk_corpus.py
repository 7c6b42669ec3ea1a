"""`write_quirk_corpus`: every awkward case the builder must survive, with its expected outcome.

Ten archives and a CSV holding odd encodings, broken files, decompression
bombs, junk names, duplicate hashes and odd CSV values; the manifest maps every
archive member to the outcome a correct build gives it (`WRITTEN`,
`WRITTEN_REENCODED` or a skip reason of `pass_tfds.pipeline.accounting`).
"""

from __future__ import annotations

import collections
import dataclasses
import os
import random

from PIL import Image

from pass_tfds.pipeline.accounting import (
    DECOMPRESSION_BOMB,
    DUPLICATE_HASH,
    EMPTY_FILE,
    NAME_WITHOUT_HASH,
    NOT_AN_IMAGE,
    SKIP_REASONS,
    SYMLINK,
    TRUNCATED,
    UNDECODABLE,
)
from pass_tfds.testing import broken_files, pictures, tar_files
from pass_tfds.testing.hashes import hash_with_length
from pass_tfds.testing.layout import LICENSE, METADATA_FILE, archive_name
from pass_tfds.testing.manifest import WRITTEN, WRITTEN_REENCODED, SampleManifest
from pass_tfds.testing.metadata_csv import random_fields, write_metadata_csv
from pass_tfds.testing.pictures import encode
from pass_tfds.testing.usernames import username_pool

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


class _QuirkBuilder:
  """Makes the quirk corpus's members; each call draws a fresh picture and hash."""

  def __init__(self, seed: int):
    self.seed = seed
    self.pool = pictures.base_pool(seed, pictures.NOISE_LEVELS[pictures.DEFAULT_NOISE])
    self.count = 0

  def _next(self) -> int:
    self.count += 1
    return self.count

  def picture(self) -> Image.Image:
    return pictures.render_rgb(self.pool, pictures.plan_image(f"pass-quirks/{self.seed}/plan/{self._next()}"))

  def hash(self) -> str:
    return hash_with_length(f"pass-quirks/{self.seed}/hash/{self._next()}")

  def image(self, archive: int, picture: Image.Image, data: bytes, expected: str = WRITTEN,
            hash_: str | None = None, folder: str | None = None) -> _Member:
    """A member holding a complete picture, named `<hash>.jpg`."""
    hash_ = hash_ or self.hash()
    member = f"PASS.{archive}/{folder or hash_[:2]}/{hash_}.jpg"
    return _Member(archive, member, data, expected, hash_, picture.width, picture.height)

  def jpeg(self, archive: int, expected: str = WRITTEN, hash_: str | None = None,
           folder: str | None = None) -> _Member:
    picture = self.picture()
    return self.image(archive, picture, encode(picture, quality=90), expected, hash_, folder)

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
  members.append(make.other(0, "README.txt", broken_files.README, NOT_AN_IMAGE))
  gray = make.picture().convert("L")
  members.append(make.image(0, gray, encode(gray, quality=90), WRITTEN_REENCODED))
  members += make.normal(0)
  # PASS.1: .DS_Store, a CMYK JPEG, a picture whose name is not a hash.
  members.append(make.other(1, ".DS_Store", broken_files.DS_STORE, NOT_AN_IMAGE))
  cmyk = make.picture().convert("CMYK")
  members.append(make.image(1, cmyk, encode(cmyk, quality=90), WRITTEN_REENCODED))
  members += make.normal(1)
  rgb = make.picture()
  members.append(make.other(1, "thumbnail_final.jpg", encode(rgb, quality=90), NAME_WITHOUT_HASH,
                            rgb))
  # PASS.1: a symbolic link (no bytes of its own: skipped) and a hard link (the
  # target's image under another hash: written).
  target = make.jpeg(1)
  symlink_hash, hard_link_hash = make.hash(), make.hash()
  members += [
      target,
      _Member(1, f"PASS.1/{symlink_hash[:2]}/{symlink_hash}.jpg",
              tar_files.Link(f"../{target.member.split('/', 1)[1]}", hard=False), SYMLINK, symlink_hash),
      _Member(1, f"PASS.1/{hard_link_hash[:2]}/{hard_link_hash}.jpg", tar_files.Link(target.member, hard=True),
              WRITTEN, hard_link_hash, target.width, target.height),
  ]
  # PASS.2: AppleDouble companion, progressive JPEG, first copy of a duplicated hash.
  members += make.normal(2)
  members.append(make.other(2, f"._{members[-1].hash}.jpg", broken_files.APPLE_DOUBLE, NOT_AN_IMAGE))
  rgb = make.picture()
  members.append(make.image(2, rgb, encode(rgb, quality=90, progressive=True)))
  across = make.jpeg(2)
  members.append(across)
  # PASS.3: PNGs under .jpg names.
  rgb = make.picture()
  members.append(make.image(3, rgb, encode(rgb, "PNG"), WRITTEN_REENCODED))
  rgba = make.picture().convert("RGBA")
  rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
  members.append(make.image(3, rgba, encode(rgba, "PNG"), WRITTEN_REENCODED))
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
  members.append(make.image(5, rgb, encode(rgb, quality=90, exif=exif.tobytes())))
  members += make.normal(5)
  # PASS.6: empty and truncated JPEGs.
  members.append(make.broken(6, b"", EMPTY_FILE))
  complete = encode(make.picture(), quality=90)
  members.append(make.broken(6, complete[: len(complete) * 6 // 10], TRUNCATED))
  members += make.normal(6)
  # PASS.7: garbage, an HTML error page, a truncated PNG.
  members.append(make.broken(7, broken_files.garbage(rng), UNDECODABLE))
  members.append(make.broken(7, broken_files.HTML_PAGE, UNDECODABLE))
  complete = encode(make.picture(), "PNG")
  members.append(make.broken(7, complete[: len(complete) * 6 // 10], TRUNCATED))
  members += make.normal(7)
  # PASS.8: decompression bombs (PNG and JPEG), never to be decoded.
  for data in (broken_files.png_bomb(), broken_files.jpeg_bomb()):
    bomb = make.broken(8, data, DECOMPRESSION_BOMB)
    members.append(dataclasses.replace(bomb, width=broken_files.BOMB_SIDE, height=broken_files.BOMB_SIDE))
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
  orphans = [hash_with_length(f"pass-quirks/{seed}/orphan/{k}", taken=set(written))
             for k in range(QUIRK_ROWS_WITHOUT_IMAGE)]
  names = username_pool(rng, 40, plain=True)  # Awkward names only from QUIRK_USERNAMES.
  rows, invalid_dates, invalid_gps = [], 0, 0
  dates_from, gps_from = len(QUIRK_USERNAMES), len(QUIRK_USERNAMES) + len(QUIRK_DATES)
  if gps_from + len(QUIRK_GPS) > len(with_row):
    raise AssertionError("not enough images for the CSV cases")
  for k, hash_ in enumerate(with_row + orphans):
    name, taken, latitude, longitude = random_fields(rng, names)
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
      "metadata_rows_without_member": len(orphans),
      "images_without_metadata": len(set(written)) - len(with_row),
      "invalid_dates": invalid_dates,
      "invalid_gps": invalid_gps,
  }
  return rows, counts


def write_quirk_corpus(out_dir: str, *, seed: int = 0) -> SampleManifest:
  """Writes 10 archives + CSV holding every awkward case, with expected outcomes.

  See the QUIRK_* tables and `_quirk_members` for the cases; the
  manifest maps every regular-file member path to its expected outcome.
  """
  os.makedirs(out_dir, exist_ok=True)
  members = _quirk_members(seed)
  archives = [archive_name(k) for k in range(10)]
  files: dict[str, tuple[int, str]] = {}
  directories = 0
  for k, name in enumerate(archives):
    size, sha, dirs = tar_files.write_tar(
        os.path.join(out_dir, name), ((m.member, m.data) for m in members if m.archive == k))
    files[name] = (size, sha)
    directories += dirs
  rows, csv_counts = _quirk_rows(seed, members)
  csv_path = os.path.join(out_dir, METADATA_FILE)
  write_metadata_csv(csv_path, rows)
  files[METADATA_FILE] = tar_files.sha256_file(csv_path)
  tar_files.write_checksums(out_dir, files)

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
