"""Several shard files written from one stream of rows, each row one record (or None) per file.

A piece built for several configs is read once; its rows carry one record per
config. Each file is written by `shard_files.write_shard`, as a config built
alone writes it, in a thread of its own fed through a small queue, so that no
more than a few records per file wait in memory. A failure on either side
stops every writer, and `write_shard` leaves no partial file behind.
"""

from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator, Sequence

from pass_tfds.pipeline import shard_files

_QUEUE_RECORDS = 64
_END = object()


class _Stopped(Exception):
  """The producer failed: the writer gives up (and removes its temporary file)."""


def write_shards(paths: Sequence[str], rows: Iterable[Sequence[bytes | None]],
                 file_format: str) -> list[shard_files.WrittenShard]:
  """Writes file i from the i-th item of every row (None: no record); returns what each wrote."""
  queues = [queue.Queue(maxsize=_QUEUE_RECORDS) for _ in paths]
  ended = [False] * len(paths)  # Writer i has taken its end (or stop) marker.
  written: list[shard_files.WrittenShard | None] = [None] * len(paths)
  errors: list[BaseException] = []
  failed = threading.Event()

  def records(index: int) -> Iterator[bytes]:
    while True:
      item = queues[index].get()
      if item is _END or item is _Stopped:
        ended[index] = True
        if item is _Stopped:
          raise _Stopped()
        return
      yield item

  def write(index: int) -> None:
    try:
      written[index] = shard_files.write_shard(paths[index], records(index), file_format)
    except BaseException as error:  # pylint: disable=broad-except  (re-raised by the caller)
      if not isinstance(error, _Stopped):
        errors.append(error)
        failed.set()
      while not ended[index]:  # Keep taking records so that the producer is never blocked.
        ended[index] = queues[index].get() in (_END, _Stopped)

  threads = [threading.Thread(target=write, args=(index,), daemon=True) for index in range(len(paths))]
  for thread in threads:
    thread.start()
  end = _Stopped
  try:
    for row in rows:
      if failed.is_set():
        break
      for index, record in enumerate(row):
        if record is not None:
          queues[index].put(record)
    else:
      end = _END
  finally:  # A writer's failure or the producer's: every other writer stops without a file.
    for source in queues:
      source.put(_Stopped if failed.is_set() else end)
    for thread in threads:
      thread.join()
  if errors:
    raise errors[0]
  return written  # type: ignore[return-value]
