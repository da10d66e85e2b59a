"""Cursor (keyset) pagination, sorting and CSV export for list endpoints.

A cursor carries the sort it was made for and the sort keys of the last item served, so a page
is one indexed range scan however deep it is, and rows inserted meanwhile are neither skipped nor
served twice.
"""

from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import io
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, TypeVar
from urllib.parse import quote, urlencode

import orjson
from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import BigInteger, ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import StreamingResponse

from tdi_kit import clock
from tdi_kit.errors import BadRequest, Unprocessable
from tdi_kit.query import declared_query
from tdi_kit.rowreader import RowReader

T = TypeVar("T")
MAX_LIMIT = 1000
CSV_MEDIA_TYPE = "text/csv"


class Page(BaseModel, Generic[T]):
    """One page of a list; follow `next_cursor` (or the `Link: rel="next"` header) for more."""

    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last."
    )
    total: int = Field(
        description="How many items match the filters given, on every page (not this page's count)."
    )


@dataclass(frozen=True)
class ListParams:
    limit: int
    cursor: str | None
    sort: str | None
    format: str | None


async def _list_params(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = 50,
    cursor: Annotated[
        str | None, Query(max_length=2048, description="`next_cursor` of the previous page.")
    ] = None,
    sort: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=r"^-?[a-z_]+(,-?[a-z_]+)*$",
            description="Comma-separated fields, `-` for descending: `-name,code`.",
        ),
    ] = None,
    format: Annotated[
        Literal["json", "csv"] | None,
        Query(description="`csv` exports every matching row (as does `Accept: text/csv`)."),
    ] = None,
) -> ListParams:
    if format is None and CSV_MEDIA_TYPE in request.headers.get("accept", ""):
        format = "csv"
    return ListParams(limit=limit, cursor=cursor, sort=sort, format=format)


ListParamsDep = Annotated[ListParams, Depends(_list_params)]


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


def count_of(stmt: Select[Any]) -> Select[Any]:
    """How many rows `stmt` selects: `SELECT count(*)` over its FROM and WHERE, or over it as a
    subquery when it groups or dedupes rows."""
    if stmt._distinct or stmt._group_by_clauses:
        return select(func.count()).select_from(stmt.order_by(None).subquery())
    return stmt.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)


def _page_statement(stmt: Select[Any], *, sort: Sort, params: ListParams) -> Select[Any]:
    """The page's statement: `stmt`'s columns, the total of its filters, the sort keys.

    The total is an uncorrelated scalar subquery, which both databases run once per statement
    (PostgreSQL's InitPlan, SQLite's once-only subroutine): a page and its total are one
    statement, whatever the page size. It counts the filters without the cursor, so every page
    of a list answers the same total.
    """
    total = count_of(stmt).scalar_subquery()
    if params.cursor:
        stmt = stmt.where(sort.after(decode_cursor(params.cursor, sort)))
    return (
        stmt.add_columns(total, *(k.column for k in sort.keys))
        .order_by(*sort.order_by())
        .limit(params.limit + 1)
    )


def _cut(
    rows: Sequence[Any], *, width: int, sort: Sort, params: ListParams
) -> tuple[list[tuple[Any, ...]], str | None, int | None]:
    """Rows of `width` item columns, the next cursor, the total (None when no row came back)."""
    n_keys = len(sort.keys)
    total = rows[0][width] if rows else None
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        next_cursor = encode_cursor(sort, tuple(rows[-1])[-n_keys:])
    return [tuple(row)[:width] for row in rows], next_cursor, total


async def paginate(
    session: AsyncSession, stmt: Select[Any], *, sort: Sort, params: ListParams
) -> tuple[list[Any], str | None, int]:
    """One page of `stmt`, whose first selected column is the item; the next page's cursor;
    how many rows match `stmt` (every page, not this one). A CSV export (`format=csv`) reads
    every row. Through a session: for records the service still assembles from ORM objects."""
    if params.format == "csv":
        every = await all_rows(session, stmt, sort=sort)
        return every, None, len(every)
    rows = (await session.execute(_page_statement(stmt, sort=sort, params=params))).all()
    items, next_cursor, total = _cut(rows, width=1, sort=sort, params=params)
    if total is None:
        # Past the last row (a cursor kept after a delete): the total needs its own count.
        total = 0 if not params.cursor else int(await session.scalar(count_of(stmt)) or 0)
    return [row[0] for row in items], next_cursor, total


async def all_rows(session: AsyncSession, stmt: Select[Any], *, sort: Sort) -> list[Any]:
    """Every row of `stmt` in the requested order: what a CSV export serves."""
    return list((await session.scalars(stmt.order_by(*sort.order_by()))).all())


@dataclass(frozen=True)
class RowsPage:
    """A page read by `read_page`: rows of the statement's own columns."""

    rows: list[tuple[Any, ...]]
    next_cursor: str | None
    total: int


async def read_page(
    rows: RowReader, stmt: Select[Any], *, sort: Sort, params: ListParams
) -> RowsPage:
    """One page of `stmt` and its total, read as the read by key is: through the driver, no
    session, no ORM object; one statement. A CSV export (`format=csv`) reads every row."""
    if params.format == "csv":
        found = await rows.all(stmt.order_by(*sort.order_by()))
        return RowsPage(found, None, len(found))
    width = len(stmt.selected_columns)
    found = await rows.all(_page_statement(stmt, sort=sort, params=params))
    items, next_cursor, total = _cut(found, width=width, sort=sort, params=params)
    if total is None:
        total = 0 if not params.cursor else int((await rows.all(count_of(stmt)))[0][0])
    return RowsPage(items, next_cursor, total)


