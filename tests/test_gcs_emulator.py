"""The GCS emulator fixture: Beam's FileSystems reads and writes gs:// paths
against it, in this process, in a subprocess, and in DirectRunner workers,
without a connection leaving loopback.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import textwrap

import pytest
from apache_beam.io.filesystems import FileSystems

DATA = bytes(range(256)) * 4096  # 1 MiB

# Refuses (and reports) any TCP connection to a non-loopback address.
GUARD = textwrap.dedent('''
    import ipaddress, socket
    _connect = socket.socket.connect

    def _loopback_only(self, address, *args):
      if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
          raise OSError(f"non-loopback connection attempted: {address!r}")
      return _connect(self, address, *args)

    socket.socket.connect = _loopback_only
''')


@pytest.fixture
def loopback_only(monkeypatch):
  attempts = []
  connect = socket.socket.connect

  def guarded(self, address, *args):
    if self.family in (socket.AF_INET, socket.AF_INET6):
      host = address[0]
      if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        attempts.append(address)
        raise OSError(f"non-loopback connection attempted: {address!r}")
    return connect(self, address, *args)

  monkeypatch.setattr(socket.socket, "connect", guarded)
  yield attempts
  assert not attempts, attempts


def test_filesystems_in_process(gcs, loopback_only):
  prefix = gcs.new_prefix()
  path = f"{prefix}/a/data.bin"
  with FileSystems.create(path) as f:
    f.write(DATA)
  assert gcs.read_bytes(path) == DATA

  with FileSystems.open(path) as f:
    f.seek(700_000)
    assert f.read(10) == DATA[700_000:700_010]
    f.seek(3)
    assert f.read(5) == DATA[3:8]

  (match,) = FileSystems.match([f"{prefix}/a/*"])
  assert [(m.path, m.size_in_bytes) for m in match.metadata_list] == [(path, len(DATA))]
  assert FileSystems.exists(path)

  FileSystems.copy([path], [f"{prefix}/b/copy.bin"])
  FileSystems.rename([f"{prefix}/b/copy.bin"], [f"{prefix}/c/renamed.bin"])
  assert gcs.list(prefix) == [path, f"{prefix}/c/renamed.bin"]
  assert gcs.read_bytes(f"{prefix}/c/renamed.bin") == DATA

  FileSystems.delete([path])
  assert not FileSystems.exists(path)
  assert gcs.list(prefix) == [f"{prefix}/c/renamed.bin"]


def test_helpers(gcs, tmp_path):
  (tmp_path / "sub").mkdir()
  (tmp_path / "x.txt").write_bytes(b"x")
  (tmp_path / "sub" / "y.txt").write_bytes(b"yy")
  prefix = gcs.new_prefix()
  assert gcs.upload_dir(str(tmp_path), prefix) == [f"{prefix}/sub/y.txt", f"{prefix}/x.txt"]
  assert gcs.list(f"{prefix}/sub") == [f"{prefix}/sub/y.txt"]
  assert gcs.upload(str(tmp_path / "x.txt"), f"{prefix}/z") == f"{prefix}/z"
  assert gcs.read_bytes(f"{prefix}/z") == b"x"


def test_subprocess_reads_and_renames(gcs):
  prefix = gcs.new_prefix()
  gcs.upload_bytes(DATA, f"{prefix}/data.bin")
  code = GUARD + textwrap.dedent(f'''
      from apache_beam.io.filesystems import FileSystems
      with FileSystems.open("{prefix}/data.bin") as f:
        f.seek(500_000)
        print(f.read(4).hex())
      FileSystems.rename(["{prefix}/data.bin"], ["{prefix}/moved.bin"])
  ''')
  result = subprocess.run(
      [sys.executable, "-c", code], env=gcs.env(), capture_output=True, text=True, timeout=120
  )
  assert result.returncode == 0, result.stderr[-3000:]
  assert result.stdout.split() == [DATA[500_000:500_004].hex()]
  assert gcs.list(prefix) == [f"{prefix}/moved.bin"]


def test_direct_runner_multi_processing_workers(gcs):
  """Workers are separate processes: they read and write gs:// through the inherited env."""
  prefix = gcs.new_prefix()
  gcs.upload_bytes(b"".join(b"line %d\n" % i for i in range(100)), f"{prefix}/in.txt")
  code = GUARD + textwrap.dedent(f'''
      import apache_beam as beam
      from apache_beam.options.pipeline_options import PipelineOptions
      options = PipelineOptions(
          direct_running_mode="multi_processing", direct_num_workers=2, runner="DirectRunner")
      with beam.Pipeline(options=options) as p:
        (p | beam.io.ReadFromText("{prefix}/in.txt")
           | beam.Map(lambda line: line.upper())
           | beam.io.WriteToText("{prefix}/out", shard_name_template=""))
  ''')
  result = subprocess.run(
      [sys.executable, "-c", code], env=gcs.env(), capture_output=True, text=True, timeout=300
  )
  assert result.returncode == 0, result.stderr[-3000:]
  out = gcs.read_bytes(f"{prefix}/out").decode().splitlines()
  assert sorted(out) == sorted(f"LINE {i}" for i in range(100))
  assert gcs.list(prefix) == [f"{prefix}/in.txt", f"{prefix}/out"]


def test_env_is_loopback_only(gcs):
  env = gcs.env()
  assert env["STORAGE_EMULATOR_HOST"] == gcs.url == os.environ["STORAGE_EMULATOR_HOST"]
  assert gcs.url.startswith("http://127.0.0.1:")
  assert env["GCE_METADATA_HOST"].startswith("127.0.0.1:")
