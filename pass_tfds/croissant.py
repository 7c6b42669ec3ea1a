"""PASS's source files described in Croissant 1.1 (MLCommons' JSON-LD format for ML datasets).

`describe_sources` writes what the 11 published files hold: the archives and
the CSV as `FileObject`s with their sizes and sha256 (from a TFDS
`checksums.tsv`), the JPEG members as a `FileSet` inside the archives, and one
`RecordSet`, `images`, keyed by `hash`, whose fields are the data card's, each
joined from the CSV row of its image's hash. A Croissant reader (mlcroissant,
tested; see the README for TFDS's `CroissantBuilder`) reads the records from
the archives themselves.

`FIELDS` says once what each field is. Where the raw files and the built
`pass_dataset` features differ (ISO dates, NaN for unusable GPS, the hash
joined by its value...), the field's description says so: Croissant's
transforms (`regex`, `format`) cannot express those rules, which live in
`pass_tfds.pipeline.metadata` and `pass_tfds.pipeline.image_keys`.

Command line: `python -m pass_tfds.croissant [--out FILE] [--manual_dir DIR [--checksums FILE]]`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from typing import Any, Sequence

from pass_tfds.dataset import source_checks, sources, zenodo
from pass_tfds.errors import PassTfdsError, SourceError

CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
# The @context of a Croissant 1.1 file, key for key what mlcroissant 1.1.1 expects for 1.1 (a
# missing key makes its reader warn that the context is not standard).
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "description": {"@container": "@language"},
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "name": {"@container": "@language"},
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

RECORD_SET = "images"
IMAGE_FILES = "image-files"  # The FileSet's @id: ids are one namespace, the RecordSet has "images".
TAR_FORMAT = "application/x-tar"
CSV_FORMAT = "text/csv"
JPEG_FORMAT = "image/jpeg"
MEMBER_PATTERN = "*.jpg"  # PASS's members are PASS.<k>/.../<hash>.jpg.
# The hash is the member file name's stem. `(?:\.jpg)?`: mlcroissant 1.1.1 applies a join key's
# transform twice (at the join, then again when it reads the field), the second time to the stem.
HASH_REGEX = r"^([0-9a-fA-F]{8,64})(?:\.jpg)?$"
# How the CSV writes `datetaken` (`2012-08-09 18:00:20.0`): Croissant's `format` gives the
# source's date format.
CSV_DATE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

HOMEPAGE = "https://www.robots.ox.ac.uk/~vgg/data/pass/"
LICENSE_URL = "https://creativecommons.org/licenses/by/4.0/"
VERSION = "3.0.0"  # Zenodo's "Version 3.0", pass_dataset's VERSION.
DATE_PUBLISHED = "2021-06-08"  # As Zenodo record 6615455 gives it.
AUTHORS = ("Yuki M. Asano", "Christian Rupprecht", "Andrew Zisserman", "Andrea Vedaldi")
CITATION_FILE = os.path.join(os.path.dirname(__file__), "dataset", "CITATIONS.bib")

DESCRIPTION = (
    "PASS (Pictures without humAns for Self-Supervision): 1,439,588 CC-BY images from YFCC-100M"
    " that contain no humans, for self-supervised pretraining (Asano et al., NeurIPS 2021"
    " Datasets and Benchmarks track). This file describes the published source files of"
    " Zenodo record 6615455 (10 tar archives of JPEGs and pass_metadata.csv) and one record"
    " per image, the data card's fields, joined from the CSV row of the image's hash. The"
    " TFDS builder pass_dataset (pass_tfds) builds these files into TFRecord/ArrayRecord;"
    " where its features differ from the raw values a Croissant reader gets, each field's"
    " description says so. Rows of the CSV are read as strings: a reader with pandas'"
    " defaults (mlcroissant 1.1.1) turns usernames such as NA, null, nan, None or N/A into"
    " missing values."
)

RAI = {
    "rai:dataCollection": (
        "Images from YFCC-100M (Flickr) licensed CC-BY, with complete attribution metadata;"
        " images showing humans or human parts, and other images problematic for data"
        " protection or ethics, were removed (version 3 removed 131 more images that"
        " contained humans)."
    ),
    "rai:dataUseCases": (
        "Self-supervised pretraining of vision models (e.g. MoCo-v2, SwAV, DINO), without"
        " human images. Not for: connecting images with their creators' usernames (or with"
        " the GPS positions and dates) to identify, locate or profile Flickr users; the"
        " usernames are there only to credit the creators as CC-BY requires. Not for"
        " benchmarking: the dataset has no labels and is insufficient for it."
    ),
    "rai:dataLimitations": (
        "Unlabelled; insufficient for benchmarking. GPS positions are known for some images"
        " only; dates taken are as the cameras recorded them, without a time zone."
    ),
    "rai:personalSensitiveInformation": (
        "No images of people. pass_metadata.csv holds, for every image, the Flickr username of"
        " its creator (for attribution), the date the photo was taken and, for some images,"
        " the GPS position where it was taken."
    ),
}


@dataclasses.dataclass(frozen=True)
class FieldSpec:
  """One field of a PASS record: the data card's name, its Croissant type, what it holds.

  `description` holds for the built dataset and the sources alike; `source_note`
  says how the raw value a Croissant reader gets from the sources differs from
  the built feature, `built_note` what the built feature holds beyond that, and
  `built_data_type` its type where it is not `data_type` (the build's own
  croissant.json, `croissant_build`). `csv_column` or `member_property` says
  where the sources hold it; `transform` is Croissant's transform on that value.
  """

  name: str
  data_type: str
  description: str
  source_note: str = ""
  built_note: str = ""
  built_data_type: str | None = None
  csv_column: str | None = None
  member_property: str | None = None  # "content" or "filename" of an archive member.
  transform: dict[str, str] | None = None
  joins_csv_column: str | None = None  # The CSV column whose row this value selects.


# The data card's fields, in its order. pass_dataset's features (pass_tfds/dataset/features.py) are
# these plus original_width/original_height.
FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        name="image",
        data_type="sc:ImageObject",
        description="The picture, a JPEG.",
        source_note=(
            " Here: the archive member's bytes. pass_dataset's `full` config stores them"
            " untouched when they are a complete 3-channel JPEG and re-encodes other pictures"
            " (grayscale or CMYK JPEG, PNG under a .jpg name) as RGB JPEG, quality 95; the"
            " short_side_256/short_side_64 configs resize. The build skips members that are"
            " empty, truncated, undecodable or repeat an earlier hash (listing them in"
            " build_report.json); this file describes every *.jpg member."
        ),
        built_note=(
            " The `full` config stores the archived bytes when they are a complete 3-channel"
            " JPEG, else an RGB JPEG of quality 95; the resized configs re-encode every image."
        ),
        member_property="content",
    ),
    FieldSpec(
        name="creator_username",
        data_type="sc:Text",
        description=(
            "The Flickr username of the image's creator, exactly as written in the CSV's"
            " `unickname` (NA, null, nan, 007 are usernames); CC-BY asks to credit it."
        ),
        source_note=(
            " pass_dataset stores \"\" for an image without a CSV row. Readers with pandas'"
            " CSV defaults (mlcroissant 1.1.1) return usernames such as NA, null, nan, None,"
            " N/A, and empty cells, as missing."
        ),
        built_note=" \"\" for an image without a CSV row.",
        csv_column="unickname",
    ),
    FieldSpec(
        name="hash",
        data_type="sc:Text",
        description="The image's hash (30-32 hex digits), the record's key.",
        source_note=(
            " Here: the member file name's stem, joined with the CSV's `hash` column as"
            " equal strings. pass_dataset joins the two as numbers (upper case and dropped"
            " leading zeros still meet) and uses the first of repeated CSV rows; a reader of"
            " this file gets a record for each."
        ),
        built_note=" As the member file name writes it, without .jpg.",
        member_property="filename",
        transform={"regex": HASH_REGEX},
        joins_csv_column="hash",
    ),
    FieldSpec(
        name="gps_latitude",
        data_type="sc:Float",
        description="Degrees north of the position where the photo was taken.",
        source_note=(
            " Here: the CSV's `latitude` as written, missing when empty. pass_dataset stores"
            " float32, NaN when unknown, not a number, beyond +-90, or when only one of the"
            " two coordinates is given."
        ),
        built_note=(" float32; NaN when unknown, not a number, beyond +-90, or when only one of"
                    " the two coordinates is given."),
        csv_column="latitude",
    ),
    FieldSpec(
        name="gps_longitude",
        data_type="sc:Float",
        description="Degrees east of the position where the photo was taken.",
        source_note=(
            " Here: the CSV's `longitude` as written, missing when empty. pass_dataset stores"
            " float32, NaN when unknown, not a number, beyond +-180, or when only one of the"
            " two coordinates is given."
        ),
        built_note=(" float32; NaN when unknown, not a number, beyond +-180, or when only one of"
                    " the two coordinates is given."),
        csv_column="longitude",
    ),
    FieldSpec(
        name="date_taken",
        data_type="sc:DateTime",
        description="When the photo was taken, as the camera recorded it (no time zone).",
        source_note=(
            f" Here: the CSV's `datetaken` (`2012-08-09 18:00:20.0`, format {CSV_DATE_FORMAT}),"
            " missing when empty. pass_dataset stores ISO 8601 text without the fraction"
            " (`2012-08-09T18:00:20`), and \"\" when the date is empty or impossible (such as"
            " 0000-00-00 00:00:00), which a reader of this file cannot parse."
        ),
        built_note=(" ISO 8601 text without the fraction (`2012-08-09T18:00:20`); \"\" when the"
                    " CSV's date is empty or impossible, or the image has no CSV row."),
        built_data_type="sc:Text",
        csv_column="datetaken",
        transform={"format": CSV_DATE_FORMAT},
    ),
)

# pass_dataset's features beyond the data card's: read from each image by the build.
BUILT_ONLY_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(name="original_width", data_type="sc:Integer",
              description="Width in pixels of the archived image (int32), before any resizing."),
    FieldSpec(name="original_height", data_type="sc:Integer",
              description="Height in pixels of the archived image (int32), before any resizing."),
)


def field_id(spec: FieldSpec, record_set: str = RECORD_SET) -> str:
  return f"{record_set}/{spec.name}"


def citation() -> str:
  with open(CITATION_FILE, encoding="utf-8") as stream:
    return stream.read().strip()


def _reference(node_id: str) -> dict[str, str]:
  return {"@id": node_id}


def field_node(spec: FieldSpec, record_set: str, description: str,
               source: dict[str, Any] | None = None) -> dict[str, Any]:
  """A Croissant Field of `record_set` for `spec`, read from `source` (if given)."""
  field = {
      "@type": "cr:Field",
      "@id": field_id(spec, record_set),
      "name": spec.name,
      "description": description,
      "dataType": spec.data_type,
  }
  if source is not None:
    field["source"] = source
  return field


def _source_field(spec: FieldSpec) -> dict[str, Any]:
  """`spec` as a Croissant Field read from the archives and the CSV."""
  if spec.csv_column:
    source: dict[str, Any] = {"fileObject": _reference(sources.METADATA_NAME),
                              "extract": {"column": spec.csv_column}}
  else:
    source = {"fileSet": _reference(IMAGE_FILES), "extract": {"fileProperty": spec.member_property}}
  if spec.transform:
    source["transform"] = dict(spec.transform)
  field = field_node(spec, RECORD_SET, spec.description + spec.source_note, source)
  if spec.joins_csv_column:  # The join: each member's hash meets the CSV row of that hash.
    field["references"] = {"fileObject": _reference(sources.METADATA_NAME),
                           "extract": {"column": spec.joins_csv_column}}
  return field


def dataset_node(description: str) -> dict[str, Any]:
  """What every PASS description starts with: context, names, licence, citation, RAI fields."""
  return {
      "@context": CONTEXT,
      "@type": "sc:Dataset",
      "name": "PASS",
      "description": description,
      "conformsTo": CONFORMS_TO,
      "citeAs": citation(),
      "creator": [{"@type": "sc:Person", "name": author} for author in AUTHORS],
      "datePublished": DATE_PUBLISHED,
      "keywords": ["self-supervised learning", "computer vision", "images", "privacy"],
      "license": LICENSE_URL,
      "url": HOMEPAGE,
      "sameAs": zenodo.RECORD_URL,
      "version": VERSION,
      **RAI,
  }


def _file_object(entry: sources.FileChecksum, content_url: str) -> dict[str, Any]:
  is_csv = entry.name == sources.METADATA_NAME
  return {
      "@type": "cr:FileObject",
      "@id": entry.name,
      "name": entry.name,
      "description": ("One row per image: index, unickname, datetaken, licensename, hash,"
                      " latitude, longitude." if is_csv else
                      "A plain (uncompressed) tar archive of JPEG images named by their hash."),
      "contentUrl": content_url,
      "contentSize": f"{entry.size} B",
      "encodingFormat": CSV_FORMAT if is_csv else TAR_FORMAT,
      "sha256": entry.sha256,
  }


def describe_sources(checksums: dict[str, sources.FileChecksum],
                     content_urls: dict[str, str] | None = None) -> dict[str, Any]:
  """The Croissant 1.1 JSON-LD (a dict) of PASS's 11 source files and their records.

  `checksums`: file name -> its entry of a TFDS checksums.tsv (`sources.read_checksums`);
  it must hold all 11 names. `content_urls`: file name -> where to read it
  (default: the checksums' URLs, Zenodo's for the published files).
  """
  missing = [name for name in sources.ALL_NAMES if name not in checksums]
  if missing:
    raise SourceError(
        f"The checksums have no line for {', '.join(missing)}: a PASS description needs all"
        f" of {', '.join(sources.ALL_NAMES)} (url<TAB>size<TAB>sha256<TAB>name)."
    )
  urls = content_urls or {name: checksums[name].url for name in sources.ALL_NAMES}
  distribution = [_file_object(checksums[name], urls[name]) for name in sources.ALL_NAMES]
  distribution.append({
      "@type": "cr:FileSet",
      "@id": IMAGE_FILES,
      "name": IMAGE_FILES,
      "description": "The JPEG members of the archives, each named <hash>.jpg.",
      "containedIn": [_reference(name) for name in sources.ARCHIVE_NAMES],
      "encodingFormat": JPEG_FORMAT,
      "includes": MEMBER_PATTERN,
  })
  return {
      **dataset_node(DESCRIPTION),
      "distribution": distribution,
      "recordSet": [{
          "@type": "cr:RecordSet",
          "@id": RECORD_SET,
          "name": RECORD_SET,
          "description": "One record per image, keyed by its hash.",
          "key": _reference(field_id(next(spec for spec in FIELDS if spec.joins_csv_column))),
          "field": [_source_field(spec) for spec in FIELDS],
      }],
  }


def local_urls(manual_dir: str) -> dict[str, str]:
  """Each source file's path in `manual_dir`, absolute when local."""
  folder = manual_dir if "://" in manual_dir else os.path.abspath(manual_dir)
  return {name: f"{folder.rstrip('/')}/{name}" for name in sources.ALL_NAMES}


