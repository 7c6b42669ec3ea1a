"""The Croissant description of PASS's sources, checked by a second reader.

mlcroissant (MLCommons' reference reader) validates the descriptions and reads
a generated corpus's records through one: archives, members and CSV rows,
joined on the hash. Those records must equal, hash for hash and field for
field, what `tfds.load` reads from a `pass_dataset` build of the same corpus.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import pickle
import re
import shutil
import subprocess
import sys
from typing import Iterator

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow_datasets as tfds  # noqa: E402

import pass_tfds  # noqa: E402,F401  (registers pass_dataset)
from pass_tfds import croissant, testing
from pass_tfds.dataset import features
from pass_tfds.pipeline import image_keys, metadata  # noqa: E402
from pass_tfds.testing import metadata_csv, tar_files  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECORDS_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "croissant_records.py")
# mlcroissant's command, installed beside this Python (the venv's), else on the PATH.
MLCROISSANT = shutil.which("mlcroissant", path=os.path.dirname(sys.executable)) or "mlcroissant"
NUM_IMAGES = 500
# Seed 11's sample has usernames NA, nan and None (25 rows): the cross-check meets them.
SEED = 11
# mlcommons/croissant's datasets/1.0/pass/metadata.json: "sha256" of PASS.1.tar and PASS.2.tar.
MLCOMMONS_PASS1_SHA256 = "dddaf2840997cb181572863587899b53"
FIELD_NAMES = ("image", "creator_username", "hash", "gps_latitude", "gps_longitude", "date_taken")

# Ten member hashes, one per archive, and CSV rows (unickname, datetaken, licensename, hash,
# latitude, longitude) that show where a Croissant reader and pass_dataset part.
QUIRK_HASHES = tuple(f"{k:x}" * 2 + "0123456789abcdef0123456789abcd" for k in range(10))
_TAKEN = "2012-08-09 18:00:20.0"
QUIRK_ROWS = [
    ("out_of_range", _TAKEN, testing.LICENSE, QUIRK_HASHES[0], "95.5", "10.0"),
    ("half_position", _TAKEN, testing.LICENSE, QUIRK_HASHES[1], "12.5", ""),
    ("upper_case", _TAKEN, testing.LICENSE, QUIRK_HASHES[2].upper(), "", ""),
    ("first_of_two", _TAKEN, testing.LICENSE, QUIRK_HASHES[3], "", ""),
    ("second_of_two", _TAKEN, testing.LICENSE, QUIRK_HASHES[3], "", ""),
    ("NA", "", testing.LICENSE, QUIRK_HASHES[4], "", ""),
] + [(f"user{k}", _TAKEN, testing.LICENSE, QUIRK_HASHES[k], "1.5", "2.5") for k in range(5, 10)]
IMPOSSIBLE_DATE = "0000-00-00 00:00:00.0"


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
  return subprocess.run(args, capture_output=True, text=True, timeout=600,
                        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})})


def _validate(path: str) -> subprocess.CompletedProcess:
  """`mlcroissant validate --jsonld path`, offline (nothing it reads is a URL it fetches)."""
  return _run([MLCROISSANT, "validate", "--jsonld", path])


def _checksums_lines(path: str) -> dict[str, tuple[str, int, str]]:
  """name -> (url, size, sha256), read here without the project's reader."""
  lines = {}
  with open(path, encoding="utf-8") as stream:
    for line in stream:
      url, size, sha256, name = line.rstrip("\n").split("\t")
      lines[name] = (url, int(size), sha256)
  return lines


def _file_objects(description: dict) -> dict[str, dict]:
  return {node["name"]: node for node in description["distribution"]
          if node["@type"] == "cr:FileObject"}


# --------------------------------------------------------------------------
# Fixtures: one corpus, one build, one read through the description.


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> str:
  out = str(tmp_path_factory.mktemp("corpus"))
  testing.write_sample(out, NUM_IMAGES, image_kb=4, seed=SEED, processes=1)
  return out


@pytest.fixture(scope="module")
def corpus_jsonld(corpus, tmp_path_factory) -> str:
  path = str(tmp_path_factory.mktemp("jsonld") / "corpus.json")
  checksums = os.path.join(corpus, testing.CHECKSUMS_FILE)
  assert croissant.main(["--manual_dir", corpus, "--checksums", checksums, "--out", path]) == 0
  return path


@pytest.fixture(scope="module")
def pass_jsonld(tmp_path_factory) -> str:
  path = str(tmp_path_factory.mktemp("jsonld") / "pass.json")
  assert croissant.main(["--out", path]) == 0
  return path