def next_link(request: Request, response: Response, next_cursor: str | None) -> None:
    """`Link: <...>; rel="next"`: the route's own query parameters as it read them, and the cursor.

    Only the parameters the route declares are carried, each as the route read it (the last of
    repeated values): a caller's unknown or repeated parameters are never echoed into a header,
    where a long one would make the answer one that proxies refuse. The target is a relative
    reference, built on no `Host`: the gateway makes it absolute on its public base URL.
    """
    if not next_cursor:
        return
    query = request.query_params
    params: list[tuple[str, str]] = []
    for name, repeated in declared_query(request.scope.get("route")).items():
        if name == "cursor":
            continue
        if repeated:
            params.extend((name, value) for value in query.getlist(name))
        elif (value := query.get(name)) is not None:
            params.append((name, value))
    params.append(("cursor", next_cursor))
    path = quote(request.scope.get("root_path", "") + request.scope["path"], safe="/")
    response.headers["Link"] = f'<{path}?{urlencode(params)}>; rel="next"'


def csv_response(
    rows: Iterable[Mapping[str, Any]], *, columns: Sequence[str], filename: str
) -> StreamingResponse:
    """Stream rows as CSV (UTF-8, with a BOM so spreadsheet software reads the accents)."""

    def lines() -> Iterable[str]:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
        buffer.write("\ufeff")
        writer.writeheader()
        for i, row in enumerate(rows, 1):
            writer.writerow({k: _csv_cell(v) for k, v in row.items()})
            if i % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        lines(),
        media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


# A spreadsheet runs a cell that starts with one of these as a formula (`=HYPERLINK(...)`,
# `@SUM(...)`, `-2+3`, and tab or carriage return before them); OWASP's advice is to prefix such
# a cell with a single quote, which the spreadsheet shows as text. Only text cells are touched:
# numbers (a negative amount of cents) stay numbers.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _spelt(value: Any) -> Any:
    # As in JSON, so that both exports of a list agree: `true`/`false` (not Python's `True`),
    # timestamps in RFC 3339 UTC with `Z` (not `2024-03-18 09:30:00+00:00`).
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return clock.rfc3339(value)
    return value


def _csv_cell(value: Any) -> Any:
    value = _spelt(value)
    if isinstance(value, list | tuple):
        value = "|".join(str(_spelt(v)) for v in value)
    elif isinstance(value, dict):
        value = orjson.dumps(value).decode()
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}}}
}


def list_answer(
    request: Request,
    response: Response,
    params: ListParams,
    items: Sequence[Any],
    next_cursor: str | None,
    total: int,
    *,
    model: type[BaseModel],
    filename: str,
    columns: Sequence[str] | None = None,
    row: Callable[[Any], Mapping[str, Any]] | None = None,
) -> Any:
    """What every list route answers: every row as CSV (`format=csv`), else one page of `model`
    with its `Link: rel="next"`. `items` are `model`s or records it reads (`from_attributes`);
    CSV columns default to the model's fields, rows to the item read as `model`."""
    if params.format == "csv":
        return csv_response(
            (row(item) if row else model.model_validate(item).model_dump() for item in items),
            columns=list(columns or model.model_fields),
            filename=filename,
        )
    # The page's JSON from each item's own (pydantic's serializer, in Rust), not a Page model
    # validated again and encoded by the framework: what the route declares as
    # `response_model=Page[model]` is what is sent, at a fraction of the cost.
    documents = [
        (item if isinstance(item, model) else model.model_validate(item)).model_dump_json()
        for item in items
    ]
    headers = {k: v for k, v in response.headers.items() if k != "content-length"}
    return documents_answer(
        request,
        params,
        documents,
        next_cursor,
        total,
        filename=filename,
        columns=(),
        row=dict,
        headers=headers,
    )


def page_json(
    documents: Sequence[str],
    next_cursor: str | None,
    total: int,
    *,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """A `Page` as JSON from its items' own JSON, joined as they are (not decoded and encoded
    again); `extra` adds members after `total`."""
    return (
        '{"items":['
        + ",".join(documents)
        + '],"next_cursor":'
        + orjson.dumps(next_cursor).decode()
        + ',"total":'
        + str(int(total))
        + "".join(
            f",{orjson.dumps(k).decode()}:{orjson.dumps(v).decode()}"
            for k, v in (extra or {}).items()
        )
        + "}"
    )


def page_response(
    request: Request, documents: Sequence[str], next_cursor: str | None, total: int
) -> Response:
    """One page of items given as JSON, with its `Link: rel="next"`: a list that is always
    JSON (no CSV export), served without validating a `Page` model again."""
    response = Response(page_json(documents, next_cursor, total), media_type="application/json")
    next_link(request, response, next_cursor)
    return response


def documents_answer(
    request: Request,
    params: ListParams,
    documents: Sequence[str],
    next_cursor: str | None,
    total: int,
    *,
    filename: str,
    columns: Sequence[str],
    row: Callable[[Any], Mapping[str, Any]],
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A list of stored documents: CSV rows from each decoded document (`row`), else one page
    whose items are the stored JSON joined as they are, not decoded and encoded again; `extra`
    adds members to the page (after `total`)."""
    if params.format == "csv":
        return csv_response(
            (row(orjson.loads(d)) for d in documents), columns=columns, filename=filename
        )
    body = page_json(documents, next_cursor, total, extra=extra)
    response = Response(body, media_type="application/json", headers=dict(headers or {}))
    next_link(request, response, next_cursor)
    return response
