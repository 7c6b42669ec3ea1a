"""`pass_tfds.report`: pictures of a built dataset, from TFRecord and ArrayRecord builds."""

from __future__ import annotations

import collections
import contextlib
import csv
import hashlib
import io
import math
import os
import statistics
import tarfile
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest
from PIL import Image

import pass_tfds  # noqa: F401  (registers pass_dataset)
from pass_tfds import report
from pass_tfds.report import fonts, grid

NUM_IMAGES = 40
NUM_WITHOUT_ROW = 2  # Images in the archives with no CSV row.
FORMATS = ("tfrecord", "array_record")
SIZES = ((64, 48), (48, 64), (80, 60), (50, 50), (96, 40), (120, 90))
USERNAMES = (
    "alice",
    "Bob Smith",
    "山田太郎",  # No CJK glyphs in DejaVu Sans.
    "Ωmega żółw",
    "a_very_long_flickr_username_that_never_seems_to_end_at_all",
    "NA",
    "price $5 or $6 \\frac{1}{2}",  # Mathtext-looking.
    "كريم",
    "",
    "tab\tand\nnewline\u200b",
)


def _jpeg(index: int, size: tuple[int, int]) -> bytes:
  width, height = size
  pixels = np.zeros((height, width, 3), np.uint8)
  pixels[..., 0] = np.linspace(0, 255, width)[None, :]
  pixels[..., 1] = np.linspace(0, 255, height)[:, None]
  pixels[..., 2] = (index * 37) % 256
  buffer = io.BytesIO()
  Image.fromarray(pixels).save(buffer, format="JPEG", quality=85)
  return buffer.getvalue()


def _date(index: int) -> str:
  if index % 5 == 0:
    return ""
  if index == 7:
    return "0000-00-00 00:00:00"  # Rejected by the builder: no date.
  return f"{2004 + index % 11}-0{1 + index % 9}-1{index % 10} 18:00:20.0"


def _gps(index: int) -> tuple[str, str]:
  if index % 3 == 0:
    return f"{-80 + index * 4.1:.4f}", f"{-170 + index * 8.3:.4f}"
  if index == 4:
    return "12.5", ""  # Half a position: no position.
  return "", ""


def make_corpus(root: str) -> list[dict]:
  """Writes PASS.0.tar ... PASS.9.tar and pass_metadata.csv; returns what each image should be."""
  os.makedirs(root, exist_ok=True)
  tars = [tarfile.open(os.path.join(root, f"PASS.{k}.tar"), "w") for k in range(10)]
  expected, rows = [], []
  for index in range(NUM_IMAGES):
    size = SIZES[index % len(SIZES)]
    data = _jpeg(index, size)
    image_hash = hashlib.md5(data).hexdigest().lstrip("0")
    archive = index % 10
    info = tarfile.TarInfo(f"PASS.{archive}/{image_hash[:2]}/{image_hash}.jpg")
    info.size = len(data)
    tars[archive].addfile(info, io.BytesIO(data))
    has_row = index >= NUM_WITHOUT_ROW
    date, (latitude, longitude) = _date(index), _gps(index)
    if has_row:
      rows.append([len(rows), USERNAMES[index % len(USERNAMES)], date,
                   "Attribution License", image_hash, latitude, longitude])
    year = int(date[:4]) if has_row and date and not date.startswith("0000") else None
    expected.append({
        "hash": image_hash,
        "size": size,
        "year": year,
        "gps": has_row and bool(latitude) and bool(longitude),
    })
  rows.append([len(rows), "ghost", "2010-01-01 00:00:00.0", "Attribution License",
               "0123456789abcdef0123456789abcdef", "1.0", "2.0"])  # No image: not in the dataset.
  for tar in tars:
    tar.close()
  with open(os.path.join(root, "pass_metadata.csv"), "w", newline="", encoding="utf-8") as stream:
    writer = csv.writer(stream)
    writer.writerow(["", "unickname", "datetaken", "licensename", "hash", "latitude", "longitude"])
    writer.writerows(rows)
  return expected


@pytest.fixture(scope="module")
def built(tmp_path_factory):
  """{"corpus": expected per image, file format: data dir}."""
  import tensorflow_datasets as tfds
  from apache_beam.options.pipeline_options import PipelineOptions

  root = tmp_path_factory.mktemp("report")
  corpus = str(root / "corpus")
  result = {"expected": make_corpus(corpus)}
  for file_format in FORMATS:
    data_dir = str(root / file_format)
    builder = tfds.builder(  # Two images without a CSV row on purpose: over the 1 % limit.
        "pass_dataset", data_dir=data_dir, verify="none", file_format=file_format,
        allow_missing_metadata=True,
    )
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(
            manual_dir=corpus, beam_options=PipelineOptions(["--direct_running_mode=in_memory"])
        )
    )
    assert builder.info.splits["train"].num_examples == NUM_IMAGES
    result[file_format] = data_dir
  return result