def _jpeg(shade: int) -> bytes:
  buffer = io.BytesIO()
  Image.new("RGB", (16, 8), (shade, 90, 160)).save(buffer, "JPEG")
  return buffer.getvalue()


def _write_quirks(out: str, rows: list[tuple[str, ...]]) -> str:
  """One JPEG per archive, named by QUIRK_HASHES, the CSV `rows`; returns its description."""
  os.makedirs(out)
  files = {}
  for k, image_hash in enumerate(QUIRK_HASHES):
    name = testing.archive_name(k)
    size, sha256, _ = tar_files.write_tar(
        os.path.join(out, name), [(f"PASS.{k}/{image_hash[:2]}/{image_hash}.jpg", _jpeg(k))])
    files[name] = (size, sha256)
  csv_path = os.path.join(out, testing.METADATA_FILE)
  metadata_csv.write_metadata_csv(csv_path, rows)
  files[testing.METADATA_FILE] = tar_files.sha256_file(csv_path)
  tar_files.write_checksums(out, files)
  path = os.path.join(out, "croissant.json")
  assert croissant.main(["--manual_dir", out, "--checksums",
                         os.path.join(out, testing.CHECKSUMS_FILE), "--out", path]) == 0
  return path


@pytest.fixture(scope="module")
def quirk_jsonlds(tmp_path_factory) -> tuple[str, str]:
  """(the quirk corpus's description, the same with one impossible date)."""
  root = tmp_path_factory.mktemp("quirks")
  impossible = [row if row[0] != "user5" else (row[0], IMPOSSIBLE_DATE) + row[2:]
                for row in QUIRK_ROWS]
  return (_write_quirks(str(root / "quirks"), QUIRK_ROWS),
          _write_quirks(str(root / "impossible_date"), impossible))


@pytest.fixture(scope="module")
def croissant_reader(corpus_jsonld, quirk_jsonlds,
                     tmp_path_factory) -> Iterator[tuple[subprocess.Popen, str, str]]:
  """mlcroissant reading the corpus file in a process of its own, started before the build so
  that the two overlap; with an extract cache of its own. It also reads a copy whose
  PASS.4.tar has an MD5-length "sha256" (the third item), as mlcommons' PASS file has, and
  the quirk corpus's files."""
  folder = str(tmp_path_factory.mktemp("mlcroissant"))
  with open(corpus_jsonld, encoding="utf-8") as stream:
    with_md5_length_sha256 = json.load(stream)
  _file_objects(with_md5_length_sha256)["PASS.4.tar"]["sha256"] = MLCOMMONS_PASS1_SHA256
  wrong_sha256_jsonld = os.path.join(folder, "wrong_sha256.json")
  with open(wrong_sha256_jsonld, "w", encoding="utf-8") as stream:
    json.dump(with_md5_length_sha256, stream)
  with open(os.path.join(folder, "stderr.txt"), "w") as stderr:  # A pipe could fill and stall it.
    process = subprocess.Popen(
        [sys.executable, RECORDS_SCRIPT, corpus_jsonld, croissant.RECORD_SET, folder,
         wrong_sha256_jsonld, *quirk_jsonlds],
        stdout=subprocess.DEVNULL, stderr=stderr,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
             "CROISSANT_CACHE": os.path.join(folder, "cache")})
  yield process, folder, wrong_sha256_jsonld
  if process.poll() is None:
    process.kill()
    process.wait()


@pytest.fixture(scope="module")
def built(corpus, croissant_reader, tmp_path_factory) -> dict[str, dict]:
  """hash -> the example `tfds.load` reads from the `full` build, image bytes undecoded.

  (`croissant_reader` only so that it starts first.)
  """
  from apache_beam.options.pipeline_options import PipelineOptions

  data_dir = str(tmp_path_factory.mktemp("data"))
  builder = tfds.builder("pass_dataset", config="full", data_dir=data_dir, verify="sha256",
                         checksums_path=os.path.join(corpus, testing.CHECKSUMS_FILE))
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=corpus, beam_options=PipelineOptions([])))
  dataset = tfds.load("pass_dataset/full", data_dir=data_dir, split="train",
                      decoders={"image": tfds.decode.SkipDecoding()})
  examples = {}
  for example in tfds.as_numpy(dataset):
    image_hash = example["hash"].decode("utf-8")
    assert image_hash not in examples, f"{image_hash} twice in the build"
    examples[image_hash] = example
  return examples


