"""`python -m pass_tfds.testing`: see `pass_tfds.testing.cli`."""

from pass_tfds.testing.cli import main

main()
