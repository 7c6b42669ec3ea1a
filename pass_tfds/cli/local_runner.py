"""Beam's DirectRunner for batch pipelines, without its detour through Prism.

`apache_beam.runners.direct.direct_runner.SwitchingDirectRunner` (the
"DirectRunner") first tries the Prism runner, downloading it from the network,
and falls back to the FnApiRunner for a batch pipeline that uses no TestStream
or Pub/Sub. This runner is that fallback alone, built as the DirectRunner
builds it: the workers get the pipeline options (log levels, pickler).
"""

from __future__ import annotations

from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.portability.api import beam_provision_api_pb2
from apache_beam.runners.portability.fn_api_runner import fn_runner
from apache_beam.runners.portability.portable_runner import JobServiceHandle
from apache_beam.runners.runner import PipelineResult, PipelineRunner


class FnApiDirectRunner(PipelineRunner):
  """Runs a batch pipeline on Beam's FnApiRunner, as the DirectRunner does after Prism."""

  def run_pipeline(self, pipeline, options: PipelineOptions) -> PipelineResult:
    encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
    provision = fn_runner.ExtendedProvisionInfo(
        beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded))
    return fn_runner.FnApiRunner(provision_info=provision).run_pipeline(pipeline, options)
