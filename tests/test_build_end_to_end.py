"""End-to-end builds of `pass_dataset` with `beam_runner.py` and `tfds build`, in subprocesses.

Every build reads a generated PASS-like sample (`pass_tfds.testing.write_sample`)
and the result is checked against the source files themselves: the tars are read
with `tarfile`, the CSV with `csv`, image sizes with Pillow. Nothing here uses
the builder's own parsing code to compute what the dataset should hold.
"""

from __future__ import annotations

import collections
import csv
import datetime
import glob
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402
import tensorflow_datasets as tfds  # noqa: E402

import pass_tfds  # noqa: E402,F401  (registers pass_dataset)
from pass_tfds import testing
from pass_tfds.cli import cpus  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(REPO, ".venv", "bin")
PYTHON = os.path.join(VENV_BIN, "python") if os.path.exists(os.path.join(VENV_BIN, "python")) else sys.executable
TFDS_CLI = os.path.join(VENV_BIN, "tfds") if os.path.exists(os.path.join(VENV_BIN, "tfds")) else "tfds"
RUNNER = os.path.join(REPO, "beam_runner.py")

NUM_IMAGES = 300
NUM_SHARDS = 20  # Two pieces per archive: boundaries inside archives, and order across shards.
BIG_IMAGES = 2000
ARCHIVES = tuple(f"PASS.{k}.tar" for k in range(10))
IN_MEMORY = ("--direct_running_mode=in_memory", "--direct_num_workers=1")
TIMEOUT = 600
SHARD_GLOB = "*.tfrecord-*-of-*"


# --------------------------------------------------------------------------
# Helpers


def _env(**extra: str) -> dict[str, str]:
  env = dict(os.environ)
  env.pop("PASS_TFDS_CHECKSUMS", None)  # Only where a test sets it.
  env.update(TF_CPP_MIN_LOG_LEVEL="3", **extra)
  return env


def runner_command(data_dir, manual_dir, *flags: str) -> list[str]:
  return [
      PYTHON, RUNNER,
      "--data_dir", str(data_dir),
      "--manual_dir", str(manual_dir),
      "--checksums", os.path.join(str(manual_dir), testing.CHECKSUMS_FILE),
      *flags,
  ]


def run_runner(data_dir, manual_dir, *flags: str) -> subprocess.CompletedProcess:
  return subprocess.run(
      runner_command(data_dir, manual_dir, *flags),
      cwd=REPO, env=_env(), capture_output=True, text=True, timeout=TIMEOUT,
  )


def assert_ok(result: subprocess.CompletedProcess) -> None:
  assert result.returncode == 0, (
      f"exit {result.returncode}\n--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
  )


def version_dir(data_dir, config: str = "full") -> str:
  return os.path.join(str(data_dir), "pass_dataset", config, "3.0.0")


def read_json(path: str) -> dict:
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def iso_date(value: str) -> str:
  """`2012-08-09 18:00:20.0` -> `2012-08-09T18:00:20`; "" stays ""."""
  if not value:
    return ""
  date, clock = value.split(" ")
  clock = clock.split(".")[0]
  parsed = datetime.datetime.strptime(f"{date} {clock}", "%Y-%m-%d %H:%M:%S")
  return parsed.isoformat(timespec="seconds")


def as_float32(value: str) -> np.float32:
  return np.float32(float(value)) if value.strip() else np.float32("nan")


def same_float32(a, b) -> bool:
  a, b = np.float32(a), np.float32(b)
  if np.isnan(a) or np.isnan(b):
    return bool(np.isnan(a) and np.isnan(b))
  return a.tobytes() == b.tobytes()


