"""How many CPUs this process may use: affinity, then any container CPU quota.

`os.sched_getaffinity` exists on Linux only (not on macOS); a container's quota
(cgroup v2 `cpu.max`, v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`) can be
lower than the CPUs the process sees.
"""

from __future__ import annotations

import math
import os

CGROUP_ROOT = "/sys/fs/cgroup"


def _read(path: str) -> str | None:
  try:
    with open(path, encoding="ascii") as f:
      return f.read().strip()
  except (OSError, ValueError):
    return None


def _quota(quota: str | None, period: str | None) -> float | None:
  """CPUs a quota allows, or None for no quota (`max`, -1) or unreadable values."""
  try:
    quota_us, period_us = int(quota or ""), int(period or "")
  except ValueError:
    return None
  if quota_us <= 0 or period_us <= 0:
    return None
  return quota_us / period_us


def cgroup_quota(root: str = CGROUP_ROOT) -> float | None:
  """The CPU quota of this process's cgroup, in CPUs; None when there is none."""
  cpu_max = _read(os.path.join(root, "cpu.max"))  # v2: "<quota|max> <period>"
  if cpu_max:
    fields = cpu_max.split()
    if len(fields) == 2:
      return _quota(fields[0] if fields[0] != "max" else None, fields[1])
  for folder in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):  # v1
    quota = _read(os.path.join(root, folder, "cpu.cfs_quota_us"))
    if quota is not None:
      return _quota(quota, _read(os.path.join(root, folder, "cpu.cfs_period_us")))
  return None


def visible_cpus() -> int:
  """CPUs the scheduler lets this process run on (all CPUs where affinity is unknown)."""
  if hasattr(os, "process_cpu_count"):  # Python 3.13+
    count = os.process_cpu_count()
  elif hasattr(os, "sched_getaffinity"):  # Linux
    count = len(os.sched_getaffinity(0))
  else:  # macOS, Windows
    count = os.cpu_count()
  return max(1, count or 1)


def available_cpus(root: str = CGROUP_ROOT) -> int:
  """Visible CPUs, capped by a container's CPU quota (rounded up); at least 1."""
  count = visible_cpus()
  quota = cgroup_quota(root)
  if quota is not None:
    count = min(count, max(1, math.ceil(quota)))
  return count
