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


def free_shared_memory() -> None:
  """Frees the shared memory of the batches Grain handed out, before the program exits.

  The batches sit in reference cycles with Grain's iterator. Collected only at the
  interpreter's exit, they can no longer unlink their shared memory, and Python's
  resource tracker warns of "leaked shared_memory objects". Grain unlinks on a thread
  of its own (one: see main), which the exit would cut short: wait for it too.
  """
  gc.collect()
  deleter = getattr(grain.SharedMemoryArray, "_del_thread_pool", None)  # Grain's internals.
  if deleter is not None:
    deleter.apply(int)  # Its one thread runs tasks in order: the unlinks queued before are done.


def main(argv):
  del argv
  grain.SharedMemoryArray.enable_async_del(num_threads=1)  # Grain's default, made sure of.
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
  free_shared_memory()
  print(f"{batches} batches of {shape} {dtype} from {len(source):,} examples")


if __name__ == "__main__":
  app.run(main)