@pytest.fixture(scope="module")
def read_through_croissant(croissant_reader) -> dict:
  """What mlcroissant (records) and TFDS's CroissantBuilder (tfds_builder) made of the corpus
  file, what mlcroissant made of the other files (others), and its stderr."""
  process, folder, _ = croissant_reader
  process.wait(timeout=600)
  with open(os.path.join(folder, "stderr.txt"), encoding="utf-8", errors="replace") as stream:
    stderr = stream.read()
  assert process.returncode == 0, stderr[-3000:]
  with open(os.path.join(folder, "out.pickle"), "rb") as stream:
    return {**pickle.load(stream), "stderr": stderr}


# --------------------------------------------------------------------------
# The files themselves


def test_pass_file_holds_the_11_published_sizes_and_sha256(pass_jsonld):
  with open(pass_jsonld, encoding="utf-8") as stream:
    description = json.load(stream)
  published = _checksums_lines(os.path.join(REPO, "checksums.tsv"))
  files = _file_objects(description)

  assert len(published) == 11 and set(files) == set(published)
  for name, (url, size, sha256) in published.items():
    assert files[name]["contentUrl"] == url
    assert files[name]["contentSize"] == f"{size} B"
    assert files[name]["sha256"] == sha256
    assert re.fullmatch(r"[0-9a-f]{64}", files[name]["sha256"]), name
  assert len({node["sha256"] for node in files.values()}) == 11, "every file its own sha256"
  assert description["conformsTo"] == "http://mlcommons.org/croissant/1.1"


def test_pass_file_says_what_the_data_card_says(pass_jsonld):
  with open(pass_jsonld, encoding="utf-8") as stream:
    description = json.load(stream)
  record_set, = description["recordSet"]
  assert [field["name"] for field in record_set["field"]] == list(FIELD_NAMES)
  assert record_set["key"] == {"@id": "images/hash"}
  assert description["license"] == "https://creativecommons.org/licenses/by/4.0/"
  assert "@Article{asano21pass" in description["citeAs"]
  uses = description["rai:dataUseCases"]
  assert "Not for: connecting images with their creators' usernames" in uses
  image_files, = [node for node in description["distribution"] if node["@type"] == "cr:FileSet"]
  assert image_files["containedIn"] == [{"@id": f"PASS.{k}.tar"} for k in range(10)]


def test_fields_are_the_built_features_of_the_data_card():
  """The field list the build's own croissant.json will reuse names pass_dataset's features,
  and the CSV columns it reads are pass_tfds.pipeline.metadata's."""
  built_features = set(features.features_dict().keys()) - {"original_width", "original_height"}
  assert {spec.name for spec in croissant.FIELDS} == built_features
  columns = ({spec.csv_column for spec in croissant.FIELDS}
             | {spec.joins_csv_column for spec in croissant.FIELDS})
  assert columns - {None} <= set(metadata.EXPECTED_HEADER)


@pytest.mark.parametrize("which", ["pass", "corpus"])
def test_mlcroissant_validate_passes_without_warnings(which, pass_jsonld, corpus_jsonld):
  result = _validate(pass_jsonld if which == "pass" else corpus_jsonld)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "Done." in result.stderr
  assert "warning" not in result.stderr.lower(), result.stderr[-3000:]
  assert "error" not in result.stderr.lower(), result.stderr[-3000:]


def test_corpus_file_points_at_the_corpus_files(corpus, corpus_jsonld):
  with open(corpus_jsonld, encoding="utf-8") as stream:
    files = _file_objects(json.load(stream))
  own = _checksums_lines(os.path.join(corpus, testing.CHECKSUMS_FILE))
  for name, (_, size, sha256) in own.items():
    assert files[name]["contentUrl"] == os.path.join(os.path.abspath(corpus), name)
    assert (files[name]["contentSize"], files[name]["sha256"]) == (f"{size} B", sha256)


def test_a_corpus_whose_file_is_missing_is_an_error_naming_it(corpus, tmp_path, capsys):
  partial = tmp_path / "partial"
  partial.mkdir()
  for name in os.listdir(corpus):
    if name != "PASS.3.tar":
      os.symlink(os.path.join(corpus, name), partial / name)
  code = croissant.main(["--manual_dir", str(partial), "--checksums",
                         os.path.join(corpus, testing.CHECKSUMS_FILE)])
  err = capsys.readouterr().err
  assert code == 2
  assert err.startswith("error: ") and "PASS.3.tar is missing" in err and "Traceback" not in err


