"""A JAX input pipeline with Grain over PASS built as ArrayRecord (random access).

    python beam_runner.py --data_dir D --manual_dir M --file_format array_record
    pip install ".[jax]"
    python examples/jax_grain.py --data_dir D [--config full]

Grain's worker processes read absl flags, so the program runs under absl.app.
"""

import gc

from absl import app, flags
import grain.python as grain
import jax.numpy as jnp
import numpy as np
from PIL import Image
import tensorflow_datasets as tfds

import pass_tfds  # noqa: F401  (registers pass_dataset)

_DATA_DIR = flags.DEFINE_string("data_dir", None, "TFDS data dir holding pass_dataset.", required=True)
_CONFIG = flags.DEFINE_string("config", "full", "full, short_side_256 or short_side_64.")
_SIZE = 224


class ResizeForModel(grain.MapTransform):
  """Each image to a fixed size, as floats in [0, 1]; stand-in for SSL augmentations."""

  def map(self, example):
    image = Image.fromarray(example["image"]).resize((_SIZE, _SIZE), Image.Resampling.BILINEAR)
    return {"image": np.asarray(image, np.float32) / 255.0}


def train(loader) -> tuple[int, tuple[int, ...], str]:
  """Stands in for a training loop: (batches, one batch's shape, its dtype)."""
  batches = 0
  for batch in loader:
    images = jnp.asarray(batch["image"])  # (64, 224, 224, 3) float32, ready for a model.
    batches += 1
  return batches, tuple(images.shape), str(images.dtype)


def main(argv):
  del argv
  source = tfds.data_source(f"pass_dataset/{_CONFIG.value}", data_dir=_DATA_DIR.value, split="train")
  loader = grain.DataLoader(
      data_source=source,
      sampler=grain.IndexSampler(
          len(source), shuffle=True, seed=0, num_epochs=1, shard_options=grain.NoSharding()
      ),
      operations=[ResizeForModel(), grain.Batch(batch_size=64, drop_remainder=True)],
      worker_count=2,
  )
  batches, shape, dtype = train(loader)
  # Grain's iterator and the batches it handed out sit in reference cycles, and each batch
  # is shared memory that its array frees when collected. Left to the interpreter's exit,
  # they are collected too late to free it, and Python's resource tracker warns of "leaked
  # shared_memory objects": collect them while the program still runs.
  gc.collect()
  print(f"{batches} batches of {shape} {dtype} from {len(source):,} examples")


if __name__ == "__main__":
  app.run(main)
