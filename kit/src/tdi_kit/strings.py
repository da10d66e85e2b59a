"""Text the API accepts: printable, trimmed, bounded. One rule for every service's schemas.

PostgreSQL refuses NUL in text and neither database can store a lone UTF-16 surrogate (JSON
lets a client send `"\\ud800"`): left alone, both reach the driver and fail there as a 500. No
other control character belongs in the programme's records either: they hide text on screen,
break CSV exports and logs. So every text field of a write is one of:

- `text(n)`: a single line (names, titles, references, labels, reasons): no control character
  at all (Unicode category Cc: NUL to US, DEL, C1), no line or paragraph separator (U+2028,
  U+2029), no lone surrogate;
- `text(n, multiline=True)`: prose a person writes over several lines (descriptions, notes,
  commitments, an amendment's reason): the same, except that tab, line feed, carriage return
  and the Unicode line and paragraph separators are allowed.

Surrounding whitespace is trimmed before the length is checked. A refused value is a 422 whose
`errors` name the field.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, StringConstraints

_LINE_BREAKS = frozenset("\t\n\r")
_SEPARATORS = frozenset("\u2028\u2029")


def _refused(char: str, *, multiline: bool) -> bool:
    category = unicodedata.category(char)
    if category == "Cs":
        return True
    if category == "Cc":
        return not (multiline and char in _LINE_BREAKS)
    return not multiline and char in _SEPARATORS


def check_single_line(value: str) -> str:
    """A single line of printable text; raises ValueError (a 422 in a schema) otherwise."""
    if not value.isprintable() and any(_refused(c, multiline=False) for c in value):
        raise ValueError("control characters (and line breaks) are not allowed")
    return value


def check_multiline(value: str) -> str:
    """Printable text over several lines: tab and line breaks allowed."""
    if not value.isprintable() and any(_refused(c, multiline=True) for c in value):
        raise ValueError("control characters are not allowed (only tab and line breaks)")
    return value


def text(max_length: int, *, min_length: int = 1, multiline: bool = False) -> Any:
    """The type of a text field: `Name = text(200)`, `Notes = text(10_000, min_length=0,
    multiline=True)`. Typed `Any` because it is a type made at run time (an `Annotated`)."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(check_multiline if multiline else check_single_line),
    ]


# For text with no length of its own to check (a bulk row's cell, a query parameter).
SingleLine = Annotated[str, AfterValidator(check_single_line)]
MultiLine = Annotated[str, AfterValidator(check_multiline)]