def read_source(manual_dir: str) -> dict:
  """Everything the dataset should hold, straight from the files.

  Returns {"images": {hash: {...}}, "rows": {hash: csv row dict}, "members": {archive: [names]},
  "csv_rows": n}.
  """
  images, members = {}, {}
  for name in ARCHIVES:
    names = []
    with tarfile.open(os.path.join(manual_dir, name)) as tar:
      for info in tar:
        if not info.isfile():
          continue
        names.append(info.name)
        data = tar.extractfile(info).read()
        image_hash = os.path.splitext(os.path.basename(info.name))[0]
        assert image_hash not in images, f"{image_hash} twice in the sample"
        with Image.open(io.BytesIO(data)) as picture:
          width, height = picture.size
        images[image_hash] = {
            "archive": name, "member": info.name, "data": data, "width": width, "height": height,
        }
    members[name] = names
  with open(os.path.join(manual_dir, testing.METADATA_FILE), encoding="utf-8", newline="") as f:
    reader = csv.reader(f)
    header = next(reader)
    assert header == ["", "unickname", "datetaken", "licensename", "hash", "latitude", "longitude"]
    table = [dict(zip(header, values)) for values in reader]
  rows = {row["hash"]: row for row in table}
  return {"images": images, "rows": rows, "members": members, "csv_rows": len(table)}


def shard_files(data_dir, kind: str = "tfrecord") -> list[str]:
  return sorted(glob.glob(os.path.join(version_dir(data_dir), f"pass_dataset-train.{kind}-*-of-*")))


def parse_example(record: bytes) -> dict:
  """A serialized tf.train.Example -> {feature: (kind, comparable value)}; NaN-safe."""
  example = tf.train.Example.FromString(record)
  parsed = {}
  for name, feature in example.features.feature.items():
    kind = feature.WhichOneof("kind")
    values = list(getattr(feature, kind).value)
    if kind == "float_list":
      values = np.asarray(values, np.float32).tobytes()  # NaN == NaN as bytes.
    parsed[name] = (kind, values)
  return parsed


def read_tfrecord_shards(data_dir) -> list[list[dict]]:
  """Per shard file, in file-name order, its examples in file order."""
  return [
      [parse_example(record) for record in tf.data.TFRecordDataset(path).as_numpy_iterator()]
      for path in shard_files(data_dir)
  ]


def load_raw(data_dir, config: str = "full") -> list[dict]:
  """All examples, image left as JPEG bytes, in shard order."""
  dataset = tfds.load(
      f"pass_dataset/{config}", data_dir=str(data_dir), split="train", download=False,
      decoders={"image": tfds.decode.SkipDecoding()},
      read_config=tfds.ReadConfig(interleave_cycle_length=1),
  )
  return list(tfds.as_numpy(dataset))


def check_against_source(examples: list[dict], source: dict) -> None:
  """Every archive image exactly once, every feature equal to the source's."""
  counts = collections.Counter(example["hash"].decode("utf-8") for example in examples)
  repeated = {h: n for h, n in counts.items() if n != 1}
  assert not repeated, f"images written more than once: {repeated}"
  assert set(counts) == set(source["images"]), (
      f"missing {sorted(set(source['images']) - set(counts))[:5]},"
      f" unexpected {sorted(set(counts) - set(source['images']))[:5]}"
  )
  problems = []
  for example in examples:
    image_hash = example["hash"].decode("utf-8")
    image = source["images"][image_hash]
    row = source["rows"][image_hash]
    if example["image"] != image["data"]:
      problems.append(f"{image_hash}: image bytes differ from {image['member']}")
    if example["creator_username"].decode("utf-8") != row["unickname"]:
      problems.append(f"{image_hash}: creator {example['creator_username']!r} != {row['unickname']!r}")
    for feature, column in (("gps_latitude", "latitude"), ("gps_longitude", "longitude")):
      if not same_float32(example[feature], as_float32(row[column])):
        problems.append(f"{image_hash}: {feature} {example[feature]!r} != {row[column]!r}")
    if example["date_taken"].decode("utf-8") != iso_date(row["datetaken"]):
      problems.append(f"{image_hash}: date {example['date_taken']!r} != {row['datetaken']!r}")
    if (int(example["original_width"]), int(example["original_height"])) != (image["width"], image["height"]):
      problems.append(
          f"{image_hash}: size {example['original_width']}x{example['original_height']}"
          f" != {image['width']}x{image['height']}"
      )
  assert not problems, "\n".join(problems[:20])


def check_report(report: dict, source: dict, archives=ARCHIVES) -> None:
  members = sum(len(source["members"][name]) for name in archives)
  assert report["members"] == members
  assert report["members"] == report["written"] + sum(report["skipped"].values())
  assert report["reconciled"] is True
  assert report["archives"] == list(archives)
  assert report["metadata_rows"] == source["csv_rows"]
  assert set(report["per_archive"]) == set(archives)
  assert sum(counts["members"] for counts in report["per_archive"].values()) == report["members"]
  for name in archives:
    assert report["per_archive"][name]["members"] == len(source["members"][name]), name


