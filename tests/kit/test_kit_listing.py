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


async def test_a_page_of_documents_with_their_etags_answers_the_middlewares_etag_and_304(
    monkeypatch: Any,
) -> None:
    """Rows of (document, its stored ETag) give the page the ETag the conditional middleware
    would give its bytes, and its 304, without hashing the page again once it was read."""
    from tdi_kit import listanswers
    from tdi_kit.conditional import ConditionalGetMiddleware, etag_for

    hashed: list[int] = []

    def counting(body: bytes) -> str:
        hashed.append(len(body))
        return etag_for(body)

    monkeypatch.setattr(listanswers, "etag_for", counting)
    docs = [t.model_dump_json() for t in THINGS]
    answers: dict[str, list[Any]] = {}
    for with_etags in (True, False):
        app = FastAPI()
        app.add_middleware(ConditionalGetMiddleware)

        @app.get("/documents")
        async def documents(listing: ListingDep, _etags: bool = with_etags) -> Any:
            rows = [(d, etag_for(d.encode())) if _etags else (d,) for d in docs]
            page = RowsPage(rows=rows, next_cursor="more", total=9)
            return listing.documents(page, filename="docs", columns=["code", "rank"], row=dict)

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            found = []
            for _ in range(3):
                r = await client.get("/documents?limit=2")
                again = await client.get(
                    "/documents?limit=2", headers={"If-None-Match": r.headers["etag"]}
                )
                found.append((r.status_code, r.content, r.headers["etag"], r.headers["link"]))
                found.append((again.status_code, again.content, sorted(again.headers.items())))
            answers[str(with_etags)] = found
    assert answers["True"] == answers["False"]
    assert answers["True"][1][0] == 304
    # The page hashed once, then its ETag kept for the same documents.
    assert len(hashed) == 1
