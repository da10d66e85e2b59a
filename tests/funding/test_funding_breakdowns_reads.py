"""The dashboard's money (`/balances/breakdowns`) read through the driver: three kept
statements whatever the filters, built once per shape, and the same figures as `/balances`
grouped by each dimension alone, over the seed with movements of its own and demo ones."""

from __future__ import annotations

from typing import Any

import httpx
from funding_cases import ADMIN, M, allocate, make_envelope, selects

from funding.balances import queries
from funding.seed.demo import load_demo
from tdi_kit.app import ServiceApp

SCOPES: list[dict[str, Any]] = [
    {},
    {"include_demo": "true"},
    {"region": "27"},
    {"region": "84", "include_demo": "true"},
    {"operator": "bpifrance"},
    {"operator": "bpifrance", "region": "27"},
    {"operator": "none-such"},
]


async def _movements(client: httpx.AsyncClient, app: ServiceApp) -> None:
    # The demo data, and an envelope over two years with allocations in two Régions (2708
    # touches 27 and 84): every breakdown and scope has rows of its own.
    async with app.state.sessionmaker() as session:
        await load_demo(session, say=lambda _line: None)
        await session.commit()
    await make_envelope(client, tranches={2024: 40 * M, 2025: 20 * M}, themes=["innovation"])
    await allocate(client, amount_cents=3 * M, territory_code="2708")
    await allocate(client, amount_cents=2 * M, year=2025, reference="R-2")


async def test_the_breakdowns_are_the_balances_by_each_dimension(
    client: httpx.AsyncClient, funding_app: ServiceApp
) -> None:
    await _movements(client, funding_app)
    for scope in SCOPES:
        r = await client.get("/api/v1/balances/breakdowns", params=scope)
        assert r.status_code == 200, (scope, r.text)
        got = r.json()
        for dim in ("operator", "funder", "theme", "year", "envelope"):
            report = (await client.get("/api/v1/balances", params={**scope, "by": dim})).json()
            # In the same order but where the databases sort null codes apart (funder).
            assert sorted(got[f"by_{dim}"], key=repr) == sorted(report["items"], key=repr), (
                scope,
                dim,
            )
            assert got["totals"] == report["totals"], (scope, dim)
            assert [n for n in report["notes"] if n not in got["notes"]] == [], (scope, dim)
            assert got["reported"] == report["reported"], (scope, dim)
    # The seed's own money is there, named: operators and funders by the copy's names.
    seeded = (await client.get("/api/v1/balances/breakdowns")).json()
    assert seeded["totals"]["amount_cents"] > 60 * M
    assert any(i["operator_name"] for i in seeded["by_operator"])


async def test_the_breakdowns_read_three_kept_statements_whatever_the_filters(
    client: httpx.AsyncClient, funding_app: ServiceApp
) -> None:
    await _movements(client, funding_app)
    with selects(funding_app.state.engine) as statements:
        for scope in SCOPES:
            await client.get("/api/v1/balances/breakdowns", params=scope)  # the shape's first
            built = queries.kept_grouped.cache_info()
            statements.clear()
            r = await client.get("/api/v1/balances/breakdowns", params=scope, headers=ADMIN)
            assert r.status_code == 200, r.text
            # The finest grouping with its names, the nested envelopes, the reported figures
            # (none of a Région's: nor nested envelopes when no money is in scope).
            expected = 3 - ("region" in scope) - (scope.get("operator") == "none-such")
            assert len(statements) == expected, (scope, statements)
            # No statement built for this request: its shape's was kept.
            assert queries.kept_grouped.cache_info().misses == built.misses, scope
