"""Which examples a report reads: evenly spread indices, or contiguous chunks of a split."""

from __future__ import annotations

import numpy as np

_MAX_CHUNKS = 64  # Contiguous ranges a sampled TFRecord split is read in.


def evenly_spaced(total: int, count: int) -> np.ndarray:
  """`count` indices in [0, total), spread evenly, first one 0; all when total <= count."""
  if total <= count:
    return np.arange(total)
  return np.unique(np.floor(np.arange(count) * (total / count)).astype(np.int64))


def sampled_split(builder, split: str, max_examples: int) -> str:
  """A split spec reading at most `max_examples` examples of `split` in contiguous chunks.

  TFRecord has no random access: reading every k-th example would read them
  all. Contiguous chunks at evenly spaced positions only read what they use
  (plus the skipped part of the first shard of each chunk).
  """
  import tensorflow_datasets as tfds

  instructions = tfds.core.ReadInstruction.from_spec(split).to_absolute(builder.info.splits)
  ranges = []  # (split name, start, stop).
  for instruction in instructions:
    length = builder.info.splits[instruction.splitname].num_examples
    start = 0 if instruction.from_ is None else max(0, min(length, instruction.from_))
    stop = length if instruction.to is None else max(0, min(length, instruction.to))
    if stop > start:
      ranges.append((instruction.splitname, start, stop))
  total = sum(stop - start for _, start, stop in ranges)
  if total <= max_examples:
    return split
  num_chunks = max(1, min(_MAX_CHUNKS, max_examples))
  sizes = [max_examples // num_chunks + (i < max_examples % num_chunks) for i in range(num_chunks)]
  starts = [i * total // num_chunks for i in range(num_chunks)] + [total]
  # Global [start, stop) ranges over the concatenated split; total > max_examples
  # so each chunk fits before the next one starts.
  wanted = []
  for i in range(num_chunks):
    start, stop = starts[i], min(starts[i] + sizes[i], starts[i + 1])
    if wanted and wanted[-1][1] == start:  # Adjacent chunks read as one.
      wanted[-1] = (wanted[-1][0], stop)
    elif stop > start:
      wanted.append((start, stop))
  parts = []
  offset = 0
  for name, start, stop in ranges:
    for lo, hi in wanted:
      lo_local = max(lo - offset, 0) + start
      hi_local = min(hi - offset, stop - start) + start
      if hi_local > lo_local:
        parts.append(f"{name}[{lo_local}:{hi_local}]")
    offset += stop - start
  return "+".join(parts)
