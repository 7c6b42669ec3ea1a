"""Test fixture: read a Croissant file's records with mlcroissant, in a process of their own.

`python tests/croissant_records.py JSONLD RECORD_SET WORK_DIR [OTHER_JSONLD ...]`
writes WORK_DIR/out.pickle: {"records": the records as a list of dicts, each
image replaced by what a comparison needs ({"size", "mode", "pixels_sha256",
"bytes"}), "tfds_builder": what TFDS's `CroissantBuilder` (mlcroissant's Beam
reader) made of the same record set, "others": {OTHER_JSONLD: its records}},
each outcome ("records", the records), ("examples", N) or ("error", traceback).
`bytes` are the encoded bytes the image was opened from (mlcroissant 1.1.1
opens a member's bytes with `PIL.Image.open(io.BytesIO(...))`), None if that
is no longer so.

Run it with CROISSANT_CACHE set: mlcroissant reads it when imported and keeps
extracted archives there, keyed by their contentUrl, without checking them again.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import sys
import traceback

import mlcroissant as mlc
import numpy as np
from PIL import Image


def _image_summary(image: Image.Image) -> dict:
  source = getattr(image, "fp", None)
  encoded = source.getvalue() if isinstance(source, io.BytesIO) else None
  pixels = np.asarray(image.convert("RGB"))
  return {"size": image.size, "mode": image.mode, "bytes": encoded,
          "pixels_sha256": hashlib.sha256(pixels.tobytes()).hexdigest()}


def read_records(jsonld: str, record_set: str) -> list[dict]:
  records = []
  for record in mlc.Dataset(jsonld).records(record_set):
    records.append({key: _image_summary(value) if isinstance(value, Image.Image) else value
                    for key, value in record.items()})
  return records


def build_with_tfds(jsonld: str, record_set: str, data_dir: str) -> int:
  import tensorflow_datasets as tfds
  from apache_beam.options.pipeline_options import PipelineOptions

  builder = tfds.dataset_builders.CroissantBuilder(
      jsonld=jsonld, record_set_ids=[record_set], file_format="array_record", data_dir=data_dir)
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(beam_options=PipelineOptions([])))
  return sum(split.num_examples for split in builder.info.splits.values())


def _outcome(kind: str, read) -> tuple[str, object]:
  try:
    return kind, read()
  except Exception:  # noqa: BLE001  What it fails with is the result.
    return "error", traceback.format_exc()


def main(jsonld: str, record_set: str, work_dir: str, *others: str) -> None:
  result = {
      "records": read_records(jsonld, record_set),
      "tfds_builder": _outcome(
          "examples", lambda: build_with_tfds(jsonld, record_set, f"{work_dir}/tfds")),
      "others": {other: _outcome("records", lambda: read_records(other, record_set))
                 for other in others},
  }
  with open(f"{work_dir}/out.pickle", "wb") as stream:
    pickle.dump(result, stream)


if __name__ == "__main__":
  main(*sys.argv[1:])
