"""Tests of the synthetic PASS corpora (`pass_tfds.testing`)."""

from __future__ import annotations

import collections
import csv
import hashlib
import io
import os
import re
import subprocess
import sys
import tarfile

import pytest
from PIL import Image, UnidentifiedImageError

from pass_tfds import testing
from pass_tfds.pipeline import accounting

HASH_RE = re.compile(r"^[0-9a-f]{30,32}$")


def read_tar(path: str) -> tuple[list[tarfile.TarInfo], dict[str, bytes]]:
  """(all entries in order, member -> bytes): regular files and links (read as their target)."""
  with tarfile.open(path) as tar:
    entries = tar.getmembers()
    files = {m.name: tar.extractfile(m).read() for m in entries if m.isfile() or m.issym() or m.islnk()}
  return entries, files


def read_csv(path: str) -> tuple[list[str], list[list[str]]]:
  with open(path, encoding="utf-8", newline="") as f:
    rows = list(csv.reader(f))
  return rows[0], rows[1:]


def all_files(out_dir: str, manifest: testing.SampleManifest) -> dict[str, tuple[str, bytes]]:
  """member path -> (archive, bytes) over every archive; fails on a repeated path."""
  files = {}
  for name in manifest.archives:
    for member, data in read_tar(os.path.join(out_dir, name))[1].items():
      assert member not in files, member
      files[member] = (name, data)
  return files


@pytest.fixture(scope="module")
def small(tmp_path_factory):
  out = str(tmp_path_factory.mktemp("small"))
  return out, testing.write_sample(out, 50, seed=3)


@pytest.fixture(scope="module")
def quirks(tmp_path_factory):
  out = str(tmp_path_factory.mktemp("quirks"))
  return out, testing.write_quirk_corpus(out, seed=0)


# --- write_sample ------------------------------------------------------------


def test_sample_files_and_tar_layout(small):
  out, manifest = small
  archives = [f"PASS.{k}.tar" for k in range(10)]
  assert manifest.archives == archives
  assert sorted(os.listdir(out)) == sorted(
      archives + ["pass_metadata.csv", "checksums.tsv", "manifest.json"])
  seen = set()
  for k, name in enumerate(archives):
    path = os.path.join(out, name)
    with open(path, "rb") as f:
      assert f.read(2) != b"\x1f\x8b"  # Plain tar, not gzip.
    entries, files = read_tar(path)
    assert files, f"{name} has no images"
    names = [e.name for e in entries]
    for member in files:
      folder, hash_ = member.split("/")[1], member.split("/")[-1][: -len(".jpg")]
      assert member == f"PASS.{k}/{hash_[:2]}/{hash_}.jpg"
      assert folder == hash_[:2]
      # Directory entries come before their files.
      assert names.index(f"PASS.{k}") < names.index(f"PASS.{k}/{folder}") < names.index(member)
      assert manifest.images[hash_]["archive"] == name
      assert manifest.images[hash_]["member"] == member
      seen.add(hash_)
    assert all(e.isdir() or e.isfile() for e in entries)
  assert seen == set(manifest.images) and len(seen) == 50


def test_sample_images_decode_as_distinct_rgb_jpegs(small):
  out, manifest = small
  digests = set()
  for member, (_, data) in all_files(out, manifest).items():
    hash_ = member.rsplit("/", 1)[1][:-4]
    with Image.open(io.BytesIO(data)) as image:
      assert image.format == "JPEG"
      assert image.mode == "RGB"
      assert image.size == (manifest.images[hash_]["width"], manifest.images[hash_]["height"])
      assert 320 <= image.width <= 640 and 240 <= image.height <= 500
      image.load()
    digests.add(hashlib.sha256(data).hexdigest())
  assert len(digests) == 50
  sizes = [len(data) for _, data in all_files(out, manifest).values()]
  assert 40 * 1024 < sum(sizes) / len(sizes) < 120 * 1024  # About image_kb=80.
  assert any(m["height"] > m["width"] for m in manifest.images.values())  # Some portraits.


def test_sample_hashes(small):
  _, manifest = small
  for hash_ in manifest.images:
    assert HASH_RE.match(hash_) and not hash_.startswith("0"), hash_
  lengths = collections.Counter(len(h) for h in manifest.images)
  assert lengths[30] and lengths[31] and lengths[32], lengths


