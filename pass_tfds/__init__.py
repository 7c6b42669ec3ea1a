"""PASS as a TensorFlow Datasets builder generated with Apache Beam.

`import pass_tfds` registers `pass_dataset`; the catalog's own `pass` builder
is left as it is.
"""

from pass_tfds import beam_import

beam_import.import_beam()  # Before anything else imports Beam: see beam_import.py.

from pass_tfds.data_card import to_data_card  # noqa: E402
from pass_tfds.pass_dataset import PassConfig, PassDataset  # noqa: E402

__all__ = ["PassConfig", "PassDataset", "to_data_card"]
