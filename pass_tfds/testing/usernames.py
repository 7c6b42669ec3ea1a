"""Flickr-ish usernames: mostly handles and names, sometimes awkward for a CSV reader."""

from __future__ import annotations

import random

_FIRST = ("john", "maria", "alex", "sophie", "lukas", "emma", "josé", "anna", "li", "kenji", "olga",
          "pierre", "fatima", "ivan", "chloé", "jürgen", "søren", "zoë", "raj", "mehmet", "aiko",
          "pablo", "ingrid", "tomás", "nina", "dave", "sarah", "ahmed", "lucía", "marek")
_LAST = ("smith", "garcia", "müller", "rossi", "dubois", "tanaka", "kowalski", "nguyen", "silva",
         "o'connor", "jensen", "van der berg", "novák", "yılmaz", "andersson", "kim", "costa",
         "brown")
_WORDS = ("photo", "pics", "lens", "shots", "travel", "wanderer", "nature", "urban", "film",
          "pixel", "light", "street", "birder", "macro", "sky", "nomad", "shutter", "wild",
          "analog", "click")
_NON_LATIN = ("日本語の写真", "山田太郎", "Кирилл", "Кирилл Петров", "Ελένη", "محمد", "김민수", "王小明",
              "सूरज कुमार", "שרה כהן", "ชัยวัฒน์", "Ολυμπία Π.", "Дмитрий_фото", "さくら🌸")
_QUOTED = ('the "real" joe', "O'Brien photos", '"Mad" Max', "Joe's pics", 'say "cheese"')
_COMMAS = ("Smith, John", "photos, etc.", "Lee, Ann & Bob", "Paris, France", "me, myself, i")
_NULLISH = ("NA", "null", "nan", "None", "N/A")
# The strings pandas' read_csv turns into NaN by default (pandas._libs.parsers.STR_NA_VALUES,
# pandas 1.x-3.x): a username among them crashes the TFDS catalog's `pass` builder.
PANDAS_NA_STRINGS = frozenset({
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
})


def pandas_safe(name: str) -> str:
  """`name`, or a variant pandas reads as a string when it would read `name` as NaN."""
  while name in PANDAS_NA_STRINGS or name.strip() in PANDAS_NA_STRINGS:
    name = f"{name}_"
  return name


def username(rng: random.Random, plain: bool = False) -> str:
  """One Flickr-ish username; mostly handles and names, sometimes awkward (unless `plain`)."""
  roll = rng.random() * (0.77 if plain else 1.0)
  first, last, word = rng.choice(_FIRST), rng.choice(_LAST), rng.choice(_WORDS)
  if roll < 0.40:
    suffix = str(rng.randint(1, 9999)) if rng.random() < 0.5 else ""
    return f"{word}{rng.choice(('', '_', '.', '-'))}{rng.choice(_WORDS)}{suffix}"
  if roll < 0.65:
    return f"{first.capitalize()} {last.title()}"
  if roll < 0.77:
    return f"{first}{rng.choice(('.', '_', ''))}{last.replace(' ', '')}{rng.randint(0, 99) or ''}"
  if roll < 0.83:
    return rng.choice(_NON_LATIN)
  if roll < 0.88:
    return f"{first.capitalize()} {last[0].upper()}. ({rng.choice(_WORDS)})"
  if roll < 0.92:
    return rng.choice(_QUOTED)
  if roll < 0.96:
    return rng.choice(_COMMAS)
  if roll < 0.98:
    return rng.choice(_NULLISH)
  return f":: {word} {rng.choice(_WORDS)} ::"


def username_pool(rng: random.Random, size: int, plain: bool = False) -> list[str]:
  return [username(rng, plain) for _ in range(size)]