def wait_gone(pgid: int, seconds: float = 10.0) -> bool:
  """True once no process of the group is left."""
  deadline = time.time() + seconds
  while time.time() < deadline:
    try:
      os.killpg(pgid, 0)
    except ProcessLookupError:
      return True
    except PermissionError:
      return False
    time.sleep(0.05)
  return False


# --------------------------------------------------------------------------
# Fixtures (module-scoped: every build is done once)


@pytest.fixture(scope="module")
def manual_dir(tmp_path_factory) -> str:
  out = str(tmp_path_factory.mktemp("manual"))
  manifest = testing.write_sample(out, NUM_IMAGES, image_kb=8, seed=0, processes=1)
  assert len(manifest.images) == NUM_IMAGES
  return out


@pytest.fixture(scope="module")
def source(manual_dir) -> dict:
  truth = read_source(manual_dir)
  assert len(truth["images"]) == NUM_IMAGES
  return truth


@pytest.fixture(scope="module")
def main_build(manual_dir, tmp_path_factory):
  """A build of a large corpus's defaults: DirectRunner, multi_processing, one worker per core.

  This corpus is small, so the defaults alone would build it in one process
  (`in_memory_build`); asking for the workers gives the other mode.
  """
  data_dir = tmp_path_factory.mktemp("data_mp")
  result = run_runner(data_dir, manual_dir, "--num_shards", str(NUM_SHARDS),
                      f"--direct_num_workers={cpus.available_cpus()}")
  assert_ok(result)
  return data_dir, result


@pytest.fixture(scope="module")
def in_memory_build(manual_dir, tmp_path_factory):
  """The defaults for this small corpus (under `SMALL_BUILD_BYTES`): one process."""
  data_dir = tmp_path_factory.mktemp("data_in_memory")
  result = run_runner(data_dir, manual_dir, "--num_shards", str(NUM_SHARDS))
  assert_ok(result)
  first = result.stdout.splitlines()[0]
  assert "--direct_running_mode=in_memory" in first and "--direct_num_workers" not in first, first
  return data_dir


@pytest.fixture(scope="module")
def array_record_build(manual_dir, tmp_path_factory):
  data_dir = tmp_path_factory.mktemp("data_array_record")
  result = run_runner(
      data_dir, manual_dir, "--num_shards", str(NUM_SHARDS), "--file_format", "array_record",
      *IN_MEMORY,
  )
  assert_ok(result)
  return data_dir


# --------------------------------------------------------------------------
# 1. The multi_processing build (a large corpus's default), record by record


def test_worker_build_uses_multi_processing_and_prints_summary(main_build):
  _, result = main_build
  workers = cpus.available_cpus()  # What the CLI uses: affinity mask and container quota.
  first = result.stdout.splitlines()[0]
  assert "--runner=DirectRunner" in first
  assert "--direct_running_mode=multi_processing" in first
  assert f"--direct_num_workers={workers}" in first
  assert f"images written: {NUM_IMAGES:,} in {NUM_SHARDS} shards" in result.stdout
  assert f"archive members: {NUM_IMAGES:,}; skipped: none" in result.stdout
  assert "reconciled" in result.stdout and "NOT reconciled" not in result.stdout


def test_default_build_matches_the_source_record_by_record(main_build, source):
  data_dir, _ = main_build
  assert len(shard_files(data_dir)) == NUM_SHARDS
  assert not glob.glob(os.path.join(version_dir(data_dir), "*.incomplete"))
  dataset = tfds.load(
      "pass_dataset", data_dir=str(data_dir), split="train", download=False,
      decoders={"image": tfds.decode.SkipDecoding()},
  )
  examples = list(tfds.as_numpy(dataset))
  assert len(examples) == NUM_IMAGES
  check_against_source(examples, source)


