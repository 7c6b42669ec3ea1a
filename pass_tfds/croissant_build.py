"""A finished build described in Croissant 1.1: `croissant.json` beside `dataset_info.json`.

`describe_build` writes what was built from the `shards.json` the publish step
wrote (the manifest `pass_tfds.verify` checks): each shard a `FileObject` with
its size, sha256 and record count; the `train` split a `RecordSet` whose
fields are pass_dataset's features (`croissant.FIELDS` and
`BUILT_ONLY_FIELDS`, with their built types); the config, the version; and in
`isBasedOn` the source files it was built from, with the sha256 of the
checksums the build checked them against.

A Croissant reader can check the shards (mlcroissant checks a FileObject's
sha256 before it reads it), but not read their records: mlcroissant reads
neither TFRecord nor ArrayRecord, and Croissant has no `extract` for a feature
of a `tf.train.Example`. Each field's `source` names the shards' FileSet and,
as its column, the feature's key in each example (mlcroissant validates it;
a field without a source is an error); `tfds.builder_from_directory` (or
`tfds.load`) reads the records.
Nothing in the file depends on when or in how many runs the build was made.
"""

from __future__ import annotations

from typing import Any, Sequence

from pass_tfds import croissant
from pass_tfds.dataset import sources, zenodo
from pass_tfds.pipeline import publishing, shard_files

FILE_NAME = publishing.CROISSANT_NAME
SPLIT = "train"
SHARDS = "train-shards"  # The FileSet's @id: ids are one namespace, the RecordSet has "train".
# No registered media type exists for either; these name the container, as TFDS's file formats do.
SHARD_FORMATS = {
    shard_files.TFRECORD: "application/x-tfrecord",
    shard_files.ARRAY_RECORD: "application/x-array-record",
}
_RECORDS = {
    shard_files.TFRECORD: "TFRecord file of tf.train.Example records",
    shard_files.ARRAY_RECORD: "ArrayRecord file of serialized tf.train.Example records",
}
# How the build checked its source files (`sources.VERIFY_MODES`; "download": TFDS's download check).
SOURCE_CHECKS = {
    "sha256": "checked against this sha256 before the build",
    "download": "downloaded and checked against this sha256 by TFDS",
    "size": "checked by size before the build; the sha256 is the checksums file's, not recomputed",
    "none": "not checked before the build; the sha256 is the checksums file's",
}


def built_fields() -> tuple[croissant.FieldSpec, ...]:
  """pass_dataset's features, in the order of the data card, then the build's own."""
  return croissant.FIELDS + croissant.BUILT_ONLY_FIELDS


def _field(spec: croissant.FieldSpec) -> dict[str, Any]:
  """`spec` as the feature of that name in each tf.train.Example of the shards."""
  source = {"fileSet": {"@id": SHARDS}, "extract": {"column": spec.name}}
  field = croissant.field_node(spec, SPLIT, spec.description + spec.built_note, source)
  field["dataType"] = spec.built_data_type or spec.data_type
  return field


def _shard_set(file_format: str, count: int) -> dict[str, Any]:
  return {
      "@type": "cr:FileSet",
      "@id": SHARDS,
      "name": SHARDS,
      "description": (f"The {count} shards above, as TFDS names them: each a {_RECORDS[file_format]},"
                      " whose features are the fields of the records."),
      "encodingFormat": SHARD_FORMATS[file_format],
      "includes": f"pass_dataset-{SPLIT}.{file_format}-*",
  }


def _shard(shard: dict[str, Any], file_format: str, index: int, count: int) -> dict[str, Any]:
  return {
      "@type": "cr:FileObject",
      "@id": shard["name"],
      "name": shard["name"],
      "description": (f"Shard {index + 1} of {count} of the {SPLIT} split: a {_RECORDS[file_format]},"
                      f" {shard['records']:,} records."),
      "contentUrl": shard["name"],  # Beside this file: a copy of the folder stays described.
      "contentSize": f"{shard['size']} B",
      "encodingFormat": SHARD_FORMATS[file_format],
      "sha256": shard["sha256"],
  }


def _source(entry: sources.FileChecksum, source_check: str) -> dict[str, Any]:
  return {
      "@type": "sc:MediaObject",
      "name": entry.name,
      "contentUrl": entry.url,
      "contentSize": f"{entry.size} B",
      "sha256": entry.sha256,
      "description": f"A source file of this build, {SOURCE_CHECKS[source_check]}.",
  }


def describe_build(manifest: dict[str, Any], *, config_name: str, config_description: str,
                   version: str, source_files: Sequence[sources.FileChecksum],
                   source_check: str) -> dict[str, Any]:
  """The Croissant 1.1 JSON-LD (a dict) of a build whose `shards.json` holds `manifest`.

  `source_files`: the checksums entries of the archives and CSV it was built
  from; `source_check`: how they were checked (a key of `SOURCE_CHECKS`).
  """
  file_format, shards = manifest["file_format"], manifest["shards"]
  total = manifest["total"]
  names = ", ".join(entry.name for entry in source_files)
  description = (
      f"A pass_dataset build of PASS (pass_tfds): config `{config_name}` ({config_description}),"
      f" version {version}, {total['records']:,} records in {total['shards']} {file_format} shards"
      f" of the `{SPLIT}` split, built from {names}. Read it with"
      " tfds.builder_from_directory(<this folder>) or tfds.load('pass_dataset/"
      f"{config_name}', data_dir=...). The shards' sizes and sha256 are those of shards.json"
      " (python -m pass_tfds verify checks them); a Croissant reader can check them but not read"
      " the records (it reads neither TFRecord nor ArrayRecord), so the fields have no source."
  )
  node = croissant.dataset_node(description)
  del node["sameAs"]  # The built files are not Zenodo's: they are based on them (isBasedOn).
  return {
      **node,
      "name": f"pass_dataset/{config_name}",
      "version": version,
      "isBasedOn": [zenodo.RECORD_URL] + [_source(entry, source_check) for entry in source_files],
      "distribution": [_shard(shard, file_format, index, len(shards)) for index, shard in enumerate(shards)]
                      + [_shard_set(file_format, len(shards))],
      "recordSet": [{
          "@type": "cr:RecordSet",
          "@id": SPLIT,
          "name": SPLIT,
          "description": (f"The {SPLIT} split: {total['records']:,} records, one per image written,"
                          " keyed by its hash; each a tf.train.Example of these features."),
          "key": {"@id": f"{SPLIT}/hash"},
          "field": [_field(spec) for spec in built_fields()],
      }],
  }
