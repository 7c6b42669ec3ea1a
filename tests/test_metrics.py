"""The build's counts are Beam metrics too, so the Dataflow console shows them."""

import collections
import json
import os

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter

from pass_tfds import testing
from pass_tfds.pipeline import accounting, transforms

import pipeline_parts


def test_metrics_match_the_build_report_and_the_manifest(quirk_corpus, tmp_path):
  (corpus, manifest), out = quirk_corpus, tmp_path / "out"
  out.mkdir()
  config = pipeline_parts.finalize_config(str(corpus), str(out), manifest.archives, num_shards=12)
  pipeline = beam.Pipeline(options=beam.options.pipeline_options.PipelineOptions([]))
  _ = pipeline | transforms.BuildPassShards(os.path.join(corpus, "pass_metadata.csv"), config)
  result = pipeline.run()
  result.wait_until_finish()
  metrics = collections.Counter()
  for counter in result.metrics().query(MetricsFilter().with_namespace(accounting.METRICS_NAMESPACE))["counters"]:
    metrics[counter.key.metric.name] += counter.committed
  report = json.loads((out / "build_report.json").read_text())
  outcomes = collections.Counter(manifest.expected.values())
  expected = {
      "members": len(manifest.expected),
      "written": outcomes[testing.WRITTEN] + outcomes[testing.WRITTEN_REENCODED],
      "metadata_rows": manifest.expected_counts["metadata_rows"],
      "metadata_rows_without_member": manifest.expected_counts["metadata_rows_without_member"],
      "images_without_metadata": manifest.expected_counts["images_without_metadata"],
      "written_shards": len([name for name in os.listdir(out) if ".tfrecord-" in name]),
  }
  for name, value in expected.items():
    assert metrics[name] == report.get(name, report.get("shards")) == value, name
  assert metrics["skipped"] == report["skipped_total"] == len(manifest.expected) - expected["written"]
  for reason, count in report["skipped"].items():
    assert metrics[f"skipped_{reason}"] == count == outcomes[reason], reason
  assert metrics["pieces_written"] == len(config.pieces)
