"""Tokens, and the few steps most funding tests start with."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from funding.main import MIGRATIONS
from funding.seed.loader import load
from funding.settings import FundingSettings
from tdi_kit import migrations
from tdi_kit.testing import bearer

M = 100_000_000
K = 100_000

ADMIN = bearer("admin", sub="admin-user")
BPI = bearer("funding:write", org="bpifrance", sub="agent-bpi")
BDT = bearer("funding:write", org="banque-des-territoires", sub="agent-bdt")
ANCT = bearer("funding:write", org="anct", sub="agent-anct")


def settings(url: str, **overrides: Any) -> FundingSettings:
    return FundingSettings(database_url=url, environment="test", log_json=False, **overrides)


async def migrated_and_seeded(url: str) -> None:
    await migrations.migrate_and_seed(url, MIGRATIONS, load)


async def make_envelope(
    client: httpx.AsyncClient,
    *,
    code: str = "test-envelope",
    operator: str = "bpifrance",
    tranches: dict[int, int] | None = None,
    rules: dict[str, Any] | None = None,
    themes: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    tranches = {2024: 100 * M} if tranches is None else tranches
    r = await client.post(
        "/api/v1/envelopes",
        json={
            "code": code,
            "operator_code": operator,
            "name": f"Test envelope {code}",
            "kind": "grant",
            "themes": themes or ["innovation"],
            "start_year": min(tranches, default=2024),
            "end_year": max(tranches, default=2024),
            "tranches": [{"year": y, "amount_cents": a} for y, a in tranches.items()],
            "rules": rules or {},
        },
        headers=headers or ADMIN,
    )
    assert r.status_code == 201, r.text
    return r.json()


def allocation_body(**fields: Any) -> dict[str, Any]:
    return {
        "envelope_code": "test-envelope",
        "year": 2024,
        "territory_code": "ti-2708",
        "title": "Ligne de production",
        "beneficiary_name": "Entreprise test",
        "amount_cents": 3 * M,
        "status": "committed",
        **fields,
    }


async def allocate(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None, **fields: Any
) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/allocations", json=allocation_body(**fields), headers=headers or ADMIN
    )
    assert r.status_code == 201, r.text
    return r.json()


@contextmanager
def selects(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SELECTs `engine` runs while the block runs, as they are run (clear it between
    requests): what a test of statements per request counts."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