def test_sample_csv(small):
  out, manifest = small
  with open(os.path.join(out, "pass_metadata.csv"), "rb") as f:
    raw = f.read()
  assert raw.startswith(b",unickname,datetaken,licensename,hash,latitude,longitude\n")
  assert b"\r\n" not in raw
  header, rows = read_csv(os.path.join(out, "pass_metadata.csv"))
  assert header == list(testing.CSV_HEADER)
  assert [row[0] for row in rows] == [str(k) for k in range(50)]
  assert {row[4] for row in rows} == set(manifest.images)
  assert [row[4] for row in rows] != sorted(row[4] for row in rows)  # Not in any obvious order.
  for _, name, taken, licence, _, lat, lon in rows:
    assert re.match(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.0$", taken)
    assert licence == "Attribution License"
    assert (lat == "") == (lon == "")
    if lat:
      assert -90 <= float(lat) <= 90 and -180 <= float(lon) <= 180
      assert len(lat.split(".")[1]) <= 6
  assert sum(row[5] == "" for row in rows) > 20  # About 70% without GPS.
  counts = manifest.expected_counts
  assert counts["metadata_rows"] == 50 and counts["metadata_rows_without_member"] == 0
  assert counts["images_without_metadata"] == 0 and counts["members"] == 50


def test_sample_checksums_and_manifest(small):
  out, manifest = small
  with open(os.path.join(out, "checksums.tsv"), encoding="utf-8") as f:
    lines = f.read().splitlines()
  assert len(lines) == 11
  listed = set()
  for line in lines:
    url, size, sha256, filename = line.split("\t")
    assert url == f"https://zenodo.org/record/6615455/files/{filename}"
    with open(os.path.join(out, filename), "rb") as f:
      data = f.read()
    assert int(size) == len(data)
    assert sha256 == hashlib.sha256(data).hexdigest()
    listed.add(filename)
  assert listed == set(manifest.archives) | {"pass_metadata.csv"}
  assert testing.load_manifest(out) == manifest
  assert testing.SampleManifest.from_json(manifest.to_json()) == manifest


def test_csv_rows_adds_rows_without_images(tmp_path):
  manifest = testing.write_sample(str(tmp_path), 20, seed=1, csv_rows=5000, write_checksums=False)
  assert not (tmp_path / "checksums.tsv").exists()
  header, rows = read_csv(str(tmp_path / "pass_metadata.csv"))
  assert header == list(testing.CSV_HEADER)
  assert len(rows) == 5000
  hashes = [row[4] for row in rows]
  assert len(set(hashes)) == 5000
  assert set(manifest.images) <= set(hashes)
  assert all(HASH_RE.match(h) for h in hashes)
  positions = [k for k, h in enumerate(hashes) if h in manifest.images]
  assert positions[-1] - positions[0] > 2500  # Image rows are spread, not appended.
  assert manifest.expected_counts["metadata_rows_without_member"] == 4980
  names = {row[1] for row in rows}
  assert any(" " in n for n in names) and any("," in n for n in names)
  assert any(not n.isascii() for n in names) and any('"' in n for n in names)
  assert names & {"NA", "null", "nan"}
  gps_share = sum(row[5] != "" for row in rows) / len(rows)
  assert 0.25 < gps_share < 0.35


def test_same_seed_same_bytes_whatever_the_processes(tmp_path):
  first = testing.write_sample(str(tmp_path / "a"), 30, seed=7, processes=1)
  second = testing.write_sample(str(tmp_path / "b"), 30, seed=7, processes=2)
  other = testing.write_sample(str(tmp_path / "c"), 30, seed=8, processes=1)
  assert first == second
  for name in first.archives + ["pass_metadata.csv", "checksums.tsv", "manifest.json"]:
    assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
  first_tar = (tmp_path / "a" / "PASS.0.tar").read_bytes()
  assert first_tar != (tmp_path / "c" / "PASS.0.tar").read_bytes()
  assert set(first.images).isdisjoint(other.images)


def test_cli(tmp_path, capsys):
  testing.main(["--out", str(tmp_path), "--num_images", "12", "--num_archives", "3",
               "--image_kb", "20"])
  line = capsys.readouterr().out.strip()
  assert "\n" not in line and "12 members" in line and " s " in line
  tars = ["PASS.0.tar", "PASS.1.tar", "PASS.2.tar"]
  assert sorted(p.name for p in tmp_path.glob("*.tar")) == tars
  sizes = [len(d) for name in ("PASS.0.tar", "PASS.1.tar", "PASS.2.tar")
           for d in read_tar(str(tmp_path / name))[1].values()]
  assert 10 * 1024 < sum(sizes) / len(sizes) < 30 * 1024


# --- write_quirk_corpus --------------------------------------------------------


def test_quirk_outcomes_cover_every_member_once(quirks):
  out, manifest = quirks
  assert manifest.archives == [f"PASS.{k}.tar" for k in range(10)]
  files = all_files(out, manifest)
  assert set(files) == set(manifest.expected) == set(manifest.images)
  valid = {testing.WRITTEN, testing.WRITTEN_REENCODED, *accounting.SKIP_REASONS}
  # Every outcome occurs but a hard link whose target another piece read (needs a piece boundary).
  assert set(manifest.expected.values()) == valid - {accounting.HARD_LINK_ELSEWHERE}
  for member, (archive, _) in files.items():
    assert manifest.images[member]["archive"] == archive
  counts = manifest.expected_counts
  outcomes = collections.Counter(manifest.expected.values())
  assert counts["members"] == len(files)
  assert counts["written"] == outcomes["written"] + outcomes["written_reencoded"]
  assert counts["skipped"] == {r: outcomes[r] for r in accounting.SKIP_REASONS}
  assert counts["members"] == counts["written"] + sum(counts["skipped"].values())
  assert outcomes["written"] >= 40
  # Directories are entries, not members.
  dirs = sum(e.isdir() for name in manifest.archives for e in read_tar(os.path.join(out, name))[0])
  assert dirs == counts["non_file_entries"] > 0
  assert not any(m.endswith("/") for m in manifest.expected)


def by_outcome(manifest, outcome):
  return [m for m, o in manifest.expected.items() if o == outcome]


def test_quirk_pictures(quirks):
  out, manifest = quirks
  files = all_files(out, manifest)
  modes, formats = collections.Counter(), collections.Counter()
  progressive = rotated = 0
  for member in by_outcome(manifest, "written") + by_outcome(manifest, "written_reencoded"):
    assert member.endswith(".jpg")
    with Image.open(io.BytesIO(files[member][1])) as image:
      image.load()
      modes[image.mode] += 1
      formats[image.format] += 1
      if manifest.expected[member] == "written":
        assert image.format == "JPEG" and image.mode == "RGB"
      progressive += bool(image.info.get("progressive"))
      rotated += image.getexif().get(0x0112) == 6
      assert image.size == (manifest.images[member]["width"], manifest.images[member]["height"])
  assert modes["L"] == 1 and modes["CMYK"] == 1 and modes["RGBA"] == 1
  assert formats["PNG"] == 2
  assert progressive == 1 and rotated == 1
  reencoded = []
  for member in by_outcome(manifest, "written_reencoded"):
    with Image.open(io.BytesIO(files[member][1])) as image:
      reencoded.append((image.format, image.mode))
  assert sorted(reencoded) == [("JPEG", "CMYK"), ("JPEG", "L"), ("PNG", "RGB"), ("PNG", "RGBA")]


def test_quirk_broken_files(quirks):
  out, manifest = quirks
  files = all_files(out, manifest)
  assert [len(files[m][1]) for m in by_outcome(manifest, accounting.EMPTY_FILE)] == [0]
  truncated = by_outcome(manifest, accounting.TRUNCATED)
  assert sorted(Image.open(io.BytesIO(files[m][1])).format for m in truncated) == ["JPEG", "PNG"]
  for member in truncated:
    with pytest.raises(OSError, match="truncated"):
      Image.open(io.BytesIO(files[member][1])).load()
  undecodable = by_outcome(manifest, accounting.UNDECODABLE)
  assert len(undecodable) == 2
  assert any(files[m][1].startswith(b"<!DOCTYPE html>") for m in undecodable)
  for member in undecodable:
    with pytest.raises(UnidentifiedImageError):
      Image.open(io.BytesIO(files[member][1]))
  for member in truncated + undecodable + by_outcome(manifest, accounting.EMPTY_FILE):
    assert HASH_RE.match(manifest.images[member]["hash"])


def test_quirk_decompression_bombs(quirks, monkeypatch):
  out, manifest = quirks
  files = all_files(out, manifest)
  bombs = by_outcome(manifest, accounting.DECOMPRESSION_BOMB)
  assert len(bombs) == 2
  # Pillow's default limit; Image.open raises above twice it (the bombs have 900 MP).
  monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 89_478_485)
  for member in bombs:
    data = files[member][1]
    assert len(data) < 1_000_000
    with pytest.raises(Image.DecompressionBombError):
      Image.open(io.BytesIO(data))
  monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
  formats = set()
  for member in bombs:
    with Image.open(io.BytesIO(files[member][1])) as image:  # Header only, not decoded.
      assert image.size == (30000, 30000)
      formats.add(image.format)
  assert formats == {"PNG", "JPEG"}


