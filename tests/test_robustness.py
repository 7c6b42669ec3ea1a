"""End-to-end robustness: `beam_runner.py` on awkward and damaged inputs.

* The quirk corpus (`pass_tfds.testing.write_quirk_corpus`), built leniently:
  every archive member ends exactly as its manifest says, the dataset holds
  the right bytes and metadata, and the report's numbers reconcile.
* The same corpus with `--strict`: a clear error, and no dataset left behind.
* Whole-file problems (missing, truncated or damaged archive, wrong CSV header,
  empty manual dir): a clear error naming the file and what to do, exit 2.

Builds run `beam_runner.py` in a subprocess on the in-memory DirectRunner.
"""

from __future__ import annotations

import collections
import csv
import datetime
import glob
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tarfile

import numpy as np
import pytest
from PIL import Image

from pass_tfds import errors, testing
from pass_tfds.dataset import sources
from pass_tfds.pipeline import accounting, image_keys
from pass_tfds.testing import tar_files

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEAM_RUNNER = os.path.join(REPO, "beam_runner.py")
WRITTEN_OUTCOMES = (testing.WRITTEN, testing.WRITTEN_REENCODED)
# Members the builder rules out from their name alone: their hash never joins a CSV row.
NAME_REASONS = (accounting.NOT_AN_IMAGE, accounting.NAME_WITHOUT_HASH, accounting.EMPTY_FILE)
def work_folders(data_dir) -> list[str]:
  """The build's work folder (`partial_<version>`): created when the pipeline starts."""
  return glob.glob(os.path.join(str(data_dir), "pass_dataset", "*", "partial_*"))


# --- helpers -------------------------------------------------------------------


def run_build(manual_dir, data_dir, *extra, checksums="manual"):
  """Runs beam_runner.py; `checksums`: "manual" (the dir's own file), None, or a path."""
  args = [sys.executable, BEAM_RUNNER, "--data_dir", str(data_dir), "--manual_dir", str(manual_dir)]
  if checksums == "manual":
    checksums = os.path.join(str(manual_dir), testing.CHECKSUMS_FILE)
  if checksums:
    args += ["--checksums", str(checksums)]
  args += ["--direct_running_mode=in_memory", *extra]
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", NO_GCE_CHECK="True")
  env.pop(sources.CHECKSUMS_ENV, None)
  # Nothing here may touch the network: a download attempt fails fast instead.
  for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
    env[name] = "http://127.0.0.1:9"
  return subprocess.run(
      args, capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False
  )


def error_line(result) -> str:
  """The `error: ...` message (it may span lines) that the CLI prints on stderr."""
  assert result.returncode == 2, (result.returncode, result.stdout, result.stderr[-3000:])
  start = result.stderr.rfind("\nerror: ")
  assert start != -1 or result.stderr.startswith("error: "), result.stderr[-3000:]
  return result.stderr[start + 1:] if start != -1 else result.stderr


def prepared_files(data_dir) -> list[str]:
  """Published shard files and dataset_info.json files under `data_dir`.

  Finished pieces kept in `partial_<version>/` for a rerun to reuse are not
  published: `tfds.load` never reads them.
  """
  found = []
  for root, _, files in os.walk(data_dir):
    if os.path.basename(root).startswith("partial_"):
      continue
    found += [os.path.join(root, f) for f in files if ".tfrecord" in f or f == "dataset_info.json"]
  return found


def assert_no_pipeline_ran(result, data_dir):
  assert not work_folders(data_dir), "the Beam pipeline ran"
  assert not prepared_files(data_dir)


def read_members(corpus_dir: str, manifest) -> dict[str, tuple[str, bytes]]:
  """member path -> (archive name, bytes), for every regular file of the corpus."""
  members = {}
  for name in manifest.archives:
    with tarfile.open(os.path.join(corpus_dir, name)) as tar:
      for info in tar:
        if info.isfile() or info.islnk():  # A hard link reads as its target's bytes.
          members[info.name] = (name, tar.extractfile(info).read())
  return members


