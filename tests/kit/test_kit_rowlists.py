"""tdi_kit.rowlists: a page of driver rows answered as the model's own JSON, and a list's
optional filters."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy import Column, Integer, MetaData, Select, String, Table, select
from starlette.requests import Request

from tdi_kit.pagination import ListParams, Page, RowsPage
from tdi_kit.rowlists import KeptStatements, RowList, where_given, where_linked, where_words

HOSTILE = "".join(chr(i) for i in range(32)) + 'é\u2028"\\/<>😀'


class Thing(BaseModel):
    code: str
    on: dt.date
    count: int | None
    tags: list[str]


table = Table("things", MetaData(), Column("code", String), Column("n", Integer))
links = Table("thing_tags", MetaData(), Column("thing_code", String), Column("tag", String))


def _request() -> Request:
    return Request({"type": "http", "path": "/things", "query_string": b"", "headers": []})


def _list() -> RowList:
    return RowList(
        sortable={"code": table.c.code},
        default="code",
        unique=("code", table.c.code),
        item=lambda row: {"code": row[0], "on": row[1], "count": row[2], "tags": list(row[3])},
        columns=("code", "on", "count", "tags"),
    )


def test_a_page_is_the_bytes_pydantic_would_send() -> None:
    rows = [(HOSTILE, dt.date(2019, 6, 1), None, ["a", "b"]), ("x", dt.date(2020, 1, 2), 3, [])]
    page = RowsPage(rows, "cursor", 7)
    params = ListParams(limit=2, cursor=None, sort=None, format=None)
    answer = _list().answer(_request(), params, page, filename="things")
    expected = Page[Thing](
        items=[Thing(code=r[0], on=r[1], count=r[2], tags=r[3]) for r in rows],
        next_cursor="cursor",
        total=7,
    )
    assert answer.body == expected.model_dump_json().encode()
    assert answer.headers["link"] == '</things?cursor=cursor>; rel="next"'
    assert orjson.loads(answer.body)["items"][0]["code"] == HOSTILE


def test_a_csv_export_has_the_columns_and_flattens_lists() -> None:
    page = RowsPage([("=x", dt.date(2019, 6, 1), 2, ["a", "b"])], None, 1)
    params = ListParams(limit=50, cursor=None, sort=None, format="csv")
    answer = _list().answer(_request(), params, page, filename="things")
    assert answer.media_type.startswith("text/csv")
    assert 'filename="things.csv"' in answer.headers["content-disposition"]


def test_filters_apply_only_when_given() -> None:
    stmt = select(table.c.code)
    assert str(where_given(stmt, (table.c.code, None), (table.c.n, None))) == str(stmt)
    narrowed = str(where_given(stmt, (table.c.code, "a"), (table.c.n, None)))
    assert (
        "WHERE things.code = :code_1" in narrowed and "things.n" not in narrowed.split("WHERE")[1]
    )


def test_a_linked_filter_is_an_exists_on_the_link_table_only_when_given() -> None:
    stmt = select(table.c.code)
    assert str(where_linked(stmt, table.c.code, (links.c.thing_code, links.c.tag, None))) == str(
        stmt
    )
    narrowed = where_linked(
        stmt,
        table.c.code,
        (links.c.thing_code, links.c.tag, "a"),
        (links.c.thing_code, links.c.tag, None),
    )
    sql = " ".join(str(narrowed).split())
    assert sql.count("EXISTS") == 1
    assert "WHERE EXISTS (SELECT * FROM thing_tags WHERE thing_tags.thing_code = things.code" in sql
    assert "AND thing_tags.tag = :tag_1)" in sql
    assert narrowed.compile().params == {"tag_1": "a"}


def test_words_are_each_required_and_folded() -> None:
    sql = str(where_words(select(table.c.code), table.c.code, "Écully  50%"))
    assert sql.count("LIKE") == 2
    assert str(where_words(select(table.c.code), table.c.code, None)) == str(select(table.c.code))


def test_kept_statements_are_built_once_per_shape_of_filters() -> None:
    built: list[dict[str, object]] = []

    def build(*, code: object = None, n: object = None, q: str | None = None) -> Select[Any]:
        built.append({"code": code, "n": n, "q": q})
        stmt = where_given(select(table.c.code), (table.c.code, code), (table.c.n, n))
        return where_words(stmt, table.c.code, q)

    kept = KeptStatements(build)
    first, values = kept({"code": "a", "n": None, "q": None})
    again, other = kept({"code": "b", "n": None, "q": None})
    # One statement for the shape, its value bound per request (named after its filter).
    assert again is first and len(built) == 1
    assert (values, other) == ({"code": "a"}, {"code": "b"})
    assert first.compile().params == {"code": None}
    both, values = kept({"code": "a", "n": 3, "q": None})
    assert both is not first and values == {"code": "a", "n": 3} and len(built) == 2
    # A text search is built for its request, its words escaped in, with nothing to bind.
    searched, values = kept({"code": "a", "n": None, "q": "50%"})
    assert values is None and searched is not kept({"code": "a", "n": None, "q": "50%"})[0]
    assert "LIKE" in str(searched) and len(built) == 4
