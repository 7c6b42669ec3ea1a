"""One piece's writer on its own: links across a piece boundary, duplicates inside a piece."""

from __future__ import annotations

import io
import os
import tarfile

from pass_tfds.pipeline import accounting, images, metadata_lookup, plan
from pass_tfds.pipeline.pieces import PieceWriter
from pass_tfds.testing import pictures

HEADER = ",unickname,datetaken,licensename,hash,latitude,longitude\n"


def _jpeg() -> bytes:
  buffer = io.BytesIO()
  pictures.Image.new("RGB", (8, 8), (200, 10, 10)).save(buffer, format="JPEG")
  return buffer.getvalue()


def test_a_hard_link_to_a_member_of_an_earlier_piece_is_skipped_with_its_reason(tmp_path):
  path = str(tmp_path / "PASS.0.tar")
  jpeg = _jpeg()
  with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
    for i in range(2):
      info = tarfile.TarInfo(f"PASS.0/{i:032x}.jpg")
      info.size = len(jpeg) + 20_000
      tar.addfile(info, io.BytesIO(jpeg + bytes(20_000)))
    link = tarfile.TarInfo(f"PASS.0/{7:032x}.jpg")
    link.type, link.linkname = tarfile.LNKTYPE, f"PASS.0/{0:032x}.jpg"
    tar.addfile(link)
    duplicate = tarfile.TarInfo(f"PASS.0/other/{7:032x}.jpg")
    duplicate.size = len(jpeg)
    tar.addfile(duplicate, io.BytesIO(jpeg))
  lookup, _ = metadata_lookup.build(io.BytesIO(HEADER.encode()), "m.csv")
  archive = plan.SourceArchive(0, "PASS.0.tar", path, os.path.getsize(path))
  whole, second = plan.split_range(archive.size, 1)[0], (30_720, archive.size)
  for (start, end), written, reasons in (
      (whole, 2 + 1, {accounting.DUPLICATE_HASH: 1}),  # Resolved: target read earlier in this piece.
      (second, 1, {accounting.HARD_LINK_ELSEWHERE: 1}),  # Target in the piece before; then hash 7 once.
  ):
    writer = PieceWriter(plan.Piece(0, archive, 0, 1, start, end), lookup, images.prepare_full, strict=False)
    records = list(writer.records())
    assert (len(records), writer.counts.written) == (written, written)
    assert dict(writer.counts.skipped) == reasons
