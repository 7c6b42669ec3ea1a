"""Checks of a manual dir's files that run before any build work starts.

The folder exists; the archives are files, not extracted into folders; every
file is present and registered (size, or sha256 with `--verify sha256`); every
archive is a plain tar (not gzip-compressed under a `.tar` name); the metadata
CSV is UTF-8 throughout (one streaming pass, seconds for PASS's 152 MB) and
starts with PASS's header. Each failure is one line naming the file and saying
what to do.
"""

from __future__ import annotations

import codecs
import io
import os
import posixpath
from typing import Iterable

from apache_beam.io.filesystems import FileSystems

from pass_tfds.dataset import zenodo
from pass_tfds.pipeline import archives, metadata, tar_stream
from pass_tfds.errors import MetadataFormatError, SourceError, UsageError

_BLOCK = 4 << 20


def is_remote(path: str) -> bool:
  """Whether `path` names an object store (gs://...) rather than a local path."""
  return "://" in str(path)


def check_manual_dir(manual_dir: str) -> None:
  """A local manual dir exists and is a folder (a gs:// one is checked file by file)."""
  if is_remote(manual_dir):
    return
  if not os.path.exists(manual_dir):
    raise UsageError(
        f"--manual_dir {manual_dir} does not exist: pass the folder that holds PASS.0.tar ..."
        " PASS.9.tar and pass_metadata.csv."
    )
  if not os.path.isdir(manual_dir):
    raise UsageError(
        f"--manual_dir {manual_dir} is a file, not a folder: pass the folder that holds"
        " PASS.0.tar ... PASS.9.tar and pass_metadata.csv."
    )


def check_archives_are_files(manual_dir: str, names: Iterable[str]) -> None:
  """No archive is a folder, or extracted into one (`PASS.0/` beside or instead of `PASS.0.tar`).

  Local only: a gs:// "folder" is a name prefix, and a folder cannot be read as an object.
  """
  if is_remote(manual_dir):
    return
  extracted = [name for name in names if name.endswith(".tar")
               and not os.path.isfile(os.path.join(manual_dir, name))
               and os.path.isdir(os.path.join(manual_dir, name[:-len(".tar")]))]
  if extracted:
    folders = ", ".join(name[:-len(".tar")] + "/" for name in extracted)
    raise SourceError(
        f"{manual_dir} holds extracted archives ({folders}) instead of"
        f" {'the .tar file' if len(extracted) == 1 else f'{len(extracted)} .tar files'}:"
        " keep the .tar files; do not extract. Put the downloaded"
        f" {', '.join(extracted)} in that folder (or download them again from {zenodo.RECORD_URL})."
    )
  folders = [name for name in names if os.path.isdir(os.path.join(manual_dir, name))]
  if folders:
    one = len(folders) == 1
    raise SourceError(
        f"{', '.join(os.path.join(manual_dir, name) for name in folders)}"
        f" {'is a folder' if one else 'are folders'}, not the file{'' if one else 's'} PASS"
        f" publishes: put the downloaded file{'' if one else 's'} there as"
        f" {'it is' if one else 'they are'} (keep the .tar files; do not extract), from"
        f" {zenodo.RECORD_URL}."
    )


def check_plain_tars(paths: Iterable[str]) -> None:
  """Every existing local archive is a plain tar, as PASS publishes them.

  Not checked here on gs://, where reading 8 bytes fetches a 16 MiB buffer:
  the first piece of each archive says so in the same words.
  """
  for path in paths:
    if is_remote(path) or not FileSystems.exists(path):
      continue  # Missing files are reported with the others.
    with open(path, "rb") as stream:  # Local only: 8 bytes, not a reader's whole buffer.
      kind = tar_stream.compression_of(stream.read(8))
    if kind:
      raise SourceError(tar_stream.not_plain_tar_message(path, kind))


def first_invalid_utf8(path: str, head: list[bytes] | None = None) -> tuple[int, int] | None:
  """(1-based line, byte offset) of the first byte that is not UTF-8; None if all is.

  One streaming pass with an incremental decoder: memory stays at one block.
  The first block is appended to `head` when given, so the header can be
  checked without reading the file again.
  """
  decoder = codecs.getincrementaldecoder("utf-8")()
  offset, line = 0, 1
  with archives.open_file(path) as stream:
    while True:
      block = stream.read(_BLOCK)
      if head is not None and offset == 0:
        head.append(block)
      final = not block
      try:
        decoder.decode(block, final)
      except UnicodeDecodeError as error:
        # The decoder holds back (at most 3) bytes of an unfinished character from the
        # previous block: they hold no newline, and come first in `error.object`.
        pending = len(error.object) - len(block)
        local = error.start - pending
        return line + block.count(b"\n", 0, max(local, 0)), offset + local
      if final:
        return None
      line += block.count(b"\n")
      offset += len(block)


def check_csv(path: str) -> None:
  """The CSV is UTF-8 from its first byte to its last and starts with PASS's header: one read."""
  head: list[bytes] = []
  check_csv_encoding(path, head)
  metadata.read_header(io.BytesIO(head[0] if head else b""), path)


def check_csv_encoding(path: str, head: list[bytes] | None = None) -> None:
  """The CSV is UTF-8 from its first byte to its last."""
  found = first_invalid_utf8(path, head)
  if found:
    line, offset = found
    raise MetadataFormatError(
        f"{path} is not UTF-8: line {line} (byte offset {offset:,}) holds a byte that is not"
        " valid UTF-8 (saved in another encoding, such as latin-1?). Re-download"
        f" pass_metadata.csv from {zenodo.RECORD_URL}, or convert it to UTF-8 (e.g. `iconv -f latin1 -t"
        " utf-8`)."
    )


def check_manual_sources(manual_dir: str, names: tuple[str, ...], checksums_path: str,
                         verify: str, program: str | None = None) -> dict[str, str]:
  """Everything about a manual dir's files that can be known before the build starts.

  Returns {name: path}. Run once per build: by the command line's pre-flight,
  or by the builder when it is called without one (`tfds build`, a library call).
  `program`: the command that was run, for the hints (None: the builder).
  """
  from pass_tfds.dataset import sources

  check_manual_dir(manual_dir)
  check_archives_are_files(manual_dir, names)
  paths = {name: posixpath.join(str(manual_dir), name) for name in names}
  check_plain_tars(path for name, path in paths.items() if name != sources.METADATA_NAME)
  checksums = sources.read_checksums(checksums_path) if verify != "none" else {}
  sources.check_manual_files(manual_dir, names, checksums, verify,
                             lambda: sources.checksums_hint(manual_dir, checksums_path, program))
  check_csv(paths[sources.METADATA_NAME])
  return paths