def test_checksums_without_a_file_is_one_error_line(corpus, tmp_path, capsys):
  checksums = tmp_path / "checksums.tsv"
  with open(os.path.join(corpus, testing.CHECKSUMS_FILE), encoding="utf-8") as stream:
    checksums.write_text("".join(line for line in stream if "PASS.7.tar" not in line))
  code = croissant.main(["--checksums", str(checksums)])
  err = capsys.readouterr().err
  assert code == 2
  assert err.startswith("error: ") and err.count("\n") == 1 and "PASS.7.tar" in err


# --------------------------------------------------------------------------
# The second reader: mlcroissant's records == tfds.load's examples


def _csv_usernames(corpus: str) -> dict[str, str]:
  with open(os.path.join(corpus, testing.METADATA_FILE), encoding="utf-8", newline="") as stream:
    return {row["hash"]: row["unickname"] for row in csv.DictReader(stream)}


def _text(value) -> str | None:
  """mlcroissant 1.1.1 gives sc:Text as UTF-8 bytes, missing as None."""
  return value.decode("utf-8") if isinstance(value, bytes) else value


def _same_username(read, built: str) -> tuple[bool, bool]:
  """(equal, equal only through pandas' NA strings).

  mlcroissant reads CSVs with pandas' defaults: a username that pandas takes
  for NA (`NA`, `nan`, `None`, ..., or an empty cell) comes back as None.
  """
  read = _text(read)
  if read is None:
    return built in testing.PANDAS_NA_STRINGS, True
  return read == built, False


def _same_coordinate(read, built: np.float32) -> bool:
  """Croissant's missing (None) is the build's NaN; numbers meet as float32."""
  if read is None:
    return bool(np.isnan(built))
  return not np.isnan(built) and np.float32(read) == built


def _same_date(read, built: str) -> bool:
  """Croissant's missing is the build's ""; a timestamp meets the build's ISO 8601 text."""
  if read is None:
    return built == ""
  return read.isoformat() == built


def _same_image(read: dict, built_bytes: bytes) -> bool:
  """The `full` config keeps a 3-channel JPEG's archived bytes: the same bytes, the same pixels."""
  with Image.open(io.BytesIO(built_bytes)) as image:
    pixels = hashlib.sha256(np.asarray(image.convert("RGB")).tobytes()).hexdigest()
    size, mode = image.size, image.mode
  return (read["bytes"] == built_bytes and read["pixels_sha256"] == pixels
          and (read["size"], read["mode"]) == (size, mode))


def test_mlcroissant_reads_what_tfds_load_reads(corpus, built, read_through_croissant):
  records = read_through_croissant["records"]
  by_hash = {}
  for record in records:
    image_hash = _text(record["images/hash"])
    assert image_hash not in by_hash, f"{image_hash} twice through Croissant"
    by_hash[image_hash] = record

  assert len(built) == NUM_IMAGES
  assert set(by_hash) == set(built)
  identical = dict.fromkeys(FIELD_NAMES, 0)
  through_pandas_na = []
  for image_hash, example in built.items():
    record = {key.split("/", 1)[1]: value for key, value in by_hash[image_hash].items()}
    username = example["creator_username"].decode("utf-8")
    same_username, via_na = _same_username(record["creator_username"], username)
    if via_na:
      through_pandas_na.append(username)
    checks = {
        "image": _same_image(record["image"], example["image"]),
        "creator_username": same_username,
        "hash": _text(record["hash"]) == example["hash"].decode("utf-8"),
        "gps_latitude": _same_coordinate(record["gps_latitude"], example["gps_latitude"]),
        "gps_longitude": _same_coordinate(record["gps_longitude"], example["gps_longitude"]),
        "date_taken": _same_date(record["date_taken"], example["date_taken"].decode("utf-8")),
    }
    assert checks == dict.fromkeys(FIELD_NAMES, True), (image_hash, checks, record, example)
    for name, same in checks.items():
      identical[name] += same

  assert identical == dict.fromkeys(FIELD_NAMES, NUM_IMAGES)
  # Nothing the description asks of mlcroissant made it warn (a regex that did not match...).
  stderr = read_through_croissant["stderr"]
  assert "Could not match" not in stderr, stderr[-3000:]
  # The pandas quirk: exactly the rows whose username pandas reads as NA, and this corpus has
  # some. If this fails with none, mlcroissant keeps such usernames now: drop the mapping in
  # _same_username and the notes on it (croissant.FIELDS, croissant.DESCRIPTION, README).
  csv_usernames = _csv_usernames(corpus)
  expected_na = sorted(name for image_hash, name in csv_usernames.items()
                       if image_hash in built and name in testing.PANDAS_NA_STRINGS)
  assert sorted(through_pandas_na) == expected_na
  assert expected_na, "the corpus should have usernames pandas reads as NA"
  gps_known = sum(not math.isnan(example["gps_latitude"]) for example in built.values())
  assert 0 < gps_known < NUM_IMAGES  # Both sides of the NaN mapping are met.


