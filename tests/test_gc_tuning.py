"""Workers and the CLI move the objects made at import out of the collector's way."""

import gc

from pass_tfds.pipeline import gc_tuning, shard_files, transforms


def test_freezing_moves_the_objects_alive_now_to_the_permanent_generation():
  gc.unfreeze()
  try:
    assert gc.get_freeze_count() == 0
    gc_tuning.freeze_objects_alive_now()
    assert gc.get_freeze_count() > 1000  # Beam, TFDS and pytest left far more than that.
  finally:
    gc.unfreeze()


def test_a_worker_freezes_when_it_sets_up_its_piece_writer(tmp_path):
  settings = transforms.BuildSettings(
      work_dir=str(tmp_path), file_format=shard_files.TFRECORD, short_side=None, jpeg_quality=90,
      strict=False, fingerprint="test",
  )
  gc.unfreeze()
  try:
    transforms.WritePieceFn(settings).setup()
    assert gc.get_freeze_count() > 0
  finally:
    gc.unfreeze()
