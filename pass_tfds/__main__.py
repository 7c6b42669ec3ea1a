"""`python -m pass_tfds verify ...`: commands on a finished build."""

from __future__ import annotations

import sys

from pass_tfds import verify

_COMMANDS = {"verify": verify.main}


def main(argv: list[str]) -> int:
  if not argv or argv[0] not in _COMMANDS:
    print(f"usage: python -m pass_tfds {{{','.join(_COMMANDS)}}} [--help]", file=sys.stderr)
    return 2
  return _COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