def describe(manual_dir: str | None = None, checksums_path: str | None = None) -> dict[str, Any]:
  """The description of the published files, or of the files in `manual_dir`.

  `checksums_path` defaults to the published checksums. With `manual_dir`,
  its files are checked first (present, sizes as in the checksums, plain tars,
  a UTF-8 CSV) and the `contentUrl`s point at them.
  """
  checksums_path = checksums_path or sources.PUBLISHED_CHECKSUMS
  if manual_dir is None:
    return describe_sources(sources.read_checksums(checksums_path))
  source_checks.check_manual_sources(manual_dir, sources.ALL_NAMES, checksums_path, "size")
  return describe_sources(sources.read_checksums(checksums_path), local_urls(manual_dir))


def to_json(description: dict[str, Any]) -> str:
  return json.dumps(description, ensure_ascii=False, indent=2) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(
      prog="python -m pass_tfds.croissant",
      description="Writes a Croissant 1.1 JSON-LD description of PASS's source files: the"
      " archives and the CSV with their sizes and sha256, and one record per image.",
  )
  parser.add_argument("--out", help="File to write (default: standard output).")
  parser.add_argument("--manual_dir", help="Describe the files in this folder (contentUrls point"
                      " at them) instead of Zenodo's.")
  parser.add_argument("--checksums", help="TFDS checksums.tsv of the files (default: PASS's"
                      " published checksums); for a corpus of your own, its checksums file.")
  args = parser.parse_args(argv)
  try:
    text = to_json(describe(args.manual_dir, args.checksums))
  except PassTfdsError as error:
    print(f"error: {error}", file=sys.stderr)
    return 2
  if args.out:
    with open(args.out, "w", encoding="utf-8") as stream:
      stream.write(text)
    print(f"Wrote {args.out}", file=sys.stderr)
  else:
    sys.stdout.write(text)
  return 0


if __name__ == "__main__":
  sys.exit(main())
