"""Reading a built `pass_dataset`: the metadata of evenly spread examples, a few images.

Both file formats are read: ArrayRecord (and Parquet) through
`builder.as_data_source`, TFRecord through `builder.as_dataset`. Image bytes
are never decoded by TFDS (`SkipDecoding`).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Iterator

import numpy as np

from pass_tfds.dataset.data_card import feature_text
from pass_tfds.report.sampling import evenly_spaced, sampled_split

DEFAULT_MAX_EXAMPLES = 20_000
DEFAULT_NUM_IMAGES = 16  # Images kept, for the example grid (4 x 4).
_METADATA_KEYS = (
    "creator_username",
    "hash",
    "gps_latitude",
    "gps_longitude",
    "date_taken",
    "original_width",
    "original_height",
)
_READ_BATCH = 256  # Data-source records fetched at once.


class ReportError(RuntimeError):
  """The dataset cannot be read (not built there, unknown split, ...)."""


@dataclasses.dataclass
class Examples:
  """Metadata of the examples read, and the encoded images of the first few."""

  name: str  # `pass_dataset/full`.
  split: str
  file_format: str
  num_in_split: int
  creator_usernames: list[str]
  hashes: list[str]
  dates_taken: list[str]
  gps_latitudes: np.ndarray  # float64, NaN when unknown.
  gps_longitudes: np.ndarray
  original_widths: np.ndarray  # int64.
  original_heights: np.ndarray
  images: list[bytes]  # Encoded images of the first `len(images)` examples.

  def __len__(self) -> int:
    return len(self.hashes)


def _open_builder(data_dir: str, config: str):
  import tensorflow as tf
  import tensorflow_datasets as tfds

  if tf.io.gfile.exists(os.path.join(data_dir, "dataset_info.json")):
    # A version folder such as D/pass_dataset/full/3.0.0 was given.
    return tfds.builder_from_directory(data_dir)
  builder = tfds.builder("pass_dataset", data_dir=data_dir, config=config)
  if not builder.is_prepared():
    raise ReportError(
        f"No built pass_dataset/{config} in {data_dir} (looked for {builder.data_dir})."
        " Build it first, or pass the --data_dir and --config it was built with."
    )
  return builder


def _iter_data_source(builder, split: str, max_examples: int) -> tuple[int, Iterator[dict]]:
  import tensorflow_datasets as tfds

  source = builder.as_data_source(
      split=split, decoders={"image": tfds.decode.SkipDecoding()}
  )
  total = len(source)
  indices = evenly_spaced(total, max_examples)

  def records():
    for begin in range(0, len(indices), _READ_BATCH):
      batch = [int(i) for i in indices[begin:begin + _READ_BATCH]]
      yield from source.__getitems__(batch)

  return total, records()


def _iter_dataset(builder, split: str, max_examples: int) -> tuple[int, Iterator[dict]]:
  import tensorflow_datasets as tfds

  total = builder.info.splits[split].num_examples
  dataset = builder.as_dataset(
      split=sampled_split(builder, split, max_examples),
      decoders={"image": tfds.decode.SkipDecoding()},
      shuffle_files=False,
  )
  return total, iter(tfds.as_numpy(dataset))


def load_examples(
    data_dir: str,
    config: str = "full",
    split: str = "train",
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    num_images: int = DEFAULT_NUM_IMAGES,
) -> Examples:
  """Reads the metadata of up to `max_examples` examples of a built dataset.

  `data_dir` is the data dir the dataset was built into (or its version folder).
  The encoded images of the first `num_images` examples read are kept.
  """
  if max_examples < 1:
    raise ValueError(f"max_examples must be positive, not {max_examples}")
  import tensorflow_datasets as tfds

  builder = _open_builder(data_dir, config)
  info = builder.info
  try:
    info.splits[split]
  except (KeyError, ValueError) as error:
    raise ReportError(
        f"Split {split!r} is not in {info.full_name} at {data_dir}: its splits are"
        f" {', '.join(sorted(info.splits.keys()))}. ({error})"
    ) from None
  file_format = info.file_format
  if file_format in tfds.core.file_adapters.FileFormat.with_random_access():
    total, records = _iter_data_source(builder, split, max_examples)
  else:
    total, records = _iter_dataset(builder, split, max_examples)

  columns = {key: [] for key in _METADATA_KEYS}
  images = []
  for record in records:
    for key in _METADATA_KEYS:
      columns[key].append(record[key])
    if len(images) < num_images:
      images.append(bytes(record["image"]))
  return Examples(
      name=f"{info.name}/{info.config_name}" if info.config_name else info.name,
      split=split,
      file_format=getattr(file_format, "value", str(file_format)),
      num_in_split=int(total),
      creator_usernames=[feature_text(v) for v in columns["creator_username"]],
      hashes=[feature_text(v) for v in columns["hash"]],
      dates_taken=[feature_text(v) for v in columns["date_taken"]],
      gps_latitudes=np.asarray(columns["gps_latitude"], dtype=np.float64).reshape(-1),
      gps_longitudes=np.asarray(columns["gps_longitude"], dtype=np.float64).reshape(-1),
      original_widths=np.asarray(columns["original_width"], dtype=np.int64).reshape(-1),
      original_heights=np.asarray(columns["original_height"], dtype=np.int64).reshape(-1),
      images=images,
  )