def _check_png(path: str, min_size=(500, 300), max_size=(3000, 3000)) -> None:
  assert os.path.isfile(path), path
  with Image.open(path) as image:
    assert image.format == "PNG"
    width, height = image.size
    image.load()
  assert min_size[0] <= width <= max_size[0] and min_size[1] <= height <= max_size[1], (path, width, height)


@pytest.mark.parametrize("file_format", FORMATS)
def test_write_report(built, file_format, tmp_path):
  out_dir = str(tmp_path / "pictures")
  pictures = report.write_report(built[file_format], out_dir)

  assert set(pictures.paths) == {"examples", "resolutions", "dates", "gps"}
  for name, path in pictures.paths.items():
    assert path == os.path.join(out_dir, f"{name}.png")
    _check_png(path)
  with Image.open(pictures.paths["examples"]) as picture:
    assert picture.width >= 1000 and picture.height >= 1000  # 4 x 4 images with captions.

  expected = built["expected"]
  summary = pictures.summary
  assert summary.num_in_split == summary.num_read == NUM_IMAGES
  assert not summary.sampled
  num_gps = sum(image["gps"] for image in expected)
  assert 0 < num_gps < NUM_IMAGES
  assert summary.num_with_gps == num_gps
  assert summary.gps_share == pytest.approx(num_gps / NUM_IMAGES)
  assert summary.num_undated == sum(image["year"] is None for image in expected)
  assert summary.images_per_year == dict(
      sorted(collections.Counter(i["year"] for i in expected if i["year"]).items())
  )
  assert summary.median_width == statistics.median(i["size"][0] for i in expected)
  assert summary.median_height == statistics.median(i["size"][1] for i in expected)


@pytest.mark.parametrize("file_format", FORMATS)
def test_examples_read_match_the_corpus(built, file_format):
  examples = report.load_examples(built[file_format])
  by_hash = {image["hash"]: image for image in built["expected"]}
  assert sorted(examples.hashes) == sorted(by_hash)
  for i, image_hash in enumerate(examples.hashes):
    image = by_hash[image_hash]
    size = (int(examples.original_widths[i]), int(examples.original_heights[i]))
    assert size == image["size"]
    assert report.has_gps(examples.gps_latitudes[i:i + 1], examples.gps_longitudes[i:i + 1])[0] == image["gps"]
    assert report.year_of(examples.dates_taken[i]) == image["year"]
  assert all(isinstance(name, str) for name in examples.creator_usernames)
  assert "山田太郎" in examples.creator_usernames
  assert len(examples.images) == 16
  for i, data in enumerate(examples.images):
    pixels = grid.thumbnail(data)
    assert pixels is not None and pixels.shape[2] == 3
    assert pixels.shape[:2] == (examples.original_heights[i], examples.original_widths[i])


def test_both_formats_sample_the_same_examples(built):
  tfrecord = report.load_examples(built["tfrecord"], max_examples=10)
  array_record = report.load_examples(built["array_record"], max_examples=10)
  assert len(tfrecord) == len(array_record) == 10
  assert tfrecord.num_in_split == array_record.num_in_split == NUM_IMAGES
  assert tfrecord.hashes == array_record.hashes
  assert report.summarize(tfrecord).sampled


def test_sampled_and_sliced_reports(built, tmp_path):
  pictures = report.write_report(built["array_record"], str(tmp_path / "a"), max_examples=7)
  assert pictures.summary.num_read == 7 and pictures.summary.num_in_split == NUM_IMAGES
  pictures = report.write_report(built["tfrecord"], str(tmp_path / "b"), split="train[:25%]")
  assert pictures.summary.num_read == pictures.summary.num_in_split == NUM_IMAGES // 4
  for path in pictures.paths.values():
    _check_png(path)


def test_no_missing_glyph_warnings(built, tmp_path, monkeypatch):
  # Saving a picture hides these warnings; shown here, a name drawn without its glyphs fails.
  monkeypatch.setattr(fonts, "quiet_missing_glyphs", contextlib.nullcontext)
  examples = report.load_examples(built["array_record"])
  assert any(not name.isascii() for name in examples.creator_usernames[:16])  # In the grid.
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    report.write_pictures(examples, str(tmp_path))
  assert not [w for w in caught if "missing from font" in str(w.message)]


def test_main(built, tmp_path, capsys):
  out_dir = str(tmp_path / "cli")
  assert report.main(["--data_dir", built["tfrecord"], "--out", out_dir, "--max_examples", "20"]) == 0
  assert sorted(os.listdir(out_dir)) == ["dates.png", "examples.png", "gps.png", "resolutions.png"]
  assert "20 of 40 examples read" in capsys.readouterr().out
  assert report.main(["--data_dir", str(tmp_path / "nothing"), "--out", out_dir]) == 1
  assert "No built pass_dataset/full" in capsys.readouterr().err
  assert report.main(["--data_dir", built["tfrecord"], "--split", "test", "--out", out_dir]) == 1


