"""Text that the caption fonts can draw: captions and labels.

Captions use DejaVu Sans (Latin, Greek, Cyrillic, Arabic, Hebrew), then a CJK font
installed on the machine if there is one, then two fonts that registry packages ship,
so that every install draws Chinese, Japanese and Korean names: IPAexGothic
(`matplotlib-fontja`: kanji/hanzi and kana) and NanumGothic (`koreanize-matplotlib`:
Hangul). Only their font files are used; their modules, which restyle matplotlib
when imported, are never imported. A name that none of them can draw (Thai,
Devanagari, emoji, ...) is shown as its image's hash, in italics, and the picture
says which scripts had no font.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import unicodedata
import warnings
from typing import Iterable, Iterator

from matplotlib import font_manager
from matplotlib import ft2font

_CAPTION_WIDTH = 28  # In Latin-character widths; a wide (CJK) character counts 2.
_GLYPH_WARNING = r"Glyph .* missing from font"
# Fonts with CJK (and more) coverage, used after DejaVu Sans when installed.
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
# (package, font file in it): fonts that pyproject.toml installs.
PACKAGED_FONTS = (
    ("matplotlib_fontja", "fonts/ipaexg.ttf"),
    ("koreanize_matplotlib", "fonts/NanumGothic.ttf"),
)


def packaged_font_paths() -> list[str]:
  """The files of PACKAGED_FONTS that are installed (found without importing the packages)."""
  paths = []
  for package, name in PACKAGED_FONTS:
    spec = importlib.util.find_spec(package)
    for folder in (spec.submodule_search_locations or []) if spec else []:
      path = os.path.join(folder, name)
      if os.path.isfile(path):
        paths.append(path)
        break
  return paths


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
    entry = next((entry for entry in font_manager.fontManager.ttflist
                  if entry.name.startswith(hint)), None)
    if entry is not None:
      families.append(entry.name)
      paths.append(entry.fname)
      break
  for path in packaged_font_paths():
    font_manager.fontManager.addfont(path)
    name = font_manager.FontProperties(fname=path).get_name()
    if name not in families:
      families.append(name)
      paths.append(path)
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


def missing_scripts(texts: Iterable[str]) -> list[str]:
  """What no caption font draws in `texts`: scripts by name (Thai, Devanagari, ...), or symbols."""
  _, covered = caption_fonts()
  scripts = {
      "symbols" if unicodedata.category(char).startswith("S")
      else unicodedata.name(char, "unnamed").split()[0].capitalize()
      for text in texts for char in clean_text(text)
      if not char.isspace() and ord(char) not in covered
  }
  return sorted(scripts)


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