def read_csv_rows(corpus_dir: str) -> list[dict[str, str]]:
  with open(os.path.join(corpus_dir, testing.METADATA_FILE), encoding="utf-8", newline="") as f:
    return list(csv.DictReader(f))


def expected_date(value: str) -> str:
  """Independent of pass_tfds.pipeline.metadata: ISO 8601, or "" for anything not a real moment."""
  for layout in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
    try:
      return datetime.datetime.strptime(value.strip(), layout).strftime("%Y-%m-%dT%H:%M:%S")
    except ValueError:
      pass
  return ""


def expected_gps(latitude: str, longitude: str) -> tuple[float, float]:
  """Both coordinates in range, or NaN for both."""
  try:
    lat, lon = float(latitude), float(longitude)
  except ValueError:
    return math.nan, math.nan
  if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
    return math.nan, math.nan
  return lat, lon


def same_float32(actual: float, expected: float) -> bool:
  if math.isnan(expected):
    return math.isnan(actual)
  return np.float32(actual) == np.float32(expected)


# --- the quirk corpus, built leniently and strictly ------------------------------------


@pytest.fixture(scope="module")
def quirks(quirk_corpus):
  out, _ = quirk_corpus
  manifest = testing.load_manifest(out)
  return out, manifest, read_members(out, manifest), read_csv_rows(out)


@pytest.fixture(scope="module")
def lenient(quirks, tmp_path_factory):
  """(CLI result, build report, examples) of a lenient build of the quirk corpus."""
  corpus, _, _, _ = quirks
  data_dir = tmp_path_factory.mktemp("lenient_data")
  # The corpus holds an image without a CSV row on purpose: more than 1 % of its images.
  result = run_build(corpus, data_dir, "--allow_missing_metadata")
  assert result.returncode == 0, (result.stdout, result.stderr[-5000:])
  report_path = data_dir / "pass_dataset" / "full" / "3.0.0" / "build_report.json"
  report = json.loads(report_path.read_text())

  import tensorflow_datasets as tfds

  import pass_tfds  # noqa: F401  (registers pass_dataset)

  builder = tfds.builder("pass_dataset", config="full", data_dir=str(data_dir))
  assert builder.is_prepared()
  dataset = builder.as_dataset(split="train", decoders={"image": tfds.decode.SkipDecoding()})
  examples = []
  for example in tfds.as_numpy(dataset):
    examples.append({
        key: value.decode("utf-8") if isinstance(value, bytes) and key != "image" else value
        for key, value in example.items()
    })
  return result, report, examples


def by_hash(examples) -> dict[str, dict]:
  return {example["hash"]: example for example in examples}


def test_lenient_build_reconciles_with_the_manifest(quirks, lenient):
  _, manifest, _, _ = quirks
  result, report, _ = lenient
  outcomes = collections.Counter(manifest.expected.values())
  skipped = sum(report["skipped"].values())
  assert report["members"] == report["written"] + skipped == len(manifest.expected)
  assert report["reconciled"] is True
  assert report["written"] == outcomes[testing.WRITTEN] + outcomes[testing.WRITTEN_REENCODED]
  assert report["reencoded"] == outcomes[testing.WRITTEN_REENCODED]
  expected_skips = {reason: outcomes[reason] for reason in accounting.SKIP_REASONS if outcomes[reason]}
  assert report["skipped"] == expected_skips
  # The corpus covers every reason but one: a hard link whose target another piece
  # read needs a piece boundary between them (tests/test_pieces.py).
  assert set(expected_skips) == set(accounting.SKIP_REASONS) - {accounting.HARD_LINK_ELSEWHERE}
  assert "reconciled" in result.stdout and "NOT reconciled" not in result.stdout
  assert report["pieces"] == report["shards"] >= 10  # The pipeline ran (work_folders' control below).

  per_archive = collections.defaultdict(collections.Counter)
  for member, outcome in manifest.expected.items():
    archive = manifest.images[member]["archive"]
    per_archive[archive]["members"] += 1
    per_archive[archive]["written" if outcome in WRITTEN_OUTCOMES else "skipped"] += 1
  assert report["per_archive"] == {
      name: {"members": c["members"], "written": c["written"], "skipped": c["skipped"]}
      for name, c in per_archive.items()
  }
  assert report["archives"] == manifest.archives
  assert (report["config"], report["file_format"]) == ("full", "tfrecord")
  assert report["shards"] >= 1