def test_default_build_report(main_build, source):
  data_dir, _ = main_build
  report = read_json(os.path.join(version_dir(data_dir), "build_report.json"))
  check_report(report, source)
  assert report["written"] == NUM_IMAGES
  assert report["skipped"] == {}
  assert report["reencoded"] == 0
  assert report["metadata_rows"] == NUM_IMAGES
  assert report["metadata_rows_without_member"] == 0
  assert report["images_without_metadata"] == 0
  assert report["invalid_dates"] == 0 and report["invalid_gps"] == 0
  assert report["config"] == "full" and report["file_format"] == "tfrecord"
  assert report["shards"] == NUM_SHARDS
  assert all(counts["written"] == counts["members"] for counts in report["per_archive"].values())
  info = read_json(os.path.join(version_dir(data_dir), "dataset_info.json"))
  (split,) = info["splits"]
  assert sum(int(n) for n in split["shardLengths"]) == NUM_IMAGES


# --------------------------------------------------------------------------
# 2. Determinism: multi_processing (one worker per CPU) vs in_memory (1 worker)


def test_build_is_deterministic_across_running_modes(main_build, in_memory_build):
  mp_dir, _ = main_build
  mp_names = [os.path.basename(path) for path in shard_files(mp_dir)]
  im_names = [os.path.basename(path) for path in shard_files(in_memory_build)]
  assert mp_names == im_names
  assert len(mp_names) == NUM_SHARDS
  mp_shards, im_shards = read_tfrecord_shards(mp_dir), read_tfrecord_shards(in_memory_build)
  for name, mp_records, im_records in zip(mp_names, mp_shards, im_shards):
    assert len(mp_records) == len(im_records), name
    for position, (a, b) in enumerate(zip(mp_records, im_records)):
      assert a == b, f"{name}: record {position} differs"
  mp_info = read_json(os.path.join(version_dir(mp_dir), "dataset_info.json"))
  im_info = read_json(os.path.join(version_dir(in_memory_build), "dataset_info.json"))
  assert [s["shardLengths"] for s in mp_info["splits"]] == [s["shardLengths"] for s in im_info["splits"]]
  assert [len(records) for records in mp_shards] == [int(n) for n in mp_info["splits"][0]["shardLengths"]]


# --------------------------------------------------------------------------
# 3. ArrayRecord and random access


