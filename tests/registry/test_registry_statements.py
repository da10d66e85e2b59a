"""Every registry list answers a page in a fixed number of SELECTs, whatever its size: the page
and its total in one statement (a territory's communes read the territory's phase first)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import event

from registry import pages
from registry.territories import service as territories
from tdi_kit.app import ServiceApp

# Every page is kept under the register's data version (tdi_kit/dataversions.py; the
# territories' in `territories.service.PAGES`, the others in `registry.pages`): read, the data
# version then the page (a territory's communes: its phase, then the page); kept, the data
# version alone.
LISTS = [
    ("/api/v1/territories", {}, 2),
    ("/api/v1/territories", {"phase": "2", "sort": "-name"}, 2),
    ("/api/v1/groupements", {}, 2),
    ("/api/v1/groupements", {"sort": "-population", "q": "communaute"}, 2),
    ("/api/v1/communes", {}, 2),
    ("/api/v1/communes", {"department": "90", "sort": "name"}, 2),
    ("/api/v1/organisations", {}, 2),
    ("/api/v1/programme/milestones", {}, 2),
    ("/api/v1/territories/ti-2708/communes", {}, 3),
    ("/api/v1/territories/2708/communes", {"sort": "-name"}, 3),
]


@pytest.mark.parametrize(("path", "params", "selects"), LISTS)
async def test_a_registry_list_page_costs_the_same_statements_whatever_its_size(
    client: httpx.AsyncClient,
    registry_app: ServiceApp,
    path: str,
    params: dict[str, str],
    selects: int,
) -> None:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engine = registry_app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    counts: dict[int, int] = {}
    territories.PAGES.clear()
    pages.PAGES.clear()
    try:
        for size in (10, 100, 500):
            statements.clear()
            r = await client.get(path, params=params | {"limit": str(size)})
            assert r.status_code == 200, r.text
            body = r.json()
            assert len(body["items"]) == min(size, body["total"])
            counts[size] = len(
                [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
            )
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert counts == {10: selects, 100: selects, 500: selects}, counts
    # Asked again while nothing changed: the data version alone.
    statements.clear()
    event.listen(engine, "before_cursor_execute", count)
    try:
        kept = await client.get(path, params=params | {"limit": "500"})
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert kept.content == r.content
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