def test_resized_configs_skip_what_full_skips(quirks, tmp_path):
  """Both resized configs, from one read, account for every quirk as `full` does: the same
  skips for the same reasons, every other member written (resized), each report reconciled."""
  corpus, manifest, _, _ = quirks
  result = run_build(corpus, tmp_path, "--allow_missing_metadata", "--config", "short_side_64,short_side_256")
  assert result.returncode == 0, (result.stdout, result.stderr[-5000:])
  outcomes = collections.Counter(manifest.expected.values())
  expected_skips = {reason: outcomes[reason] for reason in accounting.SKIP_REASONS if outcomes[reason]}
  written = outcomes[testing.WRITTEN] + outcomes[testing.WRITTEN_REENCODED]
  for config in ("short_side_64", "short_side_256"):
    (report_path,) = (tmp_path / "pass_dataset" / config).glob("*/build_report.json")
    report = json.loads(report_path.read_text())
    assert report["config"] == config and report["reconciled"] is True
    assert report["members"] == len(manifest.expected)
    assert report["skipped"] == expected_skips, config
    assert report["written"] == written, config


def test_skipped_members_are_listed_and_not_in_the_dataset(quirks, lenient):
  _, manifest, _, _ = quirks
  _, report, examples = lenient
  keys = collections.Counter(image_keys.image_key(example["hash"]) for example in examples)
  by_reason = collections.defaultdict(set)
  for member, outcome in manifest.expected.items():
    if outcome in WRITTEN_OUTCOMES:
      continue
    info = manifest.images[member]
    by_reason[outcome].add(f"{info['archive']}:{member}")
    if info["hash"] is None:
      continue
    if outcome == accounting.DUPLICATE_HASH:  # Its hash is there once: the other copy.
      assert keys[image_keys.image_key(info["hash"])] == 1, member
    else:
      assert image_keys.image_key(info["hash"]) not in keys, (member, outcome)
  for reason, members in by_reason.items():
    if len(members) <= 5:
      assert set(report["skipped_examples"][reason]) == members, reason
    else:
      assert len(report["skipped_examples"][reason]) == 5
      assert set(report["skipped_examples"][reason]) <= members
  assert set(report["skipped_examples"]) == set(by_reason)


def test_written_members_are_in_the_dataset_once_with_their_bytes(quirks, lenient):
  _, manifest, members, _ = quirks
  _, _, examples = lenient
  counts = collections.Counter(example["hash"] for example in examples)
  found = by_hash(examples)
  written = {m: o for m, o in manifest.expected.items() if o in WRITTEN_OUTCOMES}
  assert len(examples) == len(written)
  for member, outcome in written.items():
    info = manifest.images[member]
    assert counts[info["hash"]] == 1, member
    example = found[info["hash"]]
    assert (example["original_width"], example["original_height"]) == (info["width"], info["height"])
    if outcome == testing.WRITTEN:
      assert example["image"] == members[member][1], f"{member}: bytes changed"
    else:
      with Image.open(io.BytesIO(example["image"])) as image:
        assert image.format == "JPEG", member
        assert image.mode == "RGB", member
        assert image.size == (info["width"], info["height"]), member
        image.load()
      assert example["image"] != members[member][1]


