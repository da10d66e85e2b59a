"""Folding text for search: case, accents and punctuation do not matter to the people typing."""

from __future__ import annotations

import re
import unicodedata

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """`Montbéliard-Agglo (Pays de)` → `montbeliard agglo pays de`."""
    decomposed = unicodedata.normalize("NFKD", text.replace("œ", "oe").replace("Œ", "Oe"))
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return _NOT_ALNUM.sub(" ", ascii_only).strip()


def search_terms(query: str) -> list[str]:
    """The words of a query, each to be found (as a word prefix or inside one) in the target."""
    return fold(query).split()
