"""Where PASS's files come from: Zenodo through TFDS's download manager, or a manual dir.

Published sizes and sha256 sums live in the repository's top-level `checksums.tsv`, which
`pass_tfds/dataset/checksums.tsv` links to so that TFDS finds it beside the builder
(installed with the package). A manual dir is checked before any work starts:
every file present, every size right, and, if asked, every sha256 too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import posixpath
from typing import Callable, Iterable, Sequence

from apache_beam.io.filesystems import FileSystems
import tensorflow_datasets as tfds

from pass_tfds.dataset import zenodo
from pass_tfds.pipeline import archives, metadata
from pass_tfds.errors import SourceError

RECORD_URL = zenodo.RECORD_URL  # For the builder's instructions and the test corpora.
ARCHIVE_NAMES = tuple(f"PASS.{i}.tar" for i in range(10))
METADATA_NAME = "pass_metadata.csv"
ALL_NAMES = ARCHIVE_NAMES + (METADATA_NAME,)
VERIFY_MODES = ("size", "sha256", "none")
PUBLISHED_CHECKSUMS = os.path.join(os.path.dirname(__file__), "checksums.tsv")
CHECKSUMS_ENV = "PASS_TFDS_CHECKSUMS"


@dataclasses.dataclass(frozen=True)
class FileChecksum:
  url: str
  size: int
  sha256: str
  name: str


def default_checksums_path() -> str:
  """The published checksums, unless `PASS_TFDS_CHECKSUMS` names another file.

  The variable serves `tfds build` on a generated or custom corpus, which has
  no flag for builder arguments; `beam_runner.py` has `--checksums`.
  """
  return os.environ.get(CHECKSUMS_ENV) or PUBLISHED_CHECKSUMS


def url_for(name: str) -> str:
  return zenodo.file_url(name)


def read_checksums(path: str) -> dict[str, FileChecksum]:
  """Reads a TFDS `checksums.tsv` (url, size, sha256, file name) keyed by file name."""
  if not FileSystems.exists(path):
    raise SourceError(
        f"Checksums file {path} does not exist. Pass --checksums (or PASS_TFDS_CHECKSUMS) a"
        " TFDS checksums.tsv: url<TAB>size<TAB>sha256<TAB>file name, one line per file."
    )
  entries = {}
  with archives.open_file(path) as stream:
    for number, line in enumerate(stream.read().decode("utf-8").splitlines(), start=1):
      if not line.strip() or line.startswith("#"):
        continue
      fields = line.split("\t")
      if len(fields) != 4:
        raise SourceError(f"{path}: line {number} is not 'url<TAB>size<TAB>sha256<TAB>name'.")
      url, size, sha256, name = fields
      entries[name] = FileChecksum(url, int(size), sha256, name)
  return entries


def select_archives(requested: Sequence[str] | None) -> tuple[str, ...]:
  """The archives to build from: all ten unless some are asked for by name."""
  if not requested:
    return ARCHIVE_NAMES
  unknown = sorted(set(requested) - set(ARCHIVE_NAMES))
  if unknown:
    raise SourceError(
        f"Unknown archive name(s) {', '.join(unknown)}; PASS's archives are"
        f" {ARCHIVE_NAMES[0]} ... {ARCHIVE_NAMES[-1]}."
    )
  return tuple(name for name in ARCHIVE_NAMES if name in set(requested))


def _sha256(path: str) -> str:
  digest = hashlib.sha256()
  with archives.open_file(path) as stream:
    for block in iter(lambda: stream.read(16 << 20), b""):
      digest.update(block)
  return digest.hexdigest()


def check_manual_files(
    manual_dir: str,
    names: Iterable[str],
    checksums: dict[str, FileChecksum],
    verify: str = "size",
    hint: Callable[[], str] = lambda: "",
) -> dict[str, str]:
  """Returns {name: path} for files in `manual_dir`, after checking them.

  Raises one `SourceError` line naming the missing or mismatching files (a
  count when there are several) and saying how to get them, before any work is
  spent. `hint()` ends the line when a file is not the registered one (e.g. how
  to pass a corpus's own checksums).
  """
  if verify not in VERIFY_MODES:
    raise ValueError(f"verify must be one of {VERIFY_MODES}, not {verify!r}")
  paths = {name: posixpath.join(str(manual_dir), name) for name in names}
  missing, unregistered, other_size, damaged = [], [], [], []
  for name, path in paths.items():
    if not FileSystems.exists(path):
      missing.append(name)
      continue
    expected = checksums.get(name)
    if verify == "none":
      continue
    if expected is None:
      unregistered.append(name)
      continue
    size = archives.file_size(path)
    if size != expected.size:
      other_size.append((name, size, expected))
    elif verify == "sha256" and _sha256(path) != expected.sha256:
      damaged.append((name, expected))
  problems = []
  if len(missing) == 1:
    problems.append(f"{missing[0]} is missing from {manual_dir}: download {url_for(missing[0])}"
                    " into that folder")
  elif missing:
    problems.append(f"{len(missing)} of the {len(paths)} files are missing from {manual_dir}"
                    f" ({', '.join(missing)}): download them from {zenodo.RECORD_URL} into that folder")
  if len(other_size) == 1:
    name, size, expected = other_size[0]
    problems.append(f"{name} is {size:,} bytes but the published file is {expected.size:,} bytes"
                    f" (truncated or a different file): download it again from {expected.url}")
  elif other_size:
    (name, size, expected), others = other_size[0], [name for name, _, _ in other_size[1:]]
    problems.append(f"{len(other_size)} files are not the size the checksums file registers"
                    f" ({name} is {size:,} bytes, not {expected.size:,}; also {', '.join(others)}):"
                    f" truncated or different files; download them again from {zenodo.RECORD_URL}")
  for name, expected in damaged:
    problems.append(f"{name} has the right size but the wrong sha256 (damaged): download it"
                    f" again from {expected.url}")
  if unregistered:
    problems.append(f"{', '.join(unregistered)}: no size or sha256 is registered for"
                    f" {'it' if len(unregistered) == 1 else 'them'} in the checksums file")
  if problems:
    mismatch = other_size or damaged or unregistered
    advice = hint() if mismatch else ""
    raise SourceError("; ".join(problems) + (f". {advice}" if advice else "."))
  return paths


def checksums_hint(manual_dir: str, checksums_path: str, program: str | None) -> str:
  """What to do when files are not the ones `checksums_path` registers.

  `program`: the command that was run (`pass-tfds-build`, `beam_runner.py`), or
  None for the builder itself (`tfds build`, `tfds.builder`).
  """
  if checksums_path != PUBLISHED_CHECKSUMS:
    return f"Check that {checksums_path} is the checksums file of the files in {manual_dir}."
  own = posixpath.join(str(manual_dir), "checksums.tsv")
  target = own if FileSystems.exists(own) else "FILE"
  how = (f"add --checksums {target} to the {program} command" if program else
         f"set {CHECKSUMS_ENV}={target} for tfds build (or pass checksums_path to tfds.builder)")
  if target == own:
    return f"{manual_dir} holds its own checksums.tsv: for a corpus of your own, {how}."
  return f"For a corpus of your own, pass its checksums file: {how}."


def check_metadata_header(path: str) -> None:
  """Fails now, not after every archive is indexed, if the CSV is not PASS's."""
  with archives.open_file(path) as stream:
    for _ in metadata.iter_values(stream, path):  # Named with its folder.
      break


def download_files(dl_manager: tfds.download.DownloadManager, names: Iterable[str]) -> dict[str, str]:
  """Downloads the files from Zenodo; TFDS verifies them against checksums.tsv."""
  downloaded = dl_manager.download({name: url_for(name) for name in names})
  return {name: str(path) for name, path in downloaded.items()}
