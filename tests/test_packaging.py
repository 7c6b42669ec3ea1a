"""The package as users install it: wheel contents, registration, the catalog's `pass`."""

import glob
import importlib
import os
import subprocess
import sys
import zipfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
  out = tmp_path_factory.mktemp("wheel")
  subprocess.run(
      [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), REPO],
      check=True, capture_output=True,
  )
  (path,) = out.glob("pass_tfds-*.whl")
  return path


def test_one_checksums_file_at_the_top_is_what_the_wheel_carries(wheel):
  package_copy = os.path.join(REPO, "pass_tfds", "dataset", "checksums.tsv")
  assert os.path.islink(package_copy) and os.path.realpath(package_copy) == os.path.join(REPO, "checksums.tsv")
  with zipfile.ZipFile(wheel) as archive:
    assert archive.read("pass_tfds/dataset/checksums.tsv") == open(os.path.join(REPO, "checksums.tsv"), "rb").read()


def test_wheel_carries_checksums_and_dataset_files(wheel):
  names = set(zipfile.ZipFile(wheel).namelist())
  for name in ("checksums.tsv", "README.md", "CITATIONS.bib", "TAGS.txt", "dummy_data/pass_metadata.csv"):
    assert f"pass_tfds/dataset/{name}" in names
  for package in ("pass_tfds/testing", "pass_tfds/report"):
    assert f"{package}/__init__.py" in names and f"{package}/__main__.py" in names
  sources = {os.path.relpath(path, REPO) for folder in ("cli", "dataset", "pipeline", "testing", "report")
             for path in glob.glob(os.path.join(REPO, "pass_tfds", folder, "*.py"))}
  assert sources <= names, sources - names


def test_wheel_scripts_name_functions_that_exist(wheel):
  with zipfile.ZipFile(wheel) as archive:
    (entry_points,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = archive.read(entry_points).decode()
  scripts = dict(line.split(" = ") for line in text.splitlines() if " = " in line)
  assert set(scripts) == {"pass-tfds-build", "pass-tfds-report", "pass-tfds-sample", "pass-tfds-croissant"}
  for target in scripts.values():
    module, function = target.split(":")
    assert callable(getattr(importlib.import_module(module), function)), target


def test_installed_wheel_uses_its_checksums(wheel, tmp_path):
  target = tmp_path / "site"
  subprocess.run(
      [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
      check=True,
  )
  script = (
      "import pass_tfds, tensorflow_datasets as tfds\n"
      "assert pass_tfds.__file__.startswith(%r), pass_tfds.__file__\n"
      "infos = tfds.builder_cls('pass_dataset').url_infos\n"
      "print(len(infos), int(infos['https://zenodo.org/record/6615455/files/PASS.9.tar'].size),"
      " infos['https://zenodo.org/record/6615455/files/pass_metadata.csv'].checksum)\n"
  ) % str(target)
  env = dict(os.environ, PYTHONPATH=str(target), TF_CPP_MIN_LOG_LEVEL="3")
  result = subprocess.run(
      [sys.executable, "-c", script], check=True, capture_output=True, text=True, env=env, cwd=tmp_path
  )
  assert result.stdout.split() == [
      "11", "11152302080", "8b6fde80b48326bda9da0a7c48f92146a58a847f76a1dc40603b7e4f73f5e798"
  ]


def test_catalog_pass_untouched(tmp_path):
  # A fresh interpreter: in this one, other test modules may have imported pass_tfds already.
  script = (
      "import sys\n"
      "import tensorflow_datasets as tfds\n"
      "assert 'pass_tfds' not in sys.modules\n"
      "before = tfds.builder_cls('pass')\n"
      "import pass_tfds\n"
      "after = tfds.builder_cls('pass')\n"
      "assert before is after, (before, after)\n"
      "assert after.__module__.startswith('tensorflow_datasets.'), after.__module__\n"
      "assert after.name == 'pass'\n"
      "assert tfds.builder_cls('pass_dataset') is pass_tfds.PassDataset\n"
      "features = tfds.builder('pass', data_dir='/nonexistent-never-built').info.features\n"
      "assert 'image/creator_uname' in features  # The catalog's own feature names.\n"
      "print('ok')\n"
  )
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  result = subprocess.run(
      [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path
  )
  assert result.returncode == 0 and result.stdout.split() == ["ok"], result.stderr[-3000:]
