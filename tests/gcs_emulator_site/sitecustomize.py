"""Run at start-up by Python processes whose PYTHONPATH starts here (see
tests/gcs_emulator.py): while STORAGE_EMULATOR_HOST is set, install that
module's import-time patches; then run the sitecustomize this one shadows.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def _load(name: str, path: str):
  spec = importlib.util.spec_from_file_location(name, path)
  module = importlib.util.module_from_spec(spec)
  sys.modules[name] = module
  spec.loader.exec_module(module)
  return module


if os.environ.get("STORAGE_EMULATOR_HOST"):
  _load("gcs_emulator", os.path.join(os.path.dirname(_HERE), "gcs_emulator.py")).install_patches()

_others = [p for p in sys.path if p and os.path.abspath(p) != _HERE]
_shadowed = importlib.machinery.PathFinder.find_spec("sitecustomize", _others)
if _shadowed is not None and _shadowed.origin:
  _load("_shadowed_sitecustomize", _shadowed.origin)
