"""The order of a list and the cursor that resumes it.

A sort is the columns a caller named (`sort=-name,code`) and a unique key that ends every order;
a cursor carries that sort's signature and the sort keys of the last item served, so that a page
is one indexed range scan however deep it is (`tdi_kit.pagination`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import BigInteger, ColumnElement, and_, or_

from tdi_kit.errors import BadRequest, Unprocessable


@dataclass(frozen=True)
class SortKey:
    name: str
    column: Any
    descending: bool


@dataclass(frozen=True)
class Sort:
    keys: tuple[SortKey, ...]

    @property
    def signature(self) -> str:
        return ",".join(("-" if k.descending else "") + k.name for k in self.keys)

    def order_by(self) -> list[ColumnElement[Any]]:
        return [k.column.desc() if k.descending else k.column.asc() for k in self.keys]

    def after(self, values: Sequence[Any]) -> ColumnElement[bool]:
        """Rows strictly after `values` in this order: (a > x) or (a = x and b > y) or ..."""
        clauses = []
        for i, key in enumerate(self.keys):
            equal = [k.column == v for k, v in zip(self.keys[:i], values[:i], strict=True)]
            beyond = key.column < values[i] if key.descending else key.column > values[i]
            clauses.append(and_(*equal, beyond))
        return or_(*clauses)


def parse_sort(
    sort: str | None, *, allowed: Mapping[str, Any], default: str, unique: tuple[str, Any]
) -> Sort:
    """Resolve `sort=-name,code` against the allowed columns; a unique key ends every order."""
    keys: list[SortKey] = []
    for part in (sort or default).split(","):
        name = part.removeprefix("-")
        if name not in allowed:
            raise Unprocessable.field(
                "query", "sort", f"cannot sort on {name!r}; use one of {', '.join(sorted(allowed))}"
            )
        if name not in {k.name for k in keys}:
            keys.append(SortKey(name, allowed[name], part.startswith("-")))
    if unique[0] not in {k.name for k in keys}:
        keys.append(SortKey(unique[0], unique[1], False))
    return Sort(tuple(keys))


def _encode_value(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):  # asyncpg's own UUID subclass is not JSON to orjson
        return str(value)
    return value


def _decode_value(value: Any, column: Any) -> Any:
    # A forged cursor must be a 400, not a database error: sort keys are never NULL, and each
    # value must be one the column can hold (32-bit integers and no NUL text on PostgreSQL).
    if value is None or isinstance(value, bool | list | dict):
        raise ValueError("a sort key is a number or a string")
    python_type = column.type.python_type
    if isinstance(value, python_type):
        decoded = value
    elif python_type is dt.date:
        decoded = dt.date.fromisoformat(value)
    elif python_type is dt.datetime:
        decoded = dt.datetime.fromisoformat(value)
    else:
        decoded = python_type(value)
    if isinstance(decoded, str) and "\x00" in decoded:
        raise ValueError("a text sort key holds no NUL character")
    bits = 63 if isinstance(column.type, BigInteger) else 31
    if isinstance(decoded, int) and not -(2**bits) <= decoded < 2**bits:
        raise ValueError("a sort key out of the column's range")
    return decoded


def encode_cursor(sort: Sort, values: Sequence[Any]) -> str:
    raw = orjson.dumps({"s": sort.signature, "v": [_encode_value(v) for v in values]})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: Sort) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        doc = orjson.loads(raw)
        values = doc["v"]
        if doc["s"] != sort.signature or len(values) != len(sort.keys):
            raise BadRequest("This cursor was made for another sort order; start again without it.")
        return [_decode_value(v, k.column) for v, k in zip(values, sort.keys, strict=True)]
    except BadRequest:
        raise
    except (binascii.Error, ValueError, TypeError, KeyError, orjson.JSONDecodeError) as exc:
        raise BadRequest(
            "The cursor is not one this API gave out; start again without it."
        ) from exc
