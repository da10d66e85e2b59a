"""A list page costs the same number of SQL statements whatever its size: no N+1."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import event

from contracts.seed.volume import load_volume
from tdi_kit.app import ServiceApp


async def test_a_list_page_is_one_statement_whatever_its_size_then_kept(
    client: httpx.AsyncClient, contracts_app: ServiceApp
) -> None:
    async with contracts_app.state.sessionmaker() as session:
        # 52 contracts of 10 actions: pages of 500 are full, whatever the filter below.
        await load_volume(session, contracts=52, actions_per_contract=10)
        await session.commit()

    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engine = contracts_app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    counts: dict[tuple[str, int], int] = {}
    try:
        for path, params in [
            ("/api/v1/actions", {}),
            ("/api/v1/actions", {"is_demo": "true", "sort": "-budget_cents"}),
            ("/api/v1/contracts", {"is_demo": "true"}),
        ]:
            for size in (10, 100, 500):
                statements.clear()
                r = await client.get(path, params=params | {"limit": size})
                assert r.status_code == 200
                assert len(r.json()["items"]) == min(size, 52 if "contracts" in path else size)
                counts[(path + str(params), size)] = len(statements)
                selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
                # The contracts' data version (`contracts.pages`), then the page.
                assert len(selects) == 2 and "data_versions" in selects[0], statements
                # Asked again while nothing changed: the version alone, the same bytes.
                statements.clear()
                again = await client.get(path, params=params | {"limit": size})
                assert again.content == r.content
                assert again.headers["etag"] == r.headers["etag"]
                selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
                assert len(selects) == 1 and "data_versions" in selects[0], statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
    for (key, _size), n in counts.items():
        assert n == counts[(key, 10)], counts