def test_tfds_croissant_builder_cannot_read_image_members_yet(read_through_croissant):
  """TFDS 4.9.10's CroissantBuilder reads through mlcroissant 1.1.1's Beam reader, whose
  Concatenate step gets one file where it expects a list when a FileSet's members are read
  whole (`fileProperty: content`), as PASS's images are.

  The README says so. If this fails because the build succeeds, the reader is fixed: say
  in the README that CroissantBuilder builds the file, and compare its examples here too.
  """
  outcome, detail = read_through_croissant["tfds_builder"]
  assert outcome == "error", f"CroissantBuilder built {detail} examples"
  assert "TypeError: 'Path' object is not iterable" in detail, detail[-3000:]


def test_mlcroissant_refuses_a_file_whose_sha256_is_not_the_files(croissant_reader,
                                                                  read_through_croissant):
  """Why the sha256 matter: with mlcommons' MD5-length value for one archive, the reader stops."""
  wrong_sha256_jsonld = croissant_reader[2]
  outcome, detail = read_through_croissant["others"][wrong_sha256_jsonld]
  assert outcome == "error", f"read {len(detail)} records"
  assert "PASS.4.tar is not identical with the reference" in detail, detail[-3000:]


def test_where_a_croissant_reader_and_the_build_part(quirk_jsonlds, read_through_croissant):
  """The README's table, row by row: mlcroissant's raw values against pass_dataset's rules
  (pass_tfds.pipeline.metadata, pass_tfds.pipeline.image_keys) on the same CSV rows."""
  with_rows, with_impossible_date = quirk_jsonlds
  outcome, records = read_through_croissant["others"][with_rows]
  assert outcome == "records", records[-3000:]
  read: dict[str, list[dict]] = {}
  for record in records:
    read.setdefault(_text(record["images/hash"]), []).append(
        {key.split("/", 1)[1]: value for key, value in record.items()})
  assert sorted(read) == sorted(QUIRK_HASHES)  # Every member: a record or more.

  def built(row: tuple[str, ...]) -> metadata.ImageMetadata:
    return metadata.parse_values(("0",) + row)

  # GPS out of range, or half a position: the number as written; the build's NaN.
  (out_of_range,) = read[QUIRK_HASHES[0]]
  assert (out_of_range["gps_latitude"], out_of_range["gps_longitude"]) == (95.5, 10.0)
  assert math.isnan(built(QUIRK_ROWS[0]).gps_latitude)
  (half,) = read[QUIRK_HASHES[1]]
  assert (half["gps_latitude"], half["gps_longitude"]) == (12.5, None)
  assert math.isnan(built(QUIRK_ROWS[1]).gps_latitude)
  # A CSV hash in upper case: no row for Croissant's string join; the same key for the build's.
  (upper,) = read[QUIRK_HASHES[2]]
  assert upper["creator_username"] is None and upper["date_taken"] is None
  assert image_keys.image_key(QUIRK_ROWS[2][3]) == image_keys.image_key(QUIRK_HASHES[2])
  # Two rows for one hash: a record each; the build keeps the first row (pass_tfds.pipeline.accounting).
  assert sorted(_text(r["creator_username"]) for r in read[QUIRK_HASHES[3]]) == [
      "first_of_two", "second_of_two"]
  # The username NA and an empty date: missing for mlcroissant; the build's "NA" and "".
  (na,) = read[QUIRK_HASHES[4]]
  assert na["creator_username"] is None and na["date_taken"] is None
  assert (built(QUIRK_ROWS[5]).creator_username, built(QUIRK_ROWS[5]).date_taken) == ("NA", "")
  # An ordinary row: the same values on both sides.
  (plain,) = read[QUIRK_HASHES[5]]
  assert _text(plain["creator_username"]) == "user5"
  assert plain["date_taken"].isoformat() == built(QUIRK_ROWS[6]).date_taken == "2012-08-09T18:00:20"

  # An impossible date stops mlcroissant's read; the build stores "" and counts it invalid.
  outcome, detail = read_through_croissant["others"][with_impossible_date]
  assert outcome == "error" and "year 0 is out of range" in detail, detail
  assert built(("user5", IMPOSSIBLE_DATE, "", "", "", "")).date_invalid
