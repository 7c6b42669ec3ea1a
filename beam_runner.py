#!/usr/bin/env python3
"""Build PASS (`pass_dataset`) with Apache Beam: `python beam_runner.py --help`.

Locally: python beam_runner.py --data_dir D --manual_dir M
Dataflow: python beam_runner.py --data_dir gs://B/tfds --manual_dir gs://B/pass \\
            --runner=DataflowRunner --project P --region R --temp_location gs://B/tmp
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # Before TensorFlow is imported.

from pass_tfds.cli import main  # noqa: E402

if __name__ == "__main__":
  sys.exit(main(sys.argv[1:], repo_dir=os.path.dirname(os.path.abspath(__file__)),
                program="beam_runner.py"))