def test_labels():
  assert report.shorten("abc", 5) == "abc"
  assert report.shorten("abcdefgh", 5) == "abcd\u2026"
  assert report.shorten("山田太郎山田", 7) == "山田太\u2026"
  assert report.clean_text(" a\tb\nc\u200bd ") == "a b cd"
  assert report.creator_label("", "abc")[1] is False
  label, is_name = report.creator_label("山田太郎", "0123456789abcdef0123")
  if report.can_draw("山田太郎"):  # A CJK font is installed.
    assert (label, is_name) == ("山田太郎", True)
  else:
    assert label.startswith("#0123456789") and not is_name
  assert report.year_of("2012-08-09T18:00:20") == 2012
  assert report.year_of("") is None


def test_year_range_folds_rare_outliers():
  per_year = {1970: 1, **{year: 1000 for year in range(2004, 2015)}}
  assert report.year_range(per_year) == (2004, 2014)
  assert report.year_range({2001: 3, 2010: 4}) == (2001, 2010)


def test_empty_examples(tmp_path):
  empty = report.Examples(
      "pass_dataset/full", "train", "tfrecord", 0, [], [], [],
      np.zeros(0), np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64), [],
  )
  pictures = report.write_pictures(empty, str(tmp_path))
  assert math.isnan(pictures.summary.gps_share)
  for path in pictures.paths.values():
    assert os.path.isfile(path)


# --- Fonts and coastlines (no build needed) ---------------------------------------


def _examples(names: list[str]) -> report.Examples:
  jpeg = io.BytesIO()
  Image.new("RGB", (64, 48), (90, 140, 200)).save(jpeg, "JPEG")
  count = len(names)
  return report.Examples(
      name="pass_dataset/full", split="train", file_format="tfrecord", num_in_split=count,
      creator_usernames=names, hashes=[f"{i:032x}" for i in range(count)],
      dates_taken=["2012-08-09T18:00:20"] * count,
      gps_latitudes=np.full(count, 51.5), gps_longitudes=np.full(count, -0.1),
      original_widths=np.full(count, 64), original_heights=np.full(count, 48),
      images=[jpeg.getvalue()] * count,
  )


def test_packaged_fonts_draw_chinese_japanese_and_korean_names():
  families, _ = fonts.caption_fonts()
  assert len(fonts.packaged_font_paths()) == len(fonts.PACKAGED_FONTS)  # pyproject installs them.
  assert {"IPAexGothic", "NanumGothic"} <= set(families)
  for name in ("日本語の写真", "山田太郎", "王小明", "鄧麗君", "김민수", "Кирилл", "Ελένη", "שרה כהן"):
    assert fonts.can_draw(name), name
    assert fonts.creator_label(name, "0" * 32) == (name, True)
  assert fonts.missing_scripts(["김민수", "ชัยวัฒน์", "さくら🌸", "सूरज"]) == ["Devanagari", "Thai", "symbols"]


def test_examples_grid_draws_cjk_names_and_says_why_a_name_is_a_hash(tmp_path, monkeypatch):
  monkeypatch.setattr(fonts, "quiet_missing_glyphs", contextlib.nullcontext)
  drawn: list = []
  monkeypatch.setattr(grid.figures, "save", lambda figure, path: drawn.append(figure) or path)
  examples = _examples(["日本語の写真", "김민수", "王小明", "ชัยวัฒน์"])
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    grid.plot_examples(examples, report.summarize(examples), str(tmp_path / "examples.png"))
    drawn[0].canvas.draw()  # Renders every caption: a missing glyph warns here.
  assert not [w for w in caught if "missing from font" in str(w.message)]
  (figure,) = drawn
  captions = [axes.get_title() for axes in figure.axes]
  assert [caption.split("\n")[0] for caption in captions] == [
      "日本語の写真", "김민수", "王小明", "#" + examples.hashes[3][:14] + "\u2026"]
  notes = [text.get_text() for text in figure.texts]
  assert "1 creator name uses characters no installed font draws (Thai)" in notes[-1], notes


def test_gps_picture_draws_coastlines(tmp_path, monkeypatch):
  from pass_tfds.report import coastlines, gps

  outlines = coastlines.land_outlines()
  assert len(outlines) > 500
  points = np.concatenate(outlines)
  assert points[:, 0].min() == -180 and points[:, 0].max() == 180
  assert -90 <= points[:, 1].min() and points[:, 1].max() < 84
  drawn: list = []
  monkeypatch.setattr(gps.figures, "save", lambda figure, path: drawn.append(figure) or path)
  examples = _examples(["a"])
  gps.plot_gps(examples, report.summarize(examples), str(tmp_path / "gps.png"))
  (axes,) = drawn[0].axes
  (land,) = axes.collections[:1]
  assert len(land.get_paths()) == len(outlines)
  # London (51.5 N, 0.1 W) is on land, the middle of the Atlantic is not.
  assert any(path.contains_point((-0.1, 51.5)) for path in land.get_paths())
  assert not any(path.contains_point((-35.0, 30.0)) for path in land.get_paths())
