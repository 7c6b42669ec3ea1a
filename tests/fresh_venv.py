"""A new virtual env holding the package's wheel and only what its metadata declares,
installed from the package registry (the `fresh_env` fixture, conftest.py).

Used by tests/test_install.py (the package as users install it) and
tests/test_dataflow_staging.py (what Dataflow workers import). About 5.5 minutes to make
with pip's cache warm, 1.5 of them installing; a cold cache adds a few minutes of
downloads. The checkout is never on the env's path.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
from typing import NamedTuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INSTALL_TIMEOUT = 1800


class FreshEnv(NamedTuple):
  python: pathlib.Path
  bin_dir: pathlib.Path
  wheel: pathlib.Path
  work: pathlib.Path  # Holds a copy of beam_runner.py.


def clean_env() -> dict[str, str]:
  """os.environ without what would put the checkout (or our settings) on the env's path."""
  env = dict(os.environ, NO_GCE_CHECK="True")
  for name in ("PYTHONPATH", "PASS_TFDS_CHECKSUMS", "VIRTUAL_ENV", "TF_CPP_MIN_LOG_LEVEL"):
    env.pop(name, None)
  return env


def run(command: list, cwd, timeout: float = 600, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess:
  result = subprocess.run([str(part) for part in command], cwd=str(cwd),
                          env=clean_env() if env is None else env,
                          capture_output=True, text=True, timeout=timeout, check=False)
  assert result.returncode == 0, (command, result.stdout[-3000:], result.stderr[-5000:])
  return result


def make(work: pathlib.Path) -> FreshEnv:
  wheels = work / "wheels"
  run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", wheels, REPO], work)
  (wheel,) = wheels.glob("pass_tfds-*.whl")
  venv = work / "venv"
  run([sys.executable, "-m", "venv", venv], work)
  bin_dir = venv / "bin"
  run([bin_dir / "python", "-m", "pip", "install", "--quiet", "--no-compile", wheel], work,
      INSTALL_TIMEOUT)
  shutil.copy(os.path.join(REPO, "beam_runner.py"), work / "beam_runner.py")
  return FreshEnv(bin_dir / "python", bin_dir, wheel, work)
