"""Cursors, sorts and the keyset condition behind cursor pagination."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from sqlalchemy import BigInteger, Column, Date, DateTime, Integer, MetaData, String, Table

from tdi_kit.errors import BadRequest, Unprocessable
from tdi_kit.sorting import decode_cursor, encode_cursor, parse_sort

table = Table(
    "things",
    MetaData(),
    Column("code", String, primary_key=True),
    Column("rank", Integer),
    Column("big", BigInteger),
    Column("day", Date),
    Column("at", DateTime(timezone=True)),
)
ALLOWED = {c.name: c for c in table.columns}
UNIQUE = ("code", table.c.code)


def _sort(spec: str | None, default: str = "code"):
    return parse_sort(spec, allowed=ALLOWED, default=default, unique=UNIQUE)


def _forge(doc: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


def test_a_cursor_round_trips_the_sort_keys_of_each_type() -> None:
    sort = _sort("-rank,big,day,at")
    values = (
        7,
        2**40,
        dt.date(2023, 1, 31),
        dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC),
        "ti-2708",
    )
    cursor = encode_cursor(sort, values)
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor
    assert decode_cursor(cursor, sort) == list(values)


def test_a_cursor_round_trips_text_with_accents_and_quotes() -> None:
    sort = _sort(None)
    for value in ["Évry-Courcouronnes", 'a "quoted" name', "l'abergement", "🏭"]:
        assert decode_cursor(encode_cursor(sort, [value]), sort) == [value]


def test_a_sort_ends_with_the_unique_key_and_names_each_field_once() -> None:
    assert _sort("-rank").signature == "-rank,code"
    assert _sort("rank,-rank,code").signature == "rank,code"
    assert _sort("-code").signature == "-code"
    assert _sort(None, default="-day").signature == "-day,code"


def test_an_unknown_sort_field_is_422_naming_sort() -> None:
    with pytest.raises(Unprocessable) as raised:
        _sort("rank,colour")
    problem = raised.value
    assert problem.errors is not None
    assert [(e.location, e.field) for e in problem.errors] == [("query", "sort")]
    assert "colour" in problem.errors[0].message


def test_a_cursor_made_for_another_sort_is_refused() -> None:
    cursor = encode_cursor(_sort("-rank"), [3, "a"])
    with pytest.raises(BadRequest, match="another sort"):
        decode_cursor(cursor, _sort("rank"))
    with pytest.raises(BadRequest, match="another sort"):
        decode_cursor(cursor, _sort(None))


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not base64 at all!",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        _forge([1, 2]),
        _forge({"s": "-rank,code"}),
        _forge({"s": "-rank,code", "v": 1}),
        _forge({"s": "-rank,code", "v": [1]}),
        _forge({"s": "-rank,code", "v": ["three", "a"]}),
        # Values a database would choke on: NULL, booleans, out-of-range integers, NUL bytes.
        _forge({"s": "-rank,code", "v": [None, "a"]}),
        _forge({"s": "-rank,code", "v": [True, "a"]}),
        _forge({"s": "-rank,code", "v": [2**31, "a"]}),
        _forge({"s": "-rank,code", "v": [-(2**40), "a"]}),
        _forge({"s": "-rank,code", "v": [10**30, "a"]}),
        _forge({"s": "-rank,code", "v": [1, "a\x00b"]}),
        _forge({"s": "-rank,code", "v": [[1], "a"]}),
        _forge({"s": "-rank,code", "v": [{"x": 1}, "a"]}),
    ],
)
def test_a_cursor_the_api_did_not_give_out_is_a_bad_request(cursor: str) -> None:
    with pytest.raises(BadRequest):
        decode_cursor(cursor, _sort("-rank"))


def test_big_integer_sort_keys_keep_their_range() -> None:
    sort = _sort("big")
    assert decode_cursor(_forge({"s": "big,code", "v": [2**62, "a"]}), sort) == [2**62, "a"]
    with pytest.raises(BadRequest):
        decode_cursor(_forge({"s": "big,code", "v": [2**63, "a"]}), sort)


def test_dates_in_a_cursor_must_be_dates() -> None:
    sort = _sort("day")
    assert decode_cursor(_forge({"s": "day,code", "v": ["2023-01-31", "a"]}), sort) == [
        dt.date(2023, 1, 31),
        "a",
    ]
    with pytest.raises(BadRequest):
        decode_cursor(_forge({"s": "day,code", "v": ["31/01/2023", "a"]}), sort)
    with pytest.raises(BadRequest):
        decode_cursor(_forge({"s": "day,code", "v": [20230131, "a"]}), sort)


def test_the_keyset_condition_takes_rows_strictly_after_the_cursor() -> None:
    sort = _sort("-rank")
    condition = sort.after([3, "b"])
    sql = str(condition.compile(compile_kwargs={"literal_binds": True}))
    assert sql == "things.rank < 3 OR things.rank = 3 AND things.code > 'b'"
