"""Hostile input never reaches the database as a 500: text types, CSV cells, integrity errors."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ValidationError
from sqlalchemy import exc as sa_exc
from starlette.types import ASGIApp, Receive, Scope, Send

from tdi_kit.clock import Timestamp, rfc3339
from tdi_kit.csvexport import csv_response
from tdi_kit.errors import (
    Conflict,
    DatabaseUnavailable,
    database_problem,
    install_error_handlers,
)
from tdi_kit.strings import text

# Text ---------------------------------------------------------------------------------------


class Note(BaseModel):
    title: text(20)  # type: ignore[valid-type]
    body: text(200, min_length=0, multiline=True)  # type: ignore[valid-type]


REFUSED_EVERYWHERE = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x85"]
REFUSED_EVERYWHERE += ["\x9f", "\ud800", "\udfff"]


@pytest.mark.parametrize("char", REFUSED_EVERYWHERE)
def test_control_characters_and_lone_surrogates_are_refused_in_every_text(char: str) -> None:
    for field in ("title", "body"):
        fields = {"title": "Titre", "body": "Corps"} | {field: f"a{char}b"}
        with pytest.raises(ValidationError) as caught:
            Note(**fields)
        assert [e["loc"] for e in caught.value.errors()] == [(field,)]
        if not "\ud800" <= char <= "\udfff":  # pydantic refuses those itself, as non-text
            assert "control characters" in caught.value.errors()[0]["msg"]


@pytest.mark.parametrize("char", ["\t", "\n", "\r", "\u2028", "\u2029"])
def test_line_breaks_are_refused_in_a_single_line_and_kept_in_prose(char: str) -> None:
    with pytest.raises(ValidationError):
        Note(title=f"a{char}b", body="")
    assert Note(title="a", body=f"ligne 1{char}ligne 2").body == f"ligne 1{char}ligne 2"


def test_printable_text_of_any_script_is_kept_trimmed() -> None:
    note = Note(title="  Œuvre n°1 — 日本 👩‍🔧 ", body="\u00a0non-breaking\u00a0spaces\u200d")
    assert note.title == "Œuvre n°1 — 日本 👩‍🔧"
    assert note.body == "non-breaking\u00a0spaces\u200d"


def test_a_text_is_bounded_after_trimming() -> None:
    assert Note(title=" " * 5 + "x" * 20 + " " * 5, body="").title == "x" * 20
    with pytest.raises(ValidationError):
        Note(title="x" * 21, body="")
    with pytest.raises(ValidationError):
        Note(title="   ", body="")


# CSV ----------------------------------------------------------------------------------------


async def _csv(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    response = csv_response(rows, columns=list(rows[0]), filename="x")
    chunks = [c async for c in response.body_iterator]
    body = "".join(c if isinstance(c, str) else c.decode() for c in chunks)
    return list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("+33 6 12 34 56 78", "'+33 6 12 34 56 78"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-150000", "'-150000"),  # a string is text, whatever it looks like
        (["=cmd", "b"], "'=cmd|b"),
        ("Montbéliard = 1", "Montbéliard = 1"),
        ("ti-2708", "ti-2708"),
        ("", ""),
    ],
)
async def test_csv_cells_a_spreadsheet_would_run_are_neutralised(cell: Any, written: str) -> None:
    [row] = await _csv([{"name": cell}])
    assert row["name"] == written


async def test_csv_numbers_stay_numbers_negative_ones_included() -> None:
    [row] = await _csv([{"delta_cents": -150_000, "rate": -0.5, "count": 3, "flag": True}])
    assert row == {"delta_cents": "-150000", "rate": "-0.5", "count": "3", "flag": "true"}


async def test_csv_spells_booleans_and_timestamps_as_json_does() -> None:
    naive = dt.datetime(2024, 3, 18, 9, 30)  # as SQLite hands it back: UTC, without its zone
    paris = dt.datetime(2024, 3, 18, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    [row] = await _csv(
        [{"yes": True, "no": False, "at": naive, "paris": paris, "flags": [True, False]}]
    )
    assert row == {
        "yes": "true",
        "no": "false",
        "at": "2024-03-18T09:30:00Z",
        "paris": "2024-03-18T09:30:00Z",
        "flags": "true|false",
    }


def test_every_timestamp_is_rfc3339_utc_with_z_whatever_zone_it_came_in() -> None:
    class Stamped(BaseModel):
        at: Timestamp

    for moment in (
        dt.datetime(2024, 3, 18, 9, 30),
        dt.datetime(2024, 3, 18, 9, 30, tzinfo=dt.UTC),
        dt.datetime(2024, 3, 18, 11, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    ):
        assert Stamped(at=moment).model_dump_json() == '{"at":"2024-03-18T09:30:00Z"}'
        assert rfc3339(moment) == "2024-03-18T09:30:00Z"


# Database errors as problems ------------------------------------------------------------------


class _Orig(Exception):
    def __init__(self, sqlstate: str | None = None) -> None:
        super().__init__("driver text naming secret-host:5432")
        self.sqlstate = sqlstate


def _dbapi(cls: type[sa_exc.DBAPIError], sqlstate: str | None = None) -> sa_exc.DBAPIError:
    return cls("INSERT INTO secret_table", {}, _Orig(sqlstate))


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (_dbapi(sa_exc.IntegrityError, "23505"), Conflict),
        (_dbapi(sa_exc.IntegrityError, "23503"), Conflict),
        (_dbapi(sa_exc.DBAPIError, "40001"), Conflict),
        (_dbapi(sa_exc.DBAPIError, "40P01"), Conflict),
        (_dbapi(sa_exc.DBAPIError, "08006"), DatabaseUnavailable),
        (_dbapi(sa_exc.DBAPIError, "53300"), DatabaseUnavailable),
        (_dbapi(sa_exc.DBAPIError, "57014"), DatabaseUnavailable),
        (_dbapi(sa_exc.DBAPIError, "57P01"), DatabaseUnavailable),
        (_dbapi(sa_exc.OperationalError), DatabaseUnavailable),
        (_dbapi(sa_exc.InterfaceError), DatabaseUnavailable),
        (sa_exc.TimeoutError("QueuePool limit reached"), DatabaseUnavailable),
        (ConnectionRefusedError(111, "Connect call failed"), DatabaseUnavailable),
        (TimeoutError(), DatabaseUnavailable),
    ],
)
def test_database_failures_are_the_problems_they_are_to_the_caller(
    error: Exception, problem: type
) -> None:
    found = database_problem(error)
    assert type(found) is problem
    assert "secret" not in (found.detail or "")
    if problem is DatabaseUnavailable:
        assert int(found.headers["Retry-After"]) > 0


@pytest.mark.parametrize(
    "error",
    [_dbapi(sa_exc.ProgrammingError, "42P01"), _dbapi(sa_exc.DataError, "22P02"), ValueError()],
)
def test_a_bug_stays_a_bug(error: Exception) -> None:
    assert database_problem(error) is None


class _Raising:
    """A middleware that fails before the app's own handlers can see it."""

    def __init__(self, app: ASGIApp, error: Exception) -> None:
        self.app, self.error = app, error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/in-middleware":
            raise self.error
        await self.app(scope, receive, send)


def _app(error: Exception) -> FastAPI:
    app = FastAPI()
    app.state.engine = object()  # an app with a database of its own
    install_error_handlers(app)
    app.add_middleware(_Raising, error=error)

    @app.get("/in-route")
    async def in_route() -> None:
        raise error

    return app


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (_dbapi(sa_exc.IntegrityError, "23505"), 409),
        (_dbapi(sa_exc.OperationalError), 503),
        (_dbapi(sa_exc.ProgrammingError, "42P01"), 500),
    ],
)
async def test_a_database_error_escaping_a_route_is_a_problem(
    error: Exception, status: int
) -> None:
    transport = httpx.ASGITransport(app=_app(error), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/in-route")
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    assert "secret" not in r.text and "INSERT" not in r.text


async def test_a_database_error_escaping_a_middleware_is_a_problem_too() -> None:
    app = _app(ConnectionRefusedError(111, "Connect call failed ('secret-host', 5432)"))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answers = await asyncio.gather(*(client.get("/in-middleware") for _ in range(3)))
    assert [r.status_code for r in answers] == [503] * 3
    assert "secret" not in answers[0].text and answers[0].headers["retry-after"]
