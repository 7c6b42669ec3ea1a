"""Writing plain tars like PASS's (GNU format, directory entries first) and checksums.tsv."""

from __future__ import annotations

import hashlib
import dataclasses
import io
import os
import tarfile
from typing import Any, Iterable

from pass_tfds.testing.layout import CHECKSUMS_FILE, RELEASE_MTIME, URL_PREFIX


class _HashingFile:
  """Write-only file wrapper counting bytes and computing their sha256."""

  def __init__(self, raw: Any):
    self._raw = raw
    self.size = 0
    self.sha256 = hashlib.sha256()

  def write(self, data: bytes) -> int:
    self._raw.write(data)
    self.sha256.update(data)
    self.size += len(data)
    return len(data)

  def tell(self) -> int:
    return self.size


@dataclasses.dataclass(frozen=True)
class Link:
  """A link member: a hard link (the target's bytes under another name) or a symbolic one."""

  target: str
  hard: bool


def _tar_info(name: str, size: int | None) -> tarfile.TarInfo:
  info = tarfile.TarInfo(name)
  info.mtime = RELEASE_MTIME
  info.uname = info.gname = "pass"
  info.uid = info.gid = 1000
  if size is None:
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
  else:
    info.size = size
    info.mode = 0o644
  return info


def write_tar(path: str, files: Iterable[tuple[str, bytes | Link]]) -> tuple[int, str, int]:
  """Writes members (and their parent directory entries) in order.

  Returns (size, sha256 hex, number of directory entries).
  """
  seen: set[str] = set()
  with open(path, "wb") as raw:
    out = _HashingFile(raw)
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
      for member, data in files:
        parts = member.split("/")
        for depth in range(1, len(parts)):
          folder = "/".join(parts[:depth])
          if folder not in seen:
            seen.add(folder)
            tar.addfile(_tar_info(folder, None))
        if isinstance(data, Link):
          info = _tar_info(member, 0)
          info.type = tarfile.LNKTYPE if data.hard else tarfile.SYMTYPE
          info.linkname = data.target
          tar.addfile(info)
        else:
          tar.addfile(_tar_info(member, len(data)), io.BytesIO(data))
  return out.size, out.sha256.hexdigest(), len(seen)


def sha256_file(path: str) -> tuple[int, str]:
  digest = hashlib.sha256()
  size = 0
  with open(path, "rb") as f:
    while chunk := f.read(1 << 20):
      digest.update(chunk)
      size += len(chunk)
  return size, digest.hexdigest()


def write_checksums(out_dir: str, files: dict[str, tuple[int, str]]) -> None:
  """TFDS format: `url<TAB>size<TAB>sha256<TAB>filename`, sorted by url."""
  lines = sorted(f"{URL_PREFIX}{name}\t{size}\t{sha}\t{name}\n"
                 for name, (size, sha) in files.items())
  with open(os.path.join(out_dir, CHECKSUMS_FILE), "w", encoding="utf-8") as f:
    f.writelines(lines)