def test_metadata_values_are_loaded_exactly(quirks, lenient):
  _, manifest, _, rows = quirks
  _, _, examples = lenient
  rows_by_key = {image_keys.image_key(row["hash"]): row for row in rows}
  usernames = set()
  checked = 0
  for example in examples:
    row = rows_by_key.get(image_keys.image_key(example["hash"]))
    if row is None:
      continue
    checked += 1
    assert example["creator_username"] == row["unickname"], example["hash"]
    usernames.add(example["creator_username"])
    assert example["date_taken"] == expected_date(row["datetaken"]), row
    lat, lon = expected_gps(row["latitude"], row["longitude"])
    assert same_float32(example["gps_latitude"], lat), row
    assert same_float32(example["gps_longitude"], lon), row
  assert checked == len(examples) - 1  # One written image has no CSV row.
  # Every awkward username of the corpus (NA, null, None, nan, N/A, "", 007,
  # a quoted comma, a newline, non-Latin) reached the dataset unchanged.
  assert set(testing.QUIRK_USERNAMES) <= usernames


def test_invalid_dates_and_gps_become_empty_and_nan(quirks, lenient):
  _, _, _, rows = quirks
  _, _, examples = lenient
  found = {image_keys.image_key(example["hash"]): example for example in examples}
  dates = {row["datetaken"]: found[image_keys.image_key(row["hash"])]["date_taken"]
           for row in rows if image_keys.image_key(row["hash"]) in found}
  for value, invalid in testing.QUIRK_DATES:
    assert value in dates
    if invalid or not value:
      assert dates[value] == "", value
  assert dates["2012-08-09 18:00:20.0"] == dates["2012-08-09 18:00:20"] == "2012-08-09T18:00:20"
  gps = {(row["latitude"], row["longitude"]): found[image_keys.image_key(row["hash"])]
         for row in rows if image_keys.image_key(row["hash"]) in found}
  for latitude, longitude, invalid in testing.QUIRK_GPS:
    example = gps[(latitude, longitude)]
    if invalid or not latitude:
      assert math.isnan(example["gps_latitude"]) and math.isnan(example["gps_longitude"])
    else:
      assert np.float32(example["gps_latitude"]) == np.float32(float(latitude))
      assert np.float32(example["gps_longitude"]) == np.float32(float(longitude))


def test_hashes_that_look_like_numbers_stay_strings(quirks, lenient):
  _, manifest, _, rows = quirks
  _, _, examples = lenient
  found = by_hash(examples)
  odd = [info["hash"] for member, info in manifest.images.items()
         if info["hash"] and manifest.expected[member] in WRITTEN_OUTCOMES
         and re.fullmatch(r"\d+|\d+e\d+", info["hash"])]
  assert any(h.startswith("00") and h.isdigit() for h in odd), odd  # Digits, leading zeros.
  assert any("e" in h for h in odd), odd  # Float-like.
  rows_by_hash = {row["hash"]: row for row in rows}
  for image_hash in odd:
    assert image_hash in found, image_hash  # Exactly the member's name: no 1.234e+570, no 123...
    assert found[image_hash]["creator_username"] == rows_by_hash[image_hash]["unickname"]
    assert found[image_hash]["date_taken"] == expected_date(rows_by_hash[image_hash]["datetaken"])


def test_images_without_a_csv_row_get_empty_metadata(quirks, lenient):
  _, manifest, _, rows = quirks
  _, _, examples = lenient
  csv_keys = {image_keys.image_key(row["hash"]) for row in rows}
  orphans = [example for example in examples if image_keys.image_key(example["hash"]) not in csv_keys]
  assert len(orphans) == 1
  for example in orphans:
    assert example["creator_username"] == ""
    assert example["date_taken"] == ""
    assert math.isnan(example["gps_latitude"]) and math.isnan(example["gps_longitude"])


def _member_keys(manifest, outcomes=None) -> set[int]:
  """Keys of members named with a hash (the builder's candidates), optionally with given outcomes."""
  return {image_keys.image_key(info["hash"]) for member, info in manifest.images.items()
          if info["hash"] and manifest.expected[member] not in (*NAME_REASONS[:2], accounting.SYMLINK)
          and (outcomes is None or manifest.expected[member] in outcomes)}


