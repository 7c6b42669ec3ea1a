"""The one key that joins an archive member's hash to its CSV row.

PASS hashes are 30-32 hex digits. A member's file name and its CSV row must
meet even if one side wrote upper case or dropped leading zeros, so the key
is the hash's value as a number: a 128-bit integer, held as two uint64 words
(`hi`, `lo`) in the compact arrays that workers search.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

_HEX = re.compile(r"^[0-9a-fA-F]{1,64}$")
_LOW64 = (1 << 64) - 1

# A record of one key, as stored in compact arrays and sorted by (hi, lo).
KEY_DTYPE = np.dtype([("hi", "<u8"), ("lo", "<u8")])


def normalize(image_hash: str) -> str:
  """The hash as the dataset stores it in `hash`: as written, without surrounding spaces."""
  return image_hash.strip()


def image_key(image_hash: str) -> int | None:
  """The join key of a hash: its value (< 2**128), or None when it is not hexadecimal.

  Values of more than 32 significant hex digits (never PASS's) are folded into
  128 bits with BLAKE2b; equal hashes still get equal keys.
  """
  text = image_hash.strip()
  if not _HEX.match(text):
    return None
  value = int(text, 16)
  if value >> 128:
    return int.from_bytes(hashlib.blake2b(text.lower().lstrip("0").encode(), digest_size=16).digest(), "big")
  return value


def split_key(key: int) -> tuple[int, int]:
  return key >> 64, key & _LOW64


def keys_array(keys: list[int]) -> np.ndarray:
  """Python int keys -> a KEY_DTYPE array, in the given order."""
  array = np.empty(len(keys), dtype=KEY_DTYPE)
  array["hi"] = [key >> 64 for key in keys]
  array["lo"] = [key & _LOW64 for key in keys]
  return array


def sortable(keys: np.ndarray) -> np.ndarray:
  """KEY_DTYPE keys as 16-byte big-endian strings: equal keys equal, order kept, set ops work."""
  big = np.empty(len(keys), dtype=[("hi", ">u8"), ("lo", ">u8")])
  big["hi"], big["lo"] = keys["hi"], keys["lo"]
  return big.view("S16")
