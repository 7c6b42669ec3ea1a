"""Text that DejaVu Sans (or an installed fallback font) can draw: captions and labels."""

from __future__ import annotations

import contextlib
import functools
import unicodedata
import warnings
from typing import Iterator

from matplotlib import font_manager
from matplotlib import ft2font

_CAPTION_WIDTH = 28  # In Latin-character widths; a wide (CJK) character counts 2.
_GLYPH_WARNING = r"Glyph .* missing from font"
# Fonts with CJK (and more) coverage, used as fallbacks after DejaVu Sans when
# installed. Without any, names DejaVu Sans cannot draw are shown as a hash.
_FALLBACK_FONT_HINTS = (
    "Noto Sans CJK",
    "Noto Sans JP",
    "Noto Sans SC",
    "Noto Sans TC",
    "Noto Sans KR",
    "Source Han Sans",
    "WenQuanYi",
    "Droid Sans Fallback",
    "Arial Unicode",
    "Unifont",
)


@contextlib.contextmanager
def quiet_missing_glyphs() -> Iterator[None]:
  """Hides matplotlib's "Glyph ... missing from font" warnings while drawing."""
  with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=_GLYPH_WARNING)
    yield


@functools.lru_cache(maxsize=None)
def caption_fonts() -> tuple[tuple[str, ...], frozenset[int]]:
  """(font family list for captions, code points those fonts cover)."""
  families = ["DejaVu Sans"]
  paths = [font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"))]
  for hint in _FALLBACK_FONT_HINTS:
    for entry in font_manager.fontManager.ttflist:
      if entry.name.startswith(hint) and entry.name not in families:
        families.append(entry.name)
        paths.append(entry.fname)
        break
    if len(families) > 1:
      break
  covered: set[int] = set()
  for path in paths:
    try:
      covered.update(ft2font.FT2Font(path).get_charmap())
    except (OSError, RuntimeError, ValueError):
      continue
  return tuple(families), frozenset(covered)


def clean_text(text: str) -> str:
  """One line: control and format characters dropped, whitespace collapsed."""
  kept = []
  for char in text:
    category = unicodedata.category(char)
    if category in ("Zs", "Zl", "Zp") or char in "\t\n\r\x0b\x0c":
      kept.append(" ")
    elif not category.startswith("C"):
      kept.append(char)
  return " ".join("".join(kept).split())


def can_draw(text: str) -> bool:
  _, covered = caption_fonts()
  return all(char.isspace() or ord(char) in covered for char in text)


def _char_width(char: str) -> int:
  return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def shorten(text: str, width: int = _CAPTION_WIDTH) -> str:
  """`text` cut to `width` columns with an ellipsis (wide characters count 2)."""
  if sum(_char_width(char) for char in text) <= width:
    return text
  out, used = [], 0
  for char in text:
    if used + _char_width(char) > width - 1:
      break
    out.append(char)
    used += _char_width(char)
  return "".join(out).rstrip() + "\u2026"


def creator_label(username: str, image_hash: str) -> tuple[str, bool]:
  """(label, whether it is the real name); the hash when the name cannot be drawn."""
  name = clean_text(username)
  if name and can_draw(name):
    return shorten(name), True
  if not name:
    return "(no username)", False
  return shorten(f"#{image_hash}", 16), False
