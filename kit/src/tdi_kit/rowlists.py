"""Lists on the read path: a page of rows read through the driver, answered without a model.

A list declared as a `RowList` reads its page and its total in one statement through the
driver (`tdi_kit.pagination.read_page`: no session, no ORM object), turns each row into its
item's JSON members with the list's own `item` function, and encodes the whole page in one
orjson call. The bytes are the ones the route's `response_model=Page[Model]` documents, as long
as `item` returns the model's fields in the model's order with JSON-ready values: orjson writes
text, numbers, `null`, lists, UUIDs and dates exactly as pydantic's `model_dump_json` does; a
datetime must be given as its RFC 3339 text (`tdi_kit.clock.rfc3339`), since the two spell UTC
apart, or in UTC with `json_option=TIMESTAMPS`.

    MILESTONES = RowList(sortable=SORTABLE, default="date", unique=("code", M.code),
                         item=milestone_item, columns=CSV_COLUMNS, csv_row=flat_source)
    page = await MILESTONES.page(rows, stmt, params=params)
    return MILESTONES.answer(request, params, page, filename="programme-milestones")
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from fastapi import Request, Response
from pydantic import BaseModel
from sqlalchemy import Select, bindparam, exists

from tdi_kit.pagination import (
    ListParams,
    RowsPage,
    Sort,
    csv_response,
    next_link,
    parse_sort,
    read_page,
)
from tdi_kit.rowreader import RowReader
from tdi_kit.text import search_terms

S = TypeVar("S", bound=Select[Any])
Item = Callable[[tuple[Any, ...]], dict[str, Any]]

# orjson's options that spell a datetime as pydantic's `Timestamp` does (`tdi_kit.clock`),
# RFC 3339 in UTC with `Z`: a naive one (SQLite's) is UTC, an aware one must be UTC already
# (asyncpg's always are). An item may then give its datetimes as they are read, not as text.
TIMESTAMPS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


@dataclass(frozen=True)
class RowList:
    """One list of the read path: what it sorts on, what an item is, what its CSV holds.

    `sortable`: the `sort` names and their columns (`parse_sort`); `default`: the order when the
    caller gives none; `unique`: the key that ends every order. `item`: a row of the list's
    statement as the item's JSON members. `columns`: the CSV's columns; `csv_row`: an item as
    a CSV row, when the CSV flattens a member (the item itself otherwise). `json_option`:
    orjson's options for the page, `TIMESTAMPS` to give the items' datetimes as they are.
    """

    sortable: Mapping[str, Any]
    default: str
    unique: tuple[str, Any]
    item: Item
    columns: Sequence[str]
    csv_row: Callable[[dict[str, Any]], Mapping[str, Any]] | None = None
    json_option: int = 0

    @classmethod
    def of_columns(
        cls,
        model: type[BaseModel],
        *,
        sortable: Mapping[str, Any],
        default: str,
        unique: tuple[str, Any],
        json_option: int = 0,
    ) -> RowList:
        """A list whose statement selects `model`'s fields, in order, as columns: each row is an
        item as it is, and the CSV has the model's fields as columns. `json_option`:
        `TIMESTAMPS` when a column is a timestamp the model spells in UTC."""
        return cls(
            sortable=sortable,
            default=default,
            unique=unique,
            item=columns_item(model.model_fields),
            columns=tuple(model.model_fields),
            json_option=json_option,
        )

    def sort(self, params: ListParams) -> Sort:
        return parse_sort(
            params.sort, allowed=self.sortable, default=self.default, unique=self.unique
        )

    async def page(
        self,
        rows: RowReader,
        stmt: Any,
        *,
        params: ListParams,
        values: Mapping[str, Any] | None = None,
    ) -> RowsPage:
        """The page `params` asks for of `stmt` (its columns are what `item` reads), and the
        total of its filters; every row for a CSV export. `values`: those of a kept statement
        (`read_page`)."""
        return await read_page(rows, stmt, sort=self.sort(params), params=params, values=values)

    def answer(
        self,
        request: Request,
        params: ListParams,
        page: RowsPage,
        *,
        filename: str,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Every row as CSV (`format=csv`), else the page as JSON with its `Link: rel="next"`."""
        items = [self.item(row) for row in page.rows]
        if params.format == "csv":
            csv_row = self.csv_row
            return csv_response(
                (csv_row(i) for i in items) if csv_row else items,
                columns=self.columns,
                filename=filename,
            )
        body = orjson.dumps(
            {"items": items, "next_cursor": page.next_cursor, "total": page.total},
            option=self.json_option,
        )
        response = Response(body, media_type="application/json", headers=dict(headers or {}))
        next_link(request, response, page.next_cursor)
        return response


class KeptStatements:
    """A list's statements kept by their shape, that is which of its filters are given: a
    request binds its values into the kept statement (`RowList.page(values=...)`, that is
    `read_page`'s) rather than building, compiling and hashing a statement of its own, which
    cost a page of a plain table more than reading it.

    `build(**filters)` builds the statement for filters whose values are given (here each a
    `bindparam` named after its filter) or None. Filters in `per_request` (a text search, each
    of whose words is a LIKE pattern escaped from its text) make a statement of their own per
    request, with no values. Shapes are subsets of a list's filters: a handful are ever kept.
    """

    def __init__(
        self, build: Callable[..., Select[Any]], *, per_request: Iterable[str] = ("q",)
    ) -> None:
        self.build = build
        self.per_request = frozenset(per_request)
        self._shapes: dict[frozenset[str], Select[Any]] = {}

    def __call__(self, filters: Mapping[str, Any]) -> tuple[Select[Any], dict[str, Any] | None]:
        """The statement for `filters` (by name, None when not given) and the values it binds
        (None for a statement built for this request alone)."""
        values = {name: value for name, value in filters.items() if value is not None}
        if not self.per_request.isdisjoint(values):
            return self.build(**filters), None
        shape = frozenset(values)
        stmt = self._shapes.get(shape)
        if stmt is None:
            stmt = self._shapes[shape] = self.build(
                **{name: bindparam(name) if name in values else None for name in filters}
            )
        return stmt, values


def columns_item(names: Iterable[str]) -> Item:
    """The item of a row whose columns are the model's fields, in order (`names`: the model's
    `model_fields`, say)."""
    keys = tuple(names)
    return lambda row: dict(zip(keys, row, strict=True))


def where_given(stmt: S, *filters: tuple[Any, Any]) -> S:
    """`stmt` narrowed by `column == value` for each (column, value) whose value was given (not
    None): a list's optional equality filters, as its route received them."""
    for column, value in filters:
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


def where_linked(stmt: S, key: Any, *links: tuple[Any, Any, Any]) -> S:
    """`stmt` narrowed, for each (link_key, column, value) whose value was given (not None), to
    the rows whose `key` a row of a link table names (`link_key == key`) with `column == value`:
    an EXISTS on the link table's index, so that a page stays one statement and no row is
    repeated, as a join would repeat it."""
    for link_key, column, value in links:
        if value is not None:
            stmt = stmt.where(exists().where(link_key == key, column == value))
    return stmt


def where_words(stmt: S, column: Any, q: str | None) -> S:
    """`stmt` narrowed to the rows whose `column`, a folded text (`tdi_kit.text.fold`), holds
    every word of `q`, in any case or accent; `%` and `_` are matched as themselves."""
    for term in search_terms(q or ""):
        stmt = stmt.where(column.contains(term, autoescape=True))
    return stmt
