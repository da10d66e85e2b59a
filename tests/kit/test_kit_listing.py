"""`tdi_kit.listing`: a list route's one dependency answers a page of models or of stored
documents, as JSON or CSV, and leaves the operation's query parameters where they were."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import orjson
from fastapi import FastAPI, Query
from pydantic import BaseModel

from tdi_kit.listing import ListingDep
from tdi_kit.pagination import RowsPage


class Thing(BaseModel):
    code: str
    rank: int


THINGS = [Thing(code="a", rank=1), Thing(code="b", rank=2)]


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/things")
    async def things(listing: ListingDep, rank: Annotated[int | None, Query()] = None) -> Any:
        found = [t for t in THINGS if rank is None or t.rank == rank]
        return listing.page((found, "next", len(found)), model=Thing, filename="things")

    @app.get("/documents")
    async def documents(listing: ListingDep) -> Any:
        page = RowsPage(rows=[(t.model_dump_json(),) for t in THINGS], next_cursor=None, total=2)
        return listing.documents(
            page, filename="docs", columns=["code", "rank"], row=dict, extra={"note": "kept"}
        )

    return app


async def _get(path: str, **params: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path, params=params)


async def test_a_page_of_models_as_json_then_as_csv() -> None:
    page = (await _get("/things", rank="2")).json()
    assert page == {"items": [{"code": "b", "rank": 2}], "next_cursor": "next", "total": 1}
    csv = await _get("/things", format="csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[1:] == ["a,1", "b,2"]


async def test_a_page_of_stored_documents_keeps_them_whole_with_the_extra_members() -> None:
    page = orjson.loads((await _get("/documents")).content)
    assert page["items"] == [t.model_dump() for t in THINGS]
    assert (page["total"], page["note"]) == (2, "kept")
    csv = await _get("/documents", format="csv")
    assert csv.text.splitlines()[1:] == ["a,1", "b,2"]


def test_the_list_parameters_follow_the_routes_own() -> None:
    operation = _app().openapi()["paths"]["/things"]["get"]
    names = [p["name"] for p in operation["parameters"]]
    assert names == ["rank", "limit", "cursor", "sort", "format"]
