"""A contract's amendments and history page as every list does (cursor, `Link`, total), in one
statement a page, and answer 404 for a contract that does not exist."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import event

from tdi_kit.app import ServiceApp
from tdi_kit.testing import bearer

WRITER = bearer("contracts:write")


async def _amend(client: httpx.AsyncClient, contract_id: str, etag: str, title: str) -> str:
    r = await client.post(
        f"/api/v1/contracts/{contract_id}/amendments",
        json={"title": title, "changes": [{"op": "update_contract", "fields": {"notes": title}}]},
        headers=WRITER | {"If-Match": etag},
    )
    assert r.status_code == 201, r.text
    return (await client.get(f"/api/v1/contracts/{contract_id}")).headers["etag"]


async def _walk(client: httpx.AsyncClient, url: str, params: dict[str, Any]) -> list[Any]:
    """Every item, one per page, by each page's `Link: rel="next"`; checks the totals."""
    whole = (await client.get(url, params=params)).json()
    items: list[Any] = []
    r = await client.get(url, params=params | {"limit": 1})
    while True:
        assert r.status_code == 200, r.text
        page = r.json()
        assert page["total"] == whole["total"] and len(page["items"]) <= 1
        items.extend(page["items"])
        if page["next_cursor"] is None:
            assert "link" not in r.headers
            break
        link = r.headers["link"]
        r = await client.get(link[1 : link.index(">")])
    assert items == whole["items"]
    return items


async def test_amendments_and_history_page_by_cursor(
    client: httpx.AsyncClient, signed_contract: dict[str, Any], contracts_app: ServiceApp
) -> None:
    contract_id = signed_contract["id"]
    etag = signed_contract["etag"]
    for n in (1, 2, 3):
        etag = await _amend(client, contract_id, etag, f"Avenant n°{n}")
    base = f"/api/v1/contracts/{contract_id}"

    amendments = await _walk(client, f"{base}/amendments", {})
    assert [a["number"] for a in amendments] == [1, 2, 3]
    # Who recorded each one: the organisation is public, the token's subject is not.
    assert all(a["org"] is None and a["created_by"] is None for a in amendments)
    reverse = await _walk(client, f"{base}/amendments", {"sort": "-number"})
    assert [a["number"] for a in reverse] == [3, 2, 1]

    newest_first = await _walk(client, f"{base}/history", {})
    versions = [e["version"] for e in newest_first]
    assert versions == sorted(versions, reverse=True) and versions[-1] == 1
    oldest_first = await _walk(client, f"{base}/history", {"sort": "version"})
    assert oldest_first == newest_first[::-1]
    assert [e["amendment_number"] for e in oldest_first[-3:]] == [1, 2, 3]

    # A page and its total are one statement, whatever the page's size.
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engine = contracts_app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for path in ("amendments", "history"):
            for size in (1, 100):
                statements.clear()
                r = await client.get(f"{base}/{path}", params={"limit": size})
                assert r.status_code == 200
                selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
                assert len(selects) == 1, statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_the_lists_of_an_unknown_contract_are_404(client: httpx.AsyncClient) -> None:
    unknown = uuid.uuid4()
    for path in ("amendments", "history"):
        r = await client.get(f"/api/v1/contracts/{unknown}/{path}")
        assert r.status_code == 404, r.text
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_a_contract_without_amendments_lists_none(
    client: httpx.AsyncClient, signed_contract: dict[str, Any]
) -> None:
    r = await client.get(f"/api/v1/contracts/{signed_contract['id']}/amendments")
    assert r.status_code == 200
    assert r.json() == {"items": [], "next_cursor": None, "total": 0}
