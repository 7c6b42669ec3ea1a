"""`write_sample`: a PASS-like corpus of any size, in the real layout."""

from __future__ import annotations

import multiprocessing
import os
import random
from typing import Any, Callable, Iterable

from pass_tfds.testing.hashes import image_hash
from pass_tfds.testing.layout import METADATA_FILE, archive_name
from pass_tfds.testing.manifest import SampleManifest
from pass_tfds.testing.metadata_csv import write_sample_csv
from pass_tfds.testing.pictures import Encoding, base_pool, calibrate, encode, plan_image, render_rgb
from pass_tfds.testing import tar_files


def _default_processes(num_images: int, num_archives: int) -> int:
  if num_images < 2000:
    return 1
  cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
  return max(1, min(cpus, num_archives))


def _warm_pool(seed: int, noise: float) -> None:
  base_pool(seed, noise)


def _run(function: Callable[[Any], Any], jobs: list[Any], processes: int,
         seed: int, noise: float) -> list[Any]:
  """Maps `function` over `jobs`, in worker processes when `processes` > 1."""
  if processes <= 1 or len(jobs) <= 1:
    return [function(job) for job in jobs]
  # Fork: the workers inherit the rendered pool and every imported module. A
  # spawned worker would import `pass_tfds` again, whose __init__ imports TFDS
  # and Beam (seconds; TensorFlow itself stays unloaded, TFDS imports it lazily).
  methods = multiprocessing.get_all_start_methods()
  context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
  with context.Pool(min(processes, len(jobs)), _warm_pool, (seed, noise)) as pool:
    return pool.map(function, jobs, chunksize=1)


def _sample_archive_job(job: tuple[str, list[tuple[int, str]], int, Encoding]
                        ) -> tuple[int, str, int]:
  """Renders and writes one archive; job = (path, [(index, member)], seed, encoding)."""
  path, items, seed, encoding = job
  pool = base_pool(seed, encoding.noise)

  def files() -> Iterable[tuple[str, bytes]]:
    for index, member in items:
      plan = plan_image(f"pass-sample/{seed}/plan/{index}")
      yield member, encode(render_rgb(pool, plan), quality=encoding.quality_for(plan))

  return tar_files.write_tar(path, files())


def write_sample(out_dir: str, num_images: int, *, num_archives: int = 10, seed: int = 0,
                 image_kb: int = 80, csv_rows: int | None = None, write_checksums: bool = True,
                 processes: int | None = None,
                 pandas_safe_usernames: bool = False) -> SampleManifest:
  """Writes `num_images` JPEGs over `num_archives` tars plus the metadata CSV.

  Members are `PASS.<k>/<hash[:2]>/<hash>.jpg` plus their directory entries;
  images are photo-like RGB JPEGs of about `image_kb` KB; usernames are messy
  and Flickr-ish. `csv_rows` (default `num_images`) larger than `num_images`
  adds rows for hashes without an image; smaller leaves random images without
  a row. `write_checksums` also writes a TFDS `checksums.tsv`. `processes`
  defaults to the available CPUs for large samples; the output is identical
  whatever the number of processes.
  `pandas_safe_usernames` avoids usernames that pandas' `read_csv` reads as NaN
  (`NA`, `null`, `nan`, `None`, `N/A`, ...: `PANDAS_NA_STRINGS`) by appending
  `_` to them, so that the TFDS catalog's `pass` builder can read the CSV; the
  default keeps them, as the real data has such names. Archives are the same.
  """
  if num_images < 0 or num_archives < 1 or image_kb <= 0 or (csv_rows is not None and csv_rows < 0):
    raise ValueError("need num_images >= 0, num_archives >= 1, image_kb > 0, csv_rows >= 0")
  os.makedirs(out_dir, exist_ok=True)
  hashes = [image_hash(seed, index) for index in range(num_images)]
  if len(set(hashes)) != len(hashes):
    raise RuntimeError("hash collision in the sample; use another seed")
  order = list(range(num_images))
  random.Random(f"pass-sample/{seed}/spread").shuffle(order)
  archive_of = {index: position % num_archives for position, index in enumerate(order)}
  members = [f"PASS.{archive_of[i]}/{h[:2]}/{h}.jpg" for i, h in enumerate(hashes)]
  per_archive: list[list[tuple[int, str]]] = [[] for _ in range(num_archives)]
  for index, member in enumerate(members):
    per_archive[archive_of[index]].append((index, member))
  for items in per_archive:
    items.sort(key=lambda item: item[1])  # Folder by folder, like `tar` of a sorted tree.

  encoding = calibrate(seed, image_kb)
  archives = [archive_name(k) for k in range(num_archives)]
  jobs = [(os.path.join(out_dir, archives[k]), per_archive[k], seed, encoding)
          for k in range(num_archives)]
  if processes is None:
    processes = _default_processes(num_images, num_archives)
  results = _run(_sample_archive_job, jobs, processes, seed, encoding.noise)

  rows = num_images if csv_rows is None else csv_rows
  csv_path = os.path.join(out_dir, METADATA_FILE)
  with_row = write_sample_csv(csv_path, seed, hashes, rows, pandas_safe_usernames)
  if write_checksums:
    files = {name: (size, sha) for name, (size, sha, _) in zip(archives, results)}
    files[METADATA_FILE] = tar_files.sha256_file(csv_path)
    tar_files.write_checksums(out_dir, files)

  images = {}
  for index, (hash_, member) in enumerate(zip(hashes, members)):
    plan = plan_image(f"pass-sample/{seed}/plan/{index}")
    images[hash_] = {"archive": archives[archive_of[index]], "member": member,
                     "width": plan.width, "height": plan.height}
  manifest = SampleManifest(
      archives=archives,
      images=images,
      expected_counts={
          "members": num_images,
          "written": num_images,
          "reencoded": 0,
          "skipped": {},
          "non_file_entries": sum(dirs for _, _, dirs in results),
          "metadata_rows": rows,
          "metadata_rows_without_member": rows - with_row,
          "images_without_metadata": num_images - with_row,
          "invalid_dates": 0,
          "invalid_gps": 0,
      },
      kind="sample",
      seed=seed,
  )
  manifest.save(out_dir)
  return manifest
