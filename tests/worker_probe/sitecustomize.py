"""Records what a Beam SDK worker process imported: put this folder on PYTHONPATH.

In a process whose main module is Beam's worker main, writes the names of the
imported modules, one a line, to `$PASS_TFDS_WORKER_PROBE/<pid>.txt` at exit.
Elsewhere it does nothing.
"""

import atexit
import os
import sys


def _record() -> None:
  spec = getattr(sys.modules.get("__main__"), "__spec__", None)
  if getattr(spec, "name", None) != "apache_beam.runners.worker.sdk_worker_main":
    return
  with open(os.path.join(os.environ["PASS_TFDS_WORKER_PROBE"], f"{os.getpid()}.txt"), "w") as out:
    out.write("\n".join(sorted(sys.modules)))


if os.environ.get("PASS_TFDS_WORKER_PROBE"):
  atexit.register(_record)
