"""What reaches the terminal from Beam's import and runner, whatever extras are installed.

The real no-extras install is tests/test_install.py (a fresh venv, line by line);
these are the causes, one by one, in this environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pass_tfds import beam_import
from pass_tfds.cli import beam_defaults

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# As in a venv without the gcp extra: apitools cannot be imported (raised as Python raises
# for a missing package), so Beam's import logs its BigQuery notice.
_WITHOUT_APITOOLS = textwrap.dedent("""
    import sys

    class WithoutApitools:
      def find_spec(self, name, path=None, target=None):
        if name == "apitools" or name.startswith("apitools."):
          raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

    sys.meta_path.insert(0, WithoutApitools())
""")


def _python(code: str) -> subprocess.CompletedProcess:
  env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
  return subprocess.run([sys.executable, "-c", _WITHOUT_APITOOLS + textwrap.dedent(code)],
                        capture_output=True, text=True, env=env, timeout=300, check=False)


def test_beam_without_apitools_logs_its_notice_and_configures_logging():
  """The cause: what a plain `import apache_beam` does without the gcp extra."""
  result = _python("""
      import logging
      import apache_beam
      print(len(logging.getLogger().handlers))
  """)
  assert result.returncode == 0, result.stderr[-3000:]
  assert beam_import.BIGQUERY_NOTICE in result.stderr
  assert result.stdout.split() == ["1"]  # basicConfig's stderr handler, left behind.


def test_import_pass_tfds_drops_the_notice_and_leaves_logging_unconfigured():
  result = _python("""
      import logging
      import pass_tfds
      import apache_beam
      print(len(logging.getLogger().handlers))
      logging.getLogger("some.library").warning("a later warning still shows")
  """)
  assert result.returncode == 0, result.stderr[-3000:]
  assert result.stdout.split() == ["0"]
  lines = [line for line in result.stderr.splitlines() if line.strip()]
  assert lines == ["a later warning still shows"], result.stderr[-3000:]


def test_import_beam_keeps_other_import_time_records():
  """Only the BigQuery notice is dropped; a program's own handlers see the rest."""
  result = _python("""
      import logging, sys
      logging.basicConfig(format="seen: %(message)s")
      from pass_tfds import beam_import
      sys.modules.pop("apache_beam", None)
      class Loud:
        def find_spec(self, name, path=None, target=None):
          if name == "apache_beam":
            logging.warning("another notice")
          return None
      sys.meta_path.insert(0, Loud())
      beam_import.import_beam()
  """)
  assert result.returncode == 0, result.stderr[-3000:]
  assert result.stderr.splitlines() == ["seen: another notice"], result.stderr[-3000:]


def test_local_runner_is_the_direct_runner_without_prism():
  for runner in ("DirectRunner", "direct", "apache_beam.runners.direct.direct_runner.DirectRunner"):
    chosen = beam_defaults.local_runner(PipelineOptions([f"--runner={runner}"]))
    assert type(chosen).__name__ == "FnApiDirectRunner", runner
  for runner in ("DataflowRunner", "PrismRunner", "BundleBasedDirectRunner"):
    assert beam_defaults.local_runner(PipelineOptions([f"--runner={runner}"])) is None, runner


def test_local_runner_runs_without_prism_and_hands_workers_the_options(tmp_path, caplog):
  """A multi_processing worker runs at the log level the options give it."""
  options = PipelineOptions([
      "--runner=DirectRunner", "--direct_running_mode=multi_processing",
      "--direct_num_workers=1", "--default_sdk_harness_log_level=ERROR",
  ])
  caplog.set_level("INFO", logger="apache_beam")
  out = tmp_path / "levels"
  # A lambda: pickled by value, as the workers cannot import this test module.
  root_level = lambda _: __import__("logging").getLogger().level  # noqa: E731
  with beam.Pipeline(runner=beam_defaults.local_runner(options), options=options) as pipeline:
    _ = (pipeline | beam.Create([0]) | beam.Map(root_level)
         | beam.io.WriteToText(str(out), shard_name_template=""))
  assert out.read_text().split() == ["40"]  # logging.ERROR, from the options.
  assert "prism" not in caplog.text.lower(), caplog.text[-3000:]
