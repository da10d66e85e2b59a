"""The HTTP plumbing every service takes from the kit: typed identifiers, the clock, list
answers (page or CSV), stored-document answers, problem documentation, the UUID column type,
the migrate-then-seed recipe, and settings without a database for the gateway."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import httpx
import orjson
import pytest
from fastapi import FastAPI, Query, Request, Response
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import Column, MetaData, Table, insert, select

from gateway.settings import GatewaySettings
from tdi_kit import clock
from tdi_kit.app import problem_responses
from tdi_kit.auth import OPTIONAL_BEARER, writer
from tdi_kit.db import Uuid, create_engine
from tdi_kit.documents import conditional_document, document_response, write_response
from tdi_kit.errors import install_error_handlers
from tdi_kit.identifiers import DepartmentCode, OrganisationCode, RegionCode, TerritoryCode
from tdi_kit.pagination import ListParamsDep, documents_answer, list_answer


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        (TerritoryCode, ["ti-2708", "2707"], ["TI-2708", "ti-27080", "ti_2708", "27", ""]),
        (OrganisationCode, ["bpifrance", "region-84"], ["Bpifrance", "-x", "a", "a" * 65]),
        (RegionCode, ["27", "84"], ["2", "270", "2A"]),
        (DepartmentCode, ["25", "971", "2A"], ["2C", "1", "9710"]),
    ],
)
def test_each_identifier_type_holds_its_pattern(kind: Any, good: list[str], bad: list[str]) -> None:
    adapter = TypeAdapter(kind)
    for value in good:
        assert adapter.validate_python(value) == value
    for value in bad:
        with pytest.raises(ValidationError, match="pattern"):
            adapter.validate_python(value)


def test_the_clock_is_utc_and_a_test_can_freeze_and_advance_it() -> None:
    assert clock.now().tzinfo is dt.UTC
    at = dt.datetime(2026, 3, 1, 12, 0, 0, 500_000, tzinfo=dt.UTC)
    with clock.frozen(at) as advance:
        assert clock.now() == at
        assert clock.now_to_second() == at.replace(microsecond=0)
        assert clock.today() == dt.date(2026, 3, 1)
        advance(dt.timedelta(days=1))
        assert clock.now() == at + dt.timedelta(days=1)
    assert abs(clock.now() - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=5)
    with pytest.raises(ValueError, match="aware"), clock.frozen(dt.datetime(2026, 1, 1)):
        pass


def test_utc_gives_a_naive_timestamp_its_zone_and_keeps_an_aware_one() -> None:
    naive = dt.datetime(2026, 1, 1, 8)
    assert clock.utc(naive) == naive.replace(tzinfo=dt.UTC)
    paris = dt.datetime(2026, 1, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert clock.utc(paris) is paris


class Item(BaseModel):
    code: str
    label: str


ITEMS = [Item(code="a", label="=1+1"), Item(code="b", label="B")]
DOCS = [orjson.dumps(i.model_dump()).decode() for i in ITEMS]


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/items")
    async def items(
        request: Request,
        response: Response,
        params: ListParamsDep,
        territory: Annotated[TerritoryCode | None, Query()] = None,
    ) -> Any:
        response.headers["Vary"] = "Authorization"  # a route's own headers travel with the page
        return list_answer(
            request, response, params, ITEMS, "next", 7, model=Item, filename="items"
        )

    @app.get("/documents")
    async def docs(request: Request, params: ListParamsDep) -> Any:
        return documents_answer(
            request,
            params,
            DOCS,
            None,
            2,
            filename="docs",
            columns=["code", "label"],
            row=lambda d: {**d, "label": d["label"].lower()},
            extra={"coverage": "partial"},
            headers={"Vary": "Authorization"},
        )

    @app.get("/doc")
    async def doc(request: Request) -> Any:
        return conditional_document(request, DOCS[0], '"e1"')

    return app


async def test_a_list_answers_a_page_with_its_link_or_every_row_as_csv() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        page = await client.get("/items", params={"limit": 2, "territory": "ti-2708"})
        assert page.json() == {
            "items": [i.model_dump() for i in ITEMS],
            "next_cursor": "next",
            "total": 7,
        }
        assert page.headers["vary"] == "Authorization"
        assert page.headers["link"] == '</items?territory=ti-2708&limit=2&cursor=next>; rel="next"'
        csv = await client.get("/items", headers={"Accept": "text/csv"})
        assert csv.headers["content-type"].startswith("text/csv")
        assert csv.text.splitlines() == ["\ufeffcode,label", "a,'=1+1", "b,B"]
        refused = await client.get("/items", params={"territory": "ti-27"})
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "territory"


async def test_a_list_of_stored_documents_joins_them_or_exports_their_rows() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        page = await client.get("/documents")
        assert (
            page.text
            == '{"items":['
            + ",".join(DOCS)
            + '],"next_cursor":null,"total":2,"coverage":"partial"}'
        )
        assert page.headers["vary"] == "Authorization"
        csv = await client.get("/documents", params={"format": "csv"})
        assert csv.text.splitlines() == ["\ufeffcode,label", "a,'=1+1", "b,b"]


async def test_a_stored_document_answers_304_to_its_own_etag() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        full = await client.get("/doc")
        assert (full.status_code, full.text, full.headers["etag"]) == (200, DOCS[0], '"e1"')
        again = await client.get("/doc", headers={"If-None-Match": '"e1"'})
        assert (again.status_code, again.content) == (304, b"")
    made = document_response(DOCS[0], '"e1"', 201, Location="/items/a")
    assert (made.status_code, made.headers["location"], made.headers["etag"]) == (
        201,
        "/items/a",
        '"e1"',
    )
    written = write_response(ITEMS[0], status_code=201, location="/items/a")
    assert written.headers["etag"].startswith('"') and written.body == DOCS[0].encode()


def test_problems_are_documented_one_way_with_a_service_s_own_words() -> None:
    docs = problem_responses(304, 404, 409, descriptions={409: "The money is not there."})
    assert docs[304] == {"description": "Not modified (`If-None-Match` names the current ETag)."}
    assert docs[409]["description"] == "The money is not there."
    assert docs[404]["description"] == "No record with this code."
    assert docs[404]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/ProblemRead"
    }
    assert OPTIONAL_BEARER == {"security": [{}, {"HTTPBearer": []}]}
    assert writer("funding:write").__metadata__[0].dependency is not None


async def test_the_uuid_column_takes_text_and_hands_back_the_standard_type(
    tmp_path: Any,
) -> None:
    table = Table("t", MetaData(), Column("id", Uuid, primary_key=True))
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/u.db")
    key = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.run_sync(table.metadata.create_all)
        await conn.execute(insert(table).values(id=str(key)))
        found = (await conn.execute(select(table.c.id).where(table.c.id == str(key)))).scalar_one()
    await engine.dispose()
    assert found == key and type(found) is uuid.UUID


def test_the_gateway_has_no_database_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", "postgresql://nowhere/none")
    settings = GatewaySettings()
    assert not hasattr(settings, "database_url")
    assert not any(name.startswith("database") for name in GatewaySettings.model_fields)
