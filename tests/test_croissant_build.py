"""A finished build's croissant.json: what was built, valid for mlcroissant, checked by verify.

Two real builds of a small sample (`beam_runner.py`): `full` as TFRecord and
`short_side_64` as ArrayRecord. Each file's shards, sizes, sha256 and record
counts are checked against the files themselves and against what TFDS reads
(`tfds.builder_from_directory`), its fields against pass_dataset's features,
its sources against the sample's checksums.tsv (parsed here).
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow_datasets as tfds  # noqa: E402

from pass_tfds import testing  # noqa: E402
from pass_tfds.dataset import features  # noqa: E402
from pass_tfds.dataset.pass_dataset import PassDataset  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MLCROISSANT = shutil.which("mlcroissant", path=os.path.dirname(sys.executable)) or "mlcroissant"
BUILDS = {"full": "tfrecord", "short_side_64": "array_record"}  # config -> file format.


def _run(args: list[str]) -> subprocess.CompletedProcess:
  return subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=600, check=False,
                        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


@pytest.fixture(scope="module", params=sorted(BUILDS))
def build(request, small_sample, tmp_path_factory) -> tuple[str, str, str]:
  """(config, file format, version folder) of a finished build."""
  config, file_format = request.param, BUILDS[request.param]
  data_dir = str(tmp_path_factory.mktemp(f"croissant_{config}") / "data")
  result = _run([sys.executable, os.path.join(REPO, "beam_runner.py"), "--data_dir", data_dir,
                 "--manual_dir", small_sample, "--checksums", os.path.join(small_sample, testing.CHECKSUMS_FILE),
                 "--config", config, "--file_format", file_format, "--direct_running_mode=in_memory"])
  assert result.returncode == 0, result.stderr[-3000:]
  (version_dir,) = glob.glob(os.path.join(data_dir, "pass_dataset", config, "*"))
  return config, file_format, version_dir


def _read(version_dir: str, name: str) -> dict:
  with open(os.path.join(version_dir, name), encoding="utf-8") as f:
    return json.load(f)


def test_mlcroissant_validate_passes_without_warnings(build):
  path = os.path.join(build[2], "croissant.json")
  result = _run([MLCROISSANT, "validate", "--jsonld", path])
  assert result.returncode == 0, result.stderr[-3000:]
  assert "Done." in result.stderr
  assert "warning" not in result.stderr.lower(), result.stderr[-3000:]
  assert "error" not in result.stderr.lower(), result.stderr[-3000:]


def test_the_shards_are_the_files_with_their_sizes_sha256_and_records(build):
  """Every shard file of the folder, once: its size and sha256 computed here, its records as TFDS reads them."""
  config, file_format, version_dir = build
  description = _read(version_dir, "croissant.json")
  objects = [node for node in description["distribution"] if node["@type"] == "cr:FileObject"]
  on_disk = sorted(os.path.basename(path) for path in glob.glob(os.path.join(version_dir, f"*.{file_format}-*")))
  assert [node["name"] for node in objects] == on_disk and len(on_disk) > 1
  info = tfds.builder_from_directory(version_dir).info
  lengths = info.splits["train"].shard_lengths
  for node, records in zip(objects, lengths):
    with open(os.path.join(version_dir, node["name"]), "rb") as f:
      data = f.read()
    assert node["sha256"] == hashlib.sha256(data).hexdigest()
    assert node["contentSize"] == f"{len(data)} B"
    assert node["contentUrl"] == node["name"]  # Relative: a copied folder stays described.
    assert f"{records:,} records" in node["description"]
    assert node["encodingFormat"] == {"tfrecord": "application/x-tfrecord",
                                      "array_record": "application/x-array-record"}[file_format]
  manifest = _read(version_dir, "shards.json")
  assert [(s["name"], s["sha256"], s["records"]) for s in manifest["shards"]] == [
      (node["name"], node["sha256"], records) for node, records in zip(objects, lengths)]
  (records,) = description["recordSet"]
  total = info.splits["train"].num_examples
  assert total == 20 and f"{total:,} records" in records["description"]
  assert f"{total:,} records" in description["description"]


def test_the_fields_are_the_features_with_their_types(build):
  """Names in the features' order; types from the TFDS features themselves; read from the shard FileSet."""
  _, _, version_dir = build
  description = _read(version_dir, "croissant.json")
  (records,) = description["recordSet"]

  def croissant_type(feature) -> str:
    if isinstance(feature, tfds.features.Image):
      return "sc:ImageObject"
    if isinstance(feature, tfds.features.Text):
      return "sc:Text"
    return {np.float32: "sc:Float", np.int32: "sc:Integer"}[np.dtype(feature.np_dtype).type]

  built = features.features_dict()
  assert [(field["name"], field["dataType"]) for field in records["field"]] == [
      (name, croissant_type(feature)) for name, feature in built.items()]
  (shard_set,) = [node for node in description["distribution"] if node["@type"] == "cr:FileSet"]
  for field in records["field"]:
    assert field["source"] == {"fileSet": {"@id": shard_set["@id"]}, "extract": {"column": field["name"]}}
  listed = [node["name"] for node in description["distribution"] if node["@type"] == "cr:FileObject"]
  assert sorted(fnmatch.filter(os.listdir(version_dir), shard_set["includes"])) == listed
  assert records["key"] == {"@id": "train/hash"}


def test_config_version_and_the_sources_it_was_built_from(build, small_sample):
  config, _, version_dir = build
  description = _read(version_dir, "croissant.json")
  assert description["name"] == f"pass_dataset/{config}"
  assert description["version"] == str(PassDataset.VERSION) == os.path.basename(version_dir)
  (builder_config,) = [c for c in PassDataset.BUILDER_CONFIGS if c.name == config]
  assert f"`{config}` ({builder_config.description})" in description["description"]
  expected = {}
  with open(os.path.join(small_sample, testing.CHECKSUMS_FILE), encoding="utf-8") as f:
    for line in f:
      url, size, sha256, name = line.rstrip("\n").split("\t")
      expected[name] = (url, f"{size} B", sha256)
  record_url, *files = description["isBasedOn"]
  assert record_url.startswith("https://zenodo.org/")
  assert {node["name"]: (node["contentUrl"], node["contentSize"], node["sha256"]) for node in files} == expected
  assert len(files) == 11 and "sameAs" not in description  # Based on Zenodo's files, not the same.


def test_verify_checks_croissant_json_against_shards_json(build, tmp_path):
  config, _, version_dir = build
  copy = tmp_path / "data"
  shutil.copytree(os.path.dirname(os.path.dirname(os.path.dirname(version_dir))), copy)
  copied = os.path.join(copy, "pass_dataset", config, os.path.basename(version_dir))
  verify = [sys.executable, "-m", "pass_tfds", "verify", "--data_dir", str(copy), "--config", config]
  whole = _run(verify)
  assert whole.returncode == 0, whole.stderr
  description = _read(copied, "croissant.json")
  shard = next(node for node in description["distribution"] if node["@type"] == "cr:FileObject")
  shard["sha256"] = hashlib.sha256(b"other bytes").hexdigest()
  with open(os.path.join(copied, "croissant.json"), "w", encoding="utf-8") as f:
    json.dump(description, f)
  result = _run(verify)
  assert result.returncode == 2
  (line,) = result.stderr.splitlines()
  assert "croissant.json" in line and "shards.json" in line and line.startswith("error: ")
  os.remove(os.path.join(copied, "croissant.json"))
  result = _run(verify)
  assert result.returncode == 2
  (line,) = result.stderr.splitlines()
  assert "croissant.json is missing" in line