def test_csv_side_counts(quirks, lenient):
  """Every CSV row is counted once: repeat, unusable hash, no member, skipped image, written image."""
  _, manifest, _, rows = quirks
  result, report, _ = lenient
  members = _member_keys(manifest)
  written = _member_keys(manifest, WRITTEN_OUTCOMES)
  keys = [image_keys.image_key(row["hash"]) for row in rows]
  firsts = set(keys) - {None}
  assert report["metadata_rows"] == len(rows)
  assert report["duplicate_metadata_rows"] == len(keys) - len(set(keys)) == 0
  assert report["unusable_hash_rows"] == keys.count(None)
  assert report["metadata_rows_without_member"] == len(firsts - members)
  assert report["metadata_rows_without_member"] == manifest.expected_counts["metadata_rows_without_member"]
  assert report["metadata_rows_of_skipped_images"] == len((firsts & members) - written)
  assert report["images_with_metadata"] == len(firsts & written)
  assert "metadata rows:" in result.stdout and "naming no member" in result.stdout
  joined = [row for row in rows if image_keys.image_key(row["hash"]) in written]
  # Counted over the rows of written images.
  assert report["invalid_dates"] == sum(
      1 for row in joined if row["datetaken"].strip() and not expected_date(row["datetaken"])
  )
  assert report["invalid_gps"] == sum(
      1 for row in joined
      if (row["latitude"].strip() or row["longitude"].strip())
      and math.isnan(expected_gps(row["latitude"], row["longitude"])[0])
  )


def test_images_without_metadata_counts_written_images(quirks, lenient):
  """`images_without_metadata` is about the dataset's images: written, without a CSV row.

  Members that were planned but then skipped (truncated, undecodable,
  decompression bombs) are not images of the dataset and have no CSV row by
  construction; counting them makes the report claim 7 examples lack metadata
  when the dataset holds 1.
  """
  _, manifest, _, rows = quirks
  _, report, examples = lenient
  csv_keys = {image_keys.image_key(row["hash"]) for row in rows}
  written_without_row = sum(
      1 for example in examples if image_keys.image_key(example["hash"]) not in csv_keys
  )
  assert written_without_row == manifest.expected_counts["images_without_metadata"] == 1
  assert report["images_without_metadata"] == written_without_row, (
      "build_report.json counts members skipped after planning as images without metadata"
  )


def test_strict_build_fails_naming_archive_member_and_reason(quirks, tmp_path):
  import tensorflow_datasets as tfds

  import pass_tfds  # noqa: F401

  corpus, manifest, _, _ = quirks
  data_dir = tmp_path / "strict_data"
  result = run_build(corpus, data_dir, "--strict")
  message = error_line(result)
  assert message.startswith("error: StrictModeError:"), message
  match = re.search(r"(PASS\.\d\.tar): member '([^']+)' skipped \((\w+):", message)
  assert match, message
  archive, member, reason = match.groups()
  assert manifest.expected[member] == reason
  assert manifest.images[member]["archive"] == archive
  assert reason in accounting.STRICT_REASONS
  builder = tfds.builder("pass_dataset", config="full", data_dir=str(data_dir))
  assert not builder.is_prepared()
  assert not prepared_files(data_dir)
  assert "build_report.json" not in str(list(os.walk(data_dir)))
  # The pipeline ran and stopped: its work folder stays for a rerun, as assert_no_pipeline_ran
  # would see.
  assert work_folders(data_dir)


# --- whole-file problems ---------------------------------------------------------------


@pytest.fixture
def corpus(small_sample, tmp_path):
  """A fresh copy of the 20-image sample, to damage."""
  copy = tmp_path / "manual"
  shutil.copytree(small_sample, copy)
  return copy


def test_missing_archive(corpus, tmp_path):
  (corpus / "PASS.4.tar").unlink()
  data_dir = tmp_path / "data"
  result = run_build(corpus, data_dir)
  message = error_line(result)
  assert message.startswith("error: SourceError:")
  assert "PASS.4.tar is missing" in message
  assert "download https://zenodo.org/record/6615455/files/PASS.4.tar" in message
  assert not re.search(r"PASS\.[0-35-9]\.tar", message)
  assert_no_pipeline_ran(result, data_dir)


