"""The build's counts are Beam metrics too, so the Dataflow console shows them."""

import collections
import json

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from tensorflow_datasets.core import file_adapters, naming
from tensorflow_datasets.core.utils import shard_utils

from pass_tfds import accounting, images, transforms
from pass_tfds import testing as sample


def test_metrics_match_the_build_report(tmp_path):
  corpus, out = tmp_path / "quirks", tmp_path / "out"
  out.mkdir()
  manifest = sample.write_quirk_corpus(str(corpus))
  archive_list = [
      transforms.Archive(i, str(corpus / name), name) for i, name in enumerate(manifest.archives)
  ]
  template = naming.ShardedFileTemplate(
      data_dir=out, template="{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_X_OF_Y}",
      dataset_name="pass_dataset", split="train", filetype_suffix="tfrecord",
  )
  outputs = transforms.SplitOutputs(str(out / "split.json"), str(out / "build_report.json"))
  pipeline = beam.Pipeline(options=beam.options.pipeline_options.PipelineOptions([]))
  _ = (
      pipeline
      | transforms.PlanPassShards(archive_list, str(corpus / "pass_metadata.csv"), shard_utils.ShardConfig())
      | transforms.WriteShards(
          archive_list, template, file_adapters.FileFormat.TFRECORD, images.prepare_full, outputs, {}
      )
  )
  result = pipeline.run()
  result.wait_until_finish()
  metrics = collections.Counter()
  for counter in result.metrics().query(MetricsFilter().with_namespace(accounting.METRICS_NAMESPACE))["counters"]:
    metrics[counter.key.metric.name] += counter.committed
  report = json.loads((out / "build_report.json").read_text())
  for name in ("members", "written", "metadata_rows", "metadata_rows_without_image",
               "images_without_metadata", "invalid_dates", "invalid_gps"):
    assert metrics[name] == report[name], name
  assert metrics["skipped"] == report["skipped_total"]
  for reason, count in report["skipped"].items():
    assert metrics[f"skipped_{reason}"] == count, reason
  assert metrics["members"] == metrics["written"] + metrics["skipped"]
