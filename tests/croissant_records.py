"""Test fixture: read a Croissant file's records with mlcroissant, in a process of their own.

`python tests/croissant_records.py JSONLD RECORD_SET OUT.pickle` writes the
records as a list of dicts, each image replaced by what a comparison needs:
{"size", "mode", "pixels_sha256", "bytes"}. `bytes` are the encoded bytes the
image was opened from (mlcroissant 1.1.1 opens a member's bytes with
`PIL.Image.open(io.BytesIO(...))`), None if that is no longer so.

Run it with CROISSANT_CACHE set: mlcroissant reads it when imported and keeps
extracted archives there, keyed by their contentUrl, without checking them again.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import sys

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


if __name__ == "__main__":
  jsonld, record_set, out = sys.argv[1:]
  with open(out, "wb") as stream:
    pickle.dump(read_records(jsonld, record_set), stream)