def test_array_record_build_gives_random_access(array_record_build, in_memory_build, source):
  assert len(shard_files(array_record_build, "array_record")) == NUM_SHARDS
  report = read_json(os.path.join(version_dir(array_record_build), "build_report.json"))
  assert report["file_format"] == "array_record"
  check_report(report, source)

  decoded = tfds.data_source("pass_dataset", data_dir=str(array_record_build), split="train", download=False)
  raw = tfds.data_source(
      "pass_dataset", data_dir=str(array_record_build), split="train", download=False,
      decoders={"image": tfds.decode.SkipDecoding()},
  )
  assert len(decoded) == NUM_IMAGES and len(raw) == NUM_IMAGES
  tfrecord_examples = load_raw(in_memory_build)  # Shard order: the ith example.
  assert len(tfrecord_examples) == NUM_IMAGES
  for index in (0, NUM_IMAGES // 2, NUM_IMAGES - 1):
    expected = tfrecord_examples[index]
    got, got_raw = decoded[index], raw[index]
    assert got_raw["image"] == expected["image"], index
    for name in ("hash", "creator_username", "date_taken"):
      assert got[name] == expected[name], (index, name)
    for name in ("gps_latitude", "gps_longitude"):
      assert same_float32(got[name], expected[name]), (index, name)
    for name in ("original_width", "original_height"):
      assert int(got[name]) == int(expected[name]), (index, name)
    # Decoded the same way (data sources decode with Pillow; tf.image's JPEG
    # decoder rounds differently), the pixels are the same.
    with Image.open(io.BytesIO(expected["image"])) as picture:
      pixels = np.asarray(picture.convert("RGB"))
    assert got["image"].dtype == np.uint8
    assert got["image"].shape == pixels.shape == (int(expected["original_height"]), int(expected["original_width"]), 3)
    np.testing.assert_array_equal(got["image"], pixels)
    tf_pixels = tf.io.decode_jpeg(expected["image"], channels=3).numpy()
    assert tf_pixels.shape == got["image"].shape
  # The whole order too, cheaply: hashes of every record.
  assert [raw[i]["hash"] for i in range(NUM_IMAGES)] == [e["hash"] for e in tfrecord_examples]


# --------------------------------------------------------------------------
# 4. `tfds build`


def test_tfds_build_cli(manual_dir, source, tmp_path):
  data_dir = tmp_path / "data_tfds_cli"
  result = subprocess.run(
      [
          TFDS_CLI, "build", "pass_dataset", "--imports", "pass_tfds",
          "--manual_dir", manual_dir, "--data_dir", str(data_dir),
          "--beam_pipeline_options=direct_running_mode=in_memory",
      ],
      cwd=str(tmp_path), capture_output=True, text=True, timeout=TIMEOUT,
      env=_env(PASS_TFDS_CHECKSUMS=os.path.join(manual_dir, testing.CHECKSUMS_FILE)),
  )
  assert_ok(result)
  examples = load_raw(data_dir)
  assert len(examples) == NUM_IMAGES
  check_against_source(examples, source)
  report = read_json(os.path.join(version_dir(data_dir), "build_report.json"))
  check_report(report, source)
  # `tfds build` builds every config; the resized ones hold every image too.
  for config, short_side in (("short_side_256", 256), ("short_side_64", 64)):
    assert os.path.exists(version_dir(data_dir, config)), f"`tfds build` did not build {config}"
    resized = load_raw(data_dir, config)
    assert sorted(e["hash"] for e in resized) == sorted(e["hash"] for e in examples), config
    for example in resized[:20]:
      with Image.open(io.BytesIO(example["image"])) as picture:
        assert picture.format == "JPEG" and picture.mode == "RGB"
        width, height = picture.size
      original = source["images"][example["hash"].decode()]
      assert min(width, height) == min(short_side, original["width"], original["height"]), config


# --------------------------------------------------------------------------
# 5. A one-archive trial, then a refused full build into the same data dir


def test_archive_subset_then_full_build_is_refused(manual_dir, source, tmp_path):
  data_dir = tmp_path / "data_trial"
  result = run_runner(data_dir, manual_dir, "--archives", "PASS.0.tar", *IN_MEMORY)
  assert_ok(result)
  members = source["members"]["PASS.0.tar"]
  assert f"images written: {len(members):,}" in result.stdout
  examples = load_raw(data_dir)
  assert len(examples) == len(members)
  expected_hashes = {os.path.splitext(os.path.basename(m))[0] for m in members}
  assert {e["hash"].decode() for e in examples} == expected_hashes
  trial_source = dict(source, images={h: source["images"][h] for h in expected_hashes})
  check_against_source(examples, trial_source)
  report = read_json(os.path.join(version_dir(data_dir), "build_report.json"))
  assert report["archives"] == ["PASS.0.tar"]
  check_report(report, source, archives=("PASS.0.tar",))
  assert report["metadata_rows_without_member"] == NUM_IMAGES - len(members)
  metadata = read_json(os.path.join(version_dir(data_dir), "metadata.json"))
  assert metadata["archives"] == ["PASS.0.tar"]
  assert metadata["complete"] is False
  assert tfds.builder("pass_dataset", data_dir=str(data_dir)).info.metadata["archives"] == ["PASS.0.tar"]

  refused = run_runner(data_dir, manual_dir, *IN_MEMORY)
  assert refused.returncode == 2, refused.stdout + refused.stderr
  assert "error:" in refused.stderr
  assert str(data_dir) in refused.stderr
  assert "PASS.0.tar" in refused.stderr and "PASS.9.tar" in refused.stderr
  assert "Traceback" not in refused.stderr
  # The trial build is left as it was.
  assert len(load_raw(data_dir)) == len(members)


# --------------------------------------------------------------------------
# 6. Interrupted build, then the same command again


def _finished_pieces(data_dir) -> list[str]:
  """Sidecars of finished pieces in the build's work folder (see `plan.PIECE_NAME`)."""
  folder = os.path.join(str(data_dir), "pass_dataset", "full", "partial_3.0.0")
  return sorted(glob.glob(os.path.join(folder, "PASS.*.tar.*-*.json")))


def test_killed_build_resumes_reusing_finished_pieces(tmp_path):
  manual = str(tmp_path / "manual_big")
  manifest = testing.write_sample(manual, BIG_IMAGES, image_kb=20, seed=1, processes=1)
  data_dir = tmp_path / "data_killed"
  command = runner_command(data_dir, manual, "--range_mb", "0.5")
  process = subprocess.Popen(
      command, cwd=REPO, env=_env(), start_new_session=True,
      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
  )
  try:
    deadline = time.time() + 120.0
    while time.time() < deadline and process.poll() is None and len(_finished_pieces(data_dir)) < 20:
      time.sleep(0.02)
    finished_at_kill = _finished_pieces(data_dir)
    still_running = process.poll() is None
    os.killpg(process.pid, signal.SIGKILL)
  finally:
    if process.poll() is None:
      try:
        os.killpg(process.pid, signal.SIGKILL)
      except ProcessLookupError:
        pass
    process.wait(timeout=60)
  assert still_running, f"the build ended (exit {process.returncode}) before it could be interrupted"
  assert len(finished_at_kill) >= 20, "no finished piece when the build was killed"
  assert process.returncode == -signal.SIGKILL
  assert wait_gone(process.pid), "Beam worker processes outlived the killed build"

  builder = tfds.builder("pass_dataset", data_dir=str(data_dir))
  assert not builder.is_prepared()
  assert not os.path.exists(os.path.join(version_dir(data_dir), "dataset_info.json"))
  with pytest.raises(AssertionError, match="could not find data"):
    tfds.load("pass_dataset", data_dir=str(data_dir), split="train", download=False)

  result = subprocess.run(command, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=TIMEOUT)
  assert_ok(result)
  assert f"images written: {BIG_IMAGES:,}" in result.stdout
  report = read_json(os.path.join(version_dir(data_dir), "build_report.json"))
  assert report["written"] == BIG_IMAGES and report["reconciled"] is True
  assert report["reused_pieces"] >= len(finished_at_kill)
  assert f"{report['reused_pieces']:,} reused from an earlier run" in result.stdout
  config_dir = os.path.dirname(version_dir(data_dir))
  assert sorted(os.listdir(config_dir)) == ["3.0.0"]  # No incomplete.* or partial_* folder left.

  clean_dir = tmp_path / "data_clean"
  assert_ok(subprocess.run(runner_command(clean_dir, manual, "--range_mb", "0.5"), cwd=REPO, env=_env(),
                           capture_output=True, text=True, timeout=TIMEOUT))
  resumed, clean = sorted(glob.glob(os.path.join(version_dir(data_dir), SHARD_GLOB))), sorted(
      glob.glob(os.path.join(version_dir(clean_dir), SHARD_GLOB)))
  assert [os.path.basename(p) for p in resumed] == [os.path.basename(p) for p in clean]
  for a, b in zip(resumed, clean):
    assert open(a, "rb").read() == open(b, "rb").read(), a  # The same records in the same order.
  hashes = collections.Counter(e["hash"].decode() for e in load_raw(data_dir))
  assert set(hashes) == set(manifest.images) and max(hashes.values()) == 1


# --------------------------------------------------------------------------
# 7. --help


def test_help_lists_the_flags():
  result = subprocess.run(
      [PYTHON, RUNNER, "--help"], cwd=REPO, env=_env(), capture_output=True, text=True, timeout=120,
  )
  assert_ok(result)
  for flag in ("--data_dir", "--manual_dir", "--config", "--strict", "--archives"):
    assert flag in result.stdout, flag


# --------------------------------------------------------------------------
# Known builder bug (kept last so that `-x` runs every test above first).


def test_overwrite_replaces_a_trial_build(manual_dir, source, tmp_path):
  """`--overwrite` ("Delete an existing build first.") must replace a one-archive trial.

  Regression test: `PassDataset.download_and_prepare` (pass_tfds/dataset/pass_dataset.py) once
  refused any data dir holding a build from other archives before looking at the
  download mode, so the one flag meant to delete that build exited 2 with "delete
  that folder".
  """
  data_dir = tmp_path / "data_overwrite"
  assert_ok(run_runner(data_dir, manual_dir, "--archives", "PASS.0.tar", *IN_MEMORY))
  result = run_runner(data_dir, manual_dir, "--overwrite", *IN_MEMORY)
  assert_ok(result)
  assert f"images written: {NUM_IMAGES:,}" in result.stdout
  metadata = read_json(os.path.join(version_dir(data_dir), "metadata.json"))
  assert metadata["archives"] == list(ARCHIVES) and metadata["complete"] is True
  check_against_source(load_raw(data_dir), source)