def _cut_in_half(path) -> int:
  """Truncates the file to half its size; returns the original size."""
  size = path.stat().st_size
  with open(path, "r+b") as stream:
    stream.truncate(size // 2)
  return size


def test_truncated_archive_fails_the_size_check(corpus, tmp_path):
  size = _cut_in_half(corpus / "PASS.2.tar")
  data_dir = tmp_path / "data"
  result = run_build(corpus, data_dir)
  message = error_line(result)
  assert message.startswith("error: SourceError:")
  assert f"PASS.2.tar is {size // 2:,} bytes but the published file is {size:,}" in message
  assert "download it again" in message
  assert_no_pipeline_ran(result, data_dir)


def test_truncated_archive_without_verification_is_named_by_the_reader(corpus, tmp_path):
  _cut_in_half(corpus / "PASS.2.tar")
  data_dir = tmp_path / "data"
  result = run_build(corpus, data_dir, "--verify", "none")
  message = error_line(result)
  assert message.startswith("error: ArchiveError: PASS.2.tar is truncated"), message
  assert "Re-download PASS.2.tar" in message
  assert not prepared_files(data_dir)


def test_damaged_archive_of_the_right_size_fails_sha256(corpus, tmp_path):
  path = corpus / "PASS.7.tar"
  with tarfile.open(path) as tar:
    image = next(info for info in tar if info.isfile())
  data = bytearray(path.read_bytes())
  data[image.offset_data + image.size // 2] ^= 0xFF
  path.write_bytes(bytes(data))
  data_dir = tmp_path / "data"
  result = run_build(corpus, data_dir, "--verify", "sha256")
  message = error_line(result)
  assert message.startswith("error: SourceError:")
  assert "PASS.7.tar has the right size but the wrong sha256" in message
  assert "download it again from https://zenodo.org/record/6615455/files/PASS.7.tar" in message
  assert not re.search(r"PASS\.[0-68-9]\.tar", message)
  assert_no_pipeline_ran(result, data_dir)


def test_csv_with_a_wrong_header(corpus, tmp_path):
  path = corpus / testing.METADATA_FILE
  text = path.read_text(encoding="utf-8")
  # Same size, so that the size check passes and the CSV reader must catch it.
  path.write_text(text.replace("unickname", "user_name", 1), encoding="utf-8", newline="")
  data_dir = tmp_path / "data"
  result = run_build(corpus, data_dir)
  message = error_line(result)
  assert message.startswith(f"error: MetadataFormatError: {path}: unexpected CSV header")
  assert "Re-download pass_metadata.csv" in message
  assert_no_pipeline_ran(result, data_dir)  # Caught before hours of indexing.


def test_empty_manual_dir_names_every_missing_file_and_downloads_nothing(tmp_path):
  manual = tmp_path / "empty"
  manual.mkdir()
  data_dir = tmp_path / "data"
  result = run_build(manual, data_dir, checksums=None)  # The published checksums.
  message = error_line(result)
  assert message.startswith(f"error: SourceError: 11 of the 11 files are missing from {manual} (")
  assert f"download them from {sources.RECORD_URL} into that folder" in message
  for name in sources.ALL_NAMES:
    assert name in message
  assert len(result.stderr.strip().splitlines()) == 1  # One line, whatever the count.
  assert_no_pipeline_ran(result, data_dir)
  downloads = data_dir / "downloads"
  assert not downloads.exists() or not [f for _, _, fs in os.walk(downloads) for f in fs]


# --- sources.check_manual_files, without Beam --------------------------------------------


def _checksum(name: str, data: bytes) -> sources.FileChecksum:
  import hashlib

  return sources.FileChecksum(sources.url_for(name), len(data), hashlib.sha256(data).hexdigest(), name)


def test_check_manual_files_missing_and_size(tmp_path):
  files = {"PASS.0.tar": b"a" * 1000, "PASS.1.tar": b"b" * 2000, "pass_metadata.csv": b"c" * 10}
  checksums = {name: _checksum(name, data) for name, data in files.items()}
  for name, data in files.items():
    (tmp_path / name).write_bytes(data)
  paths = sources.check_manual_files(str(tmp_path), list(files), checksums, "sha256")
  assert paths == {name: f"{tmp_path}/{name}" for name in files}

  (tmp_path / "PASS.1.tar").unlink()
  (tmp_path / "PASS.0.tar").write_bytes(b"a" * 999)
  with pytest.raises(errors.SourceError) as raised:
    sources.check_manual_files(str(tmp_path), list(files), checksums, "size")
  message = str(raised.value)
  assert f"PASS.1.tar is missing from {tmp_path}: download {sources.url_for('PASS.1.tar')}" in message
  assert "PASS.0.tar is 999 bytes but the published file is 1,000 bytes" in message
  assert f"download it again from {sources.url_for('PASS.0.tar')}" in message
  assert "pass_metadata.csv" not in message.split("(For a custom")[0]

  # --verify none still needs the files, but not their sizes.
  with pytest.raises(errors.SourceError, match="PASS.1.tar is missing"):
    sources.check_manual_files(str(tmp_path), list(files), checksums, "none")
  (tmp_path / "PASS.1.tar").write_bytes(b"x")
  assert set(sources.check_manual_files(str(tmp_path), list(files), checksums, "none")) == set(files)


def test_check_manual_files_sha256_and_unregistered(tmp_path):
  data = b"z" * 100
  (tmp_path / "PASS.3.tar").write_bytes(data)
  (tmp_path / "pass_metadata.csv").write_bytes(b"q")
  checksums = {"PASS.3.tar": _checksum("PASS.3.tar", b"y" * 100)}
  with pytest.raises(errors.SourceError) as raised:
    sources.check_manual_files(str(tmp_path), ["PASS.3.tar", "pass_metadata.csv"], checksums, "sha256")
  message = str(raised.value)
  assert "PASS.3.tar has the right size but the wrong sha256" in message
  assert "pass_metadata.csv: no size or sha256 is registered" in message
  # A size check alone cannot see the damage.
  sources.check_manual_files(str(tmp_path), ["PASS.3.tar"], checksums, "size")
  with pytest.raises(ValueError):
    sources.check_manual_files(str(tmp_path), ["PASS.3.tar"], checksums, "md5")


# --- inputs that must not pass silently ---------------------------------------------


def _rewrite_checksums(corpus) -> None:
  """checksums.tsv for the corpus as it now is (sizes and sha256 of the damaged files)."""
  files = {name: tar_files.sha256_file(os.path.join(corpus, name))
           for name in os.listdir(corpus) if name != testing.CHECKSUMS_FILE}
  tar_files.write_checksums(str(corpus), files)


def test_a_csv_without_rows_fails_instead_of_dropping_every_credit(corpus, tmp_path):
  csv_path = os.path.join(corpus, testing.METADATA_FILE)
  with open(csv_path, encoding="utf-8") as f:
    header = f.readline()
  with open(csv_path, "w", encoding="utf-8") as f:
    f.write(header)
  _rewrite_checksums(corpus)
  result = run_build(corpus, tmp_path / "data")
  message = error_line(result)
  assert len(result.stderr.strip().splitlines()) <= 3, result.stderr[-3000:]
  assert "20 of 20 written images have no row in pass_metadata.csv" in message
  assert "--allow_missing_metadata" in message
  assert not prepared_files(tmp_path / "data")
  allowed = run_build(corpus, tmp_path / "data", "--allow_missing_metadata")
  assert allowed.returncode == 0, allowed.stderr[-3000:]
  assert "images without metadata: 20" in allowed.stdout


def test_an_empty_archive_fails_even_without_verification(corpus, tmp_path):
  with tarfile.open(os.path.join(corpus, "PASS.4.tar"), "w"):
    pass
  result = run_build(corpus, tmp_path / "data", "--verify", "none", checksums=None)
  message = error_line(result)
  assert len(result.stderr.strip().splitlines()) <= 3, result.stderr[-3000:]
  assert "PASS.4.tar holds no member" in message and "Re-download" in message
  assert not prepared_files(tmp_path / "data")