def test_quirk_names(quirks):
  _, manifest = quirks
  not_images = sorted(m.rsplit("/", 1)[1] for m in by_outcome(manifest, accounting.NOT_AN_IMAGE))
  assert [n for n in not_images if not n.startswith("._")] == [".DS_Store", "README.txt"]
  apple = [n for n in not_images if n.startswith("._")]
  assert len(apple) == 1 and HASH_RE.match(apple[0][2:-4]) and apple[0].endswith(".jpg")
  assert [m.rsplit("/", 1)[1] for m in by_outcome(manifest, accounting.NAME_WITHOUT_HASH)] == [
      "thumbnail_final.jpg"]


def test_quirk_duplicates(quirks):
  _, manifest = quirks
  duplicates = by_outcome(manifest, accounting.DUPLICATE_HASH)
  assert len(duplicates) == 2
  archives = []
  for member in duplicates:
    hash_ = manifest.images[member]["hash"]
    same = [m for m, info in manifest.images.items() if info["hash"] == hash_]
    assert len(same) == 2
    order = list(manifest.images)  # Archive order, then position in the archive.
    first = min(same, key=lambda m: (int(m.split("/")[0].split(".")[1]), order.index(m)))
    assert manifest.expected[first] == "written" and first != member
    archives.append({m.split("/")[0] for m in same})
  assert sorted(len(a) for a in archives) == [1, 2]  # Within one archive, and across two.


