"""Cursor (keyset) pagination for list endpoints, and the answer every list route gives.

A cursor carries the sort it was made for and the sort keys of the last item served, so a page
is one indexed range scan however deep it is, and rows inserted meanwhile are neither skipped nor
served twice. The sort and its cursor are `tdi_kit.sorting`'s; the CSV file, `tdi_kit.csvexport`'s;
the answer a list route gives (a page or CSV, its `Link: rel="next"`), `tdi_kit.listanswers`'s
(all re-exported here, where every service imports them).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import ColumnClause, Integer, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tdi_kit.csvexport import CSV_MEDIA_TYPE, CSV_RESPONSE, csv_response
from tdi_kit.listanswers import (
    documents_answer,
    list_answer,
    next_link,
    page_json,
    page_response,
)
from tdi_kit.rowreader import CURSOR_KEYS, RowReader
from tdi_kit.sorting import Sort, SortKey, decode_cursor, encode_cursor, parse_sort

__all__ = [
    "CSV_MEDIA_TYPE",
    "CSV_RESPONSE",
    "MAX_LIMIT",
    "ListParams",
    "ListParamsDep",
    "Page",
    "RowsPage",
    "Sort",
    "SortKey",
    "all_rows",
    "count_of",
    "csv_response",
    "decode_cursor",
    "documents_answer",
    "encode_cursor",
    "list_answer",
    "next_link",
    "page_json",
    "page_response",
    "paginate",
    "parse_sort",
    "read_page",
]

T = TypeVar("T")
MAX_LIMIT = 1000


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


def count_of(stmt: Select[Any]) -> Select[Any]:
    """How many rows `stmt` selects: `SELECT count(*)` over its FROM and WHERE, or over it as a
    subquery when it groups or dedupes rows."""
    if stmt._distinct or stmt._group_by_clauses:
        return select(func.count()).select_from(stmt.order_by(None).subquery())
    return stmt.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)


def _page_statement(
    stmt: Select[Any], *, sort: Sort, params: ListParams, items: Sequence[Any]
) -> Select[Any]:
    """The page's statement: `stmt`'s columns, the total of its filters, the sort keys.

    The total is an uncorrelated scalar subquery, which both databases run once per statement
    (PostgreSQL's InitPlan, SQLite's once-only subroutine): a page and its total are one
    statement, whatever the page size. It counts the filters without the cursor, so every page
    of a list answers the same total.
    """
    total = count_of(stmt).scalar_subquery()
    if params.cursor:
        stmt = stmt.where(sort.after(decode_cursor(params.cursor, sort)))
    added = _added_keys(items, sort)
    # The reader types the added keys in the last two rows alone (`CURSOR_KEYS`): only those
    # added after the total, never an item's own column that is also a key.
    return (
        stmt.add_columns(total, *added)
        .order_by(*sort.order_by())
        .limit(params.limit + 1)
        .execution_options(**{CURSOR_KEYS: len(added)})
    )


def _selected_at(items: Sequence[Any], column: Any) -> int | None:
    """Where a row's item columns `items` hold `column` (a table's column, or a mapped
    attribute of it)."""
    element = column.__clause_element__() if hasattr(column, "__clause_element__") else column
    for i, selected in enumerate(items):
        if isinstance(selected, ColumnClause) and selected.compare(element):
            return i
    return None


def _added_keys(items: Sequence[Any], sort: Sort) -> list[Any]:
    """The sort keys a page's statement selects after the total: those its item columns
    `items` lack. A key among them (an id, a date the item serves) is read from the item's own
    column: the driver types each value once, not twice per row (`_key_places`). A session's
    page of records has no item column to read (its row holds the record): `items` is empty."""
    return [k.column for k in sort.keys if _selected_at(items, k.column) is None]


def _key_places(items: Sequence[Any], sort: Sort, width: int) -> list[int]:
    """Where each sort key's value is in a row of the page's statement (`_added_keys`): a row
    holds `width` item columns and the total, then the keys added."""
    places, added = [], 0
    for key in sort.keys:
        at = _selected_at(items, key.column)
        if at is None:
            added += 1
            at = width + added
        places.append(at)
    return places


def _cut(
    rows: Sequence[Any], *, width: int, keys: Sequence[int], sort: Sort, params: ListParams
) -> tuple[list[tuple[Any, ...]], str | None, int | None]:
    """Rows of `width` item columns, the next cursor (the last row's values at `keys`), the
    total (None when no row came back)."""
    total = rows[0][width] if rows else None
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        last = rows[-1]
        next_cursor = encode_cursor(sort, [last[i] for i in keys])
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
    # The row holds the record itself: every key is added after the total.
    page = _page_statement(stmt, sort=sort, params=params, items=())
    rows = (await session.execute(page)).all()
    keys = _key_places((), sort, 1)
    items, next_cursor, total = _cut(rows, width=1, keys=keys, sort=sort, params=params)
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
    rows: RowReader,
    stmt: Select[Any],
    *,
    sort: Sort,
    params: ListParams,
    values: Mapping[str, Any] | None = None,
) -> RowsPage:
    """One page of `stmt` and its total, read as the read by key is: through the driver, no
    session, no ORM object; one statement. A CSV export (`format=csv`) reads every row.

    With `values`, `stmt` is a statement its caller keeps (one per shape of the list's
    filters) whose `bindparam`s `values` names: the page's statement is then built and
    compiled once per sort order and cursor presence too, and a request only binds values
    (the limit and the cursor's as well): what a list costs comes near a read by key."""
    if values is not None:
        return await _read_kept_page(rows, stmt, sort=sort, params=params, values=values)
    if params.format == "csv":
        found = await rows.all(stmt.order_by(*sort.order_by()))
        return RowsPage(found, None, len(found))
    columns = list(stmt.selected_columns)
    width = len(columns)
    found = await rows.all(_page_statement(stmt, sort=sort, params=params, items=columns))
    keys = _key_places(columns, sort, width)
    items, next_cursor, total = _cut(found, width=width, keys=keys, sort=sort, params=params)
    if total is None:
        total = 0 if not params.cursor else int((await rows.all(count_of(stmt)))[0][0])
    return RowsPage(items, next_cursor, total)


# A kept statement's derived statements, by what shapes them: (kind, sort order, cursor given);
# and, as kind "places", its width and where a page's row holds each sort key (`_key_places`).
_KEPT: weakref.WeakKeyDictionary[Select[Any], dict[tuple[str, str, bool], Any]] = (
    weakref.WeakKeyDictionary()
)
_LIMIT = "tdi_page_limit"


def _kept(stmt: Select[Any], kind: str, sort: Sort, cursor: bool) -> Any:
    derived = _KEPT.setdefault(stmt, {})
    key = (kind, sort.signature, cursor)
    found = derived.get(key)
    if found is None:
        if kind == "places":
            items = list(stmt.selected_columns)
            found = (len(items), _key_places(items, sort, len(items)))
        elif kind == "csv":
            found = stmt.order_by(*sort.order_by())
        elif kind == "count":
            found = count_of(stmt)
        else:
            total = count_of(stmt).scalar_subquery()
            page = stmt
            if cursor:
                page = page.where(sort.after(_cursor_params(sort)))
            added = _added_keys(list(stmt.selected_columns), sort)
            found = (
                page.add_columns(total, *added)
                .order_by(*sort.order_by())
                .limit(bindparam(_LIMIT, type_=Integer))
                .execution_options(**{CURSOR_KEYS: len(added)})
            )
        derived[key] = found
    return found


def _cursor_params(sort: Sort) -> list[Any]:
    return [bindparam(f"tdi_cursor_{i}", type_=k.column.type) for i, k in enumerate(sort.keys)]


async def _read_kept_page(
    rows: RowReader,
    stmt: Select[Any],
    *,
    sort: Sort,
    params: ListParams,
    values: Mapping[str, Any],
) -> RowsPage:
    if params.format == "csv":
        found = await rows.all(_kept(stmt, "csv", sort, False), **values)
        return RowsPage(found, None, len(found))
    bound = {**values, _LIMIT: params.limit + 1}
    if params.cursor:
        decoded = decode_cursor(params.cursor, sort)
        bound.update({f"tdi_cursor_{i}": v for i, v in enumerate(decoded)})
    found = await rows.all(_kept(stmt, "page", sort, bool(params.cursor)), **bound)
    width, keys = _kept(stmt, "places", sort, False)
    items, next_cursor, total = _cut(found, width=width, keys=keys, sort=sort, params=params)
    if total is None:
        total = 0
        if params.cursor:
            total = int((await rows.all(_kept(stmt, "count", sort, False), **values))[0][0])
    return RowsPage(items, next_cursor, total)
