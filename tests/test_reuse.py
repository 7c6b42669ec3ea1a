"""One rule for reuse: a stored piece, duplicate fix or lookup is reused only if today's sources,
settings and code would write the same bytes, and takes its place from today's plan."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tarfile

import numpy as np
import pytest

from pass_tfds import testing
from pass_tfds.pipeline import reuse, shard_files, transforms

import pipeline_parts


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
  out = str(tmp_path_factory.mktemp("reuse_corpus"))
  testing.write_sample(out, 200, image_kb=4, seed=7, processes=1)
  return out


def _copy(corpus, tmp_path) -> str:
  copy = str(tmp_path / "manual")
  shutil.copytree(corpus, copy)
  return copy


def _replace_image_bytes(path: str) -> None:
  """A fresh download of a corrupt file: same size, some image bytes differ, a new mtime."""
  with tarfile.open(path) as tar:
    image = [info for info in tar if info.isfile()][3]
  data = bytearray(open(path, "rb").read())
  data[image.offset_data + image.size // 2] ^= 0x55  # Inside the JPEG's scan data: it still decodes.
  stat = os.stat(path)
  with open(path, "wb") as f:
    f.write(bytes(data))
  os.utime(path, (stat.st_atime, stat.st_mtime + 60))


def _publish(config, metadata_path):
  lookup, results = pipeline_parts.run_steps(config, metadata_path)
  fixes = [fix for item in transforms.find_losers(results)
           for fix in transforms.DropLosersFn(config.settings).process(item)]
  transforms.finalize(results, fixes, lookup, config)
  return results


def _published(out) -> dict[str, bytes]:
  return {name: open(os.path.join(out, name), "rb").read() for name in sorted(os.listdir(out))
          if ".tfrecord-" in name}


def test_a_replaced_archive_of_the_same_size_is_read_again(corpus, tmp_path):
  manual = _copy(corpus, tmp_path)
  archives = [testing.archive_name(k) for k in range(10)]
  work = str(tmp_path / "work")
  csv = os.path.join(manual, "pass_metadata.csv")
  first = pipeline_parts.finalize_config(manual, work, archives, num_shards=20)
  pipeline_parts.run_steps(first, csv)  # The killed run: every piece finished, nothing published.
  _replace_image_bytes(os.path.join(manual, "PASS.3.tar"))
  again = pipeline_parts.finalize_config(manual, work, archives, num_shards=20)
  results = _publish(again, csv)
  assert {result.name for result in results if not result.reused} == {
      piece.name for piece in again.pieces if piece.archive.name == "PASS.3.tar"}
  clean = pipeline_parts.finalize_config(manual, str(tmp_path / "clean"), archives, num_shards=20)
  _publish(clean, csv)
  assert _published(work) == _published(str(tmp_path / "clean"))


def test_a_reused_piece_takes_its_place_from_todays_plan(corpus, tmp_path):
  """A killed trial of one archive, then all ten: the same piece is shard 0, then shard 1."""
  csv = os.path.join(corpus, "pass_metadata.csv")
  work = str(tmp_path / "work")
  trial = pipeline_parts.finalize_config(corpus, work, ["PASS.1.tar"], num_shards=2)
  pipeline_parts.run_steps(trial, csv)
  full = pipeline_parts.finalize_config(corpus, work, [testing.archive_name(k) for k in range(10)],
                                        num_shards=20)
  _, results = pipeline_parts.run_steps(full, csv)
  reused = [result for result in results if result.reused]
  assert {result.name for result in reused} == {piece.name for piece in trial.pieces}
  planned = {piece.name: piece for piece in full.pieces}
  for result in reused:
    assert (result.shard, result.path) == (planned[result.name].shard, full.settings.piece_path(result.name))
    assert result.piece == planned[result.name] and result.piece.archive.index == 1


def test_a_duplicate_fix_is_made_again_when_its_piece_changed(corpus, tmp_path):
  manual = _copy(corpus, tmp_path)
  csv = os.path.join(manual, "pass_metadata.csv")
  config = pipeline_parts.finalize_config(manual, str(tmp_path / "work"), ["PASS.2.tar"])
  losers = np.array([0])
  _, (before,) = pipeline_parts.run_steps(config, csv)
  (first_fix,) = transforms.DropLosersFn(config.settings).process((before, losers))
  _replace_image_bytes(os.path.join(manual, "PASS.2.tar"))
  os.remove(before.sidecar)  # Written again whatever the reuse rule (tested above) says.
  config = pipeline_parts.finalize_config(manual, str(tmp_path / "work"), ["PASS.2.tar"])
  _, (after,) = pipeline_parts.run_steps(config, csv)
  assert not after.reused and after.digest != before.digest
  (fix,) = transforms.DropLosersFn(config.settings).process((after, losers))
  assert fix.digest != first_fix.digest
  records = list(shard_files.read_records(after.path, shard_files.TFRECORD))
  assert list(shard_files.read_records(fix.path, shard_files.TFRECORD)) == records[1:]
  assert fix.records == len(records) - 1 and fix.piece == after.piece


def test_a_sidecar_written_for_other_settings_is_not_reused(corpus, tmp_path):
  csv = os.path.join(corpus, "pass_metadata.csv")
  config = pipeline_parts.finalize_config(corpus, str(tmp_path / "work"), ["PASS.0.tar"])
  _, results = pipeline_parts.run_steps(config, csv)
  assert not any(result.reused for result in results)
  _, results = pipeline_parts.run_steps(config, csv)
  assert all(result.reused for result in results)
  for change in ({"fingerprint": "other config"}, {"code_version": "other code"}):
    other = dataclasses.replace(config, settings=dataclasses.replace(config.settings, **change))
    _, results = pipeline_parts.run_steps(other, csv)
    assert not any(result.reused for result in results), change


def test_a_gcs_objects_identity_changes_with_a_new_upload_of_the_same_size(gcs):
  path = f"{gcs.new_prefix('identity')}/PASS.0.tar"
  gcs.upload_bytes(b"a" * 4096, path)
  size, first = reuse.size_and_identity(path)
  assert size == 4096 and reuse.size_and_identity(path)[1] == first
  gcs.upload_bytes(b"b" * 4096, path)  # What a re-download of a damaged file uploads.
  assert reuse.size_and_identity(path)[1] != first


def test_strict_over_pieces_a_lenient_run_left_fails_as_a_strict_build_does(tmp_path):
  from pass_tfds.errors import StrictModeError

  corpus = str(tmp_path / "quirks")
  testing.write_quirk_corpus(corpus)
  manifest = testing.load_manifest(corpus)
  csv = os.path.join(corpus, "pass_metadata.csv")
  config = pipeline_parts.finalize_config(corpus, str(tmp_path / "work"), manifest.archives)
  pipeline_parts.run_steps(config, csv)  # Lenient: skips are counted, the pieces kept.
  strict = dataclasses.replace(config, settings=dataclasses.replace(config.settings, strict=True))
  with pytest.raises(StrictModeError, match=r"--strict: PASS\.\d\.tar: member '[^']+' skipped"):
    pipeline_parts.run_steps(strict, csv)
