"""`python -m pass_tfds.report`: see `pass_tfds.report.cli`."""

import sys

from pass_tfds.report.cli import main

sys.exit(main())