def test_quirk_csv(quirks):
  out, manifest = quirks
  header, rows = read_csv(os.path.join(out, "pass_metadata.csv"))
  assert header == list(testing.CSV_HEADER)
  assert [row[0] for row in rows] == [str(k) for k in range(len(rows))]
  by_hash = {row[4]: row for row in rows}
  assert len(by_hash) == len(rows)
  names = [row[1] for row in rows]
  for name in ("NA", "null", "None", "nan", "N/A", "", "007", "a, b", "line1\nline2", '"quoted"',
               "山田太郎", "Ελένη", "محمد"):
    assert names.count(name) == 1, name
  written = {info["hash"] for m, info in manifest.images.items()
             if manifest.expected[m] in ("written", "written_reencoded")}
  all_hashes = {info["hash"] for info in manifest.images.values()}
  counts = manifest.expected_counts
  assert counts["metadata_rows"] == len(rows)
  assert len(set(by_hash) - all_hashes) == counts["metadata_rows_without_member"] == 5
  assert len(written - set(by_hash)) == counts["images_without_metadata"] == 1
  assert set(by_hash) - written == set(by_hash) - all_hashes  # Rows only for written images.
  # Hashes pandas would mangle are members under exactly that name.
  digits = [h for h in written if h.isdigit()]
  float_like = [h for h in written if re.fullmatch(r"\d+e\d+", h)]
  assert len(digits) == 1 and digits[0].startswith("000") and 30 <= len(digits[0]) <= 32
  assert len(float_like) == 1 and 30 <= len(float_like[0]) <= 32
  for hash_ in digits + float_like:
    assert hash_ in by_hash
    assert any(m.endswith(f"/{hash_[:2]}/{hash_}.jpg") for m in manifest.expected)
  dates = {row[2] for row in rows}
  assert {"2012-08-09 18:00:20.0", "2012-08-09 18:00:20", "0000-00-00 00:00:00",
          "2013-02-30 10:00:00", "yesterday", ""} <= dates
  gps = {(row[5], row[6]) for row in rows}
  assert {("abc", "12.5"), ("95.0", "10.0"), ("45.0", "-200"), ("", "")} <= gps


def test_quirk_invalid_counts_match_metadata_parser(quirks):
  from pass_tfds.pipeline import metadata  # pylint: disable=import-outside-toplevel

  out, manifest = quirks
  with open(os.path.join(out, "pass_metadata.csv"), "rb") as f:
    parsed = [metadata.parse_row(fields) for n, fields in metadata.iter_rows(f, "csv")]
  assert sum(p.date_invalid for p in parsed) == manifest.expected_counts["invalid_dates"] == 3
  assert sum(p.gps_invalid for p in parsed) == manifest.expected_counts["invalid_gps"] == 5
  assert len(parsed) == manifest.expected_counts["metadata_rows"]


def test_quirk_corpus_is_deterministic(quirks, tmp_path):
  out, manifest = quirks
  again = testing.write_quirk_corpus(str(tmp_path), seed=0)
  assert again == manifest
  for name in manifest.archives + ["pass_metadata.csv", "checksums.tsv"]:
    with open(os.path.join(out, name), "rb") as f:
      assert f.read() == (tmp_path / name).read_bytes(), name


def test_runs_as_a_module(tmp_path):
  result = subprocess.run(
      [sys.executable, "-m", "pass_tfds.testing", "--out", str(tmp_path), "--quirks"],
      capture_output=True, text=True, check=True)
  assert result.stdout.startswith("quirks: 11 files")
  assert testing.load_manifest(str(tmp_path)).kind == "quirks"
