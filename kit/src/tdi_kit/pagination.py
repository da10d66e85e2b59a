"""Cursor (keyset) pagination for list endpoints, and the answer every list route gives.

A cursor carries the sort it was made for and the sort keys of the last item served, so a page
is one indexed range scan however deep it is, and rows inserted meanwhile are neither skipped nor
served twice. The sort and its cursor are `tdi_kit.sorting`'s; the CSV file, `tdi_kit.csvexport`'s
(both re-exported here, where every service imports them).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, TypeVar
from urllib.parse import quote, urlencode

import orjson
from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Integer, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tdi_kit.csvexport import CSV_MEDIA_TYPE, CSV_RESPONSE, csv_response
from tdi_kit.query import declared_query
from tdi_kit.rowreader import RowReader
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
    "page_answer",
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
    width = len(stmt.selected_columns)
    found = await rows.all(_page_statement(stmt, sort=sort, params=params))
    items, next_cursor, total = _cut(found, width=width, sort=sort, params=params)
    if total is None:
        total = 0 if not params.cursor else int((await rows.all(count_of(stmt)))[0][0])
    return RowsPage(items, next_cursor, total)


# A kept statement's derived statements, by what shapes them: (kind, sort order, cursor given).
_KEPT: weakref.WeakKeyDictionary[Select[Any], dict[tuple[str, str, bool], Select[Any]]] = (
    weakref.WeakKeyDictionary()
)
_LIMIT = "tdi_page_limit"


def _kept(stmt: Select[Any], kind: str, sort: Sort, cursor: bool) -> Select[Any]:
    derived = _KEPT.setdefault(stmt, {})
    key = (kind, sort.signature, cursor)
    found = derived.get(key)
    if found is None:
        if kind == "csv":
            found = stmt.order_by(*sort.order_by())
        elif kind == "count":
            found = count_of(stmt)
        else:
            total = count_of(stmt).scalar_subquery()
            page = stmt
            if cursor:
                page = page.where(sort.after(_cursor_params(sort)))
            found = (
                page.add_columns(total, *(k.column for k in sort.keys))
                .order_by(*sort.order_by())
                .limit(bindparam(_LIMIT, type_=Integer))
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
    width = len(stmt.selected_columns)
    items, next_cursor, total = _cut(found, width=width, sort=sort, params=params)
    if total is None:
        total = 0
        if params.cursor:
            total = int((await rows.all(_kept(stmt, "count", sort, False), **values))[0][0])
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


def page_answer(
    request: Request,
    response: Response,
    params: ListParams,
    found: tuple[Sequence[Any], str | None, int],
    *,
    model: type[BaseModel],
    filename: str,
    columns: Sequence[str] | None = None,
    row: Callable[[Any], Mapping[str, Any]] | None = None,
) -> Any:
    """`list_answer` of what a service's list function returns, (items, next cursor, total):
    a list route is its parameters, one call of its service, and this."""
    items, next_cursor, total = found
    return list_answer(
        request,
        response,
        params,
        items,
        next_cursor,
        total,
        model=model,
        filename=filename,
        columns=columns,
        row=row,
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
