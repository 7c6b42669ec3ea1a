"""PASS-like image hashes: md5 hex digests without leading zeros (30 to 32 characters)."""

from __future__ import annotations

import hashlib
from typing import Sequence


def hash_with_length(key: str, lengths: Sequence[int] = (30, 31, 32),
                     taken: set[str] | frozenset[str] = frozenset()) -> str:
  """md5 hexdigest of `key` without leading zeros, re-drawn until its length fits."""
  digest = hashlib.md5(key.encode()).hexdigest().lstrip("0")
  salt = 0
  while len(digest) not in lengths or digest in taken:
    salt += 1
    digest = hashlib.md5(f"{key}#{salt}".encode()).hexdigest().lstrip("0")
  return digest


def image_hash(seed: int, index: int) -> str:
  """Hash of sample image `index`; a few are forced to 31 and 30 characters."""
  lengths = {1: (31,), 2: (30,)}.get(index % 100, (30, 31, 32))
  return hash_with_length(f"pass-sample/{seed}/image/{index}", lengths)
