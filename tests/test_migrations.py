"""Each service's migrations build its models' schema, on SQLite and PostgreSQL, down to base and
up again, from one head; and the rules the database keeps against racing writers are there."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from tdi_kit import migrations, testing
from tdi_kit.conditional import etag_for
from tdi_kit.db import create_engine
from tdi_kit.text import fold


@dataclass(frozen=True)
class Schema:
    service: str
    # (table, columns) of unique constraints the migrations must create
    unique: tuple[tuple[str, list[str]], ...] = ()

    @property
    def script(self) -> str:
        return import_module(f"{self.service}.main").MIGRATIONS

    @property
    def metadata(self) -> Any:
        return import_module(f"{self.service}.models").Base.metadata


SCHEMAS = [
    # "One territory per phase for a groupement" is the database's rule too.
    Schema("registry", (("territory_members", ["phase", "siren"]),)),
    Schema("funding"),
    Schema(
        "contracts",
        (
            ("contracts", ["live_slot"]),
            ("contract_events", ["contract_id", "version"]),
            ("amendments", ["contract_id", "number"]),
        ),
    ),
]
by_service = pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: s.service)


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))


async def _unique_constraints(engine: AsyncEngine, table: str) -> list[list[str]]:
    async with engine.connect() as connection:
        found = await connection.run_sync(lambda c: inspect(c).get_unique_constraints(table))
    return sorted(sorted(u["column_names"]) for u in found)


@by_service
async def test_the_migrations_build_the_schema_down_to_base_and_up_again(schema: Schema) -> None:
    script, metadata = schema.script, schema.metadata
    async with testing.test_database(f"{schema.service}_migrations") as url:
        engine = create_engine(url)
        try:
            await migrations.upgrade(engine, script)
            assert await migrations.current_revisions(engine) == migrations.heads(script)
            assert await _tables(engine) == {*metadata.tables, *migrations.KIT_TABLES}
            assert await migrations.drift(engine, metadata) == []
            for table, columns in schema.unique:
                assert columns in await _unique_constraints(engine, table), table

            await migrations.downgrade(engine, script, "base")
            assert await _tables(engine) == set(migrations.KIT_TABLES)
            assert await migrations.current_revisions(engine) == set()

            await migrations.upgrade(engine, script)
            assert await _tables(engine) == {*metadata.tables, *migrations.KIT_TABLES}
            assert await migrations.drift(engine, metadata) == []
        finally:
            await engine.dispose()


@by_service
def test_there_is_one_head(schema: Schema) -> None:
    assert len(migrations.heads(schema.script)) == 1


@by_service
async def test_two_concurrent_migration_runs_on_a_fresh_database_both_succeed(
    schema: Schema,
) -> None:
    """Every replica or job may start the migrations: the migration lock lets one work, the
    other then finds the schema at its head (without it, one failed on a unique violation)."""
    async with testing.test_database(f"{schema.service}_race") as url:
        engines = [create_engine(url), create_engine(url)]
        try:
            await asyncio.gather(*(migrations.upgrade(e, schema.script) for e in engines))
            assert await migrations.current_revisions(engines[0]) == migrations.heads(schema.script)
            assert await migrations.drift(engines[0], schema.metadata) == []
        finally:
            for engine in engines:
                await engine.dispose()


async def test_the_migrate_job_waits_for_the_database_then_stops_naming_the_last_error() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    engine = create_engine(
        "postgresql+asyncpg://job:secret@127.0.0.1:9/nowhere", connect_timeout=0.5
    )
    try:
        with pytest.raises(migrations.DatabaseNotReady) as stopped:
            await migrations.wait_for_database(engine, within=10, clock=lambda: now[0], sleep=sleep)
    finally:
        await engine.dispose()
    message = str(stopped.value)
    # A bounded back-off: 0.5, 1, 2, 4, then what is left of the 10 s.
    assert slept == [0.5, 1.0, 2.0, 4.0, 2.5]
    assert "did not answer within 10 s (6 attempts)" in message
    assert "last error: ConnectionRefusedError" in message or "last error: OSError" in message
    assert "secret" not in message


async def test_the_migrate_job_goes_on_as_soon_as_the_database_answers() -> None:
    async with testing.test_database("wait") as url:
        engine = create_engine(url)
        try:
            assert await migrations.wait_for_database(engine, within=5) == 1
        finally:
            await engine.dispose()


# Data migrations: the programme's one theme vocabulary (funding 0004, contracts 0003).

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


async def test_funding_envelopes_take_the_programme_theme_codes_and_give_them_back() -> None:
    script = import_module("funding.main").MIGRATIONS
    envelopes = sa.table(
        "envelopes",
        *(sa.column(c) for c in ("code", "operator_code", "name", "kind", "theme_set")),
        *(sa.column(c) for c in ("description", "start_year", "end_year", "cap_waivable")),
        *(sa.column(c) for c in ("rules_text", "is_demo", "version")),
        sa.column("sources", sa.JSON),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    themes = sa.table("envelope_themes", sa.column("envelope_code"), sa.column("theme"))
    old = ["foncier", "reconversion-de-friches", "transports-et-mobilite"]
    async with testing.test_database("funding_themes") as url:
        engine = create_engine(url)
        try:
            await migrations.upgrade(engine, script, "0003")
            async with engine.begin() as connection:
                await connection.execute(
                    envelopes.insert().values(
                        code="bdt",
                        operator_code="banque-des-territoires",
                        name="Fonds propres",
                        kind="equity",
                        theme_set=",".join(sorted(old)),
                        description="",
                        start_year=2019,
                        end_year=2022,
                        cap_waivable=False,
                        rules_text="",
                        is_demo=False,
                        version=1,
                        sources=[],
                        created_at=NOW,
                        updated_at=NOW,
                    )
                )
                await connection.execute(
                    themes.insert(), [{"envelope_code": "bdt", "theme": t} for t in old]
                )

            async def held() -> tuple[list[str], str]:
                async with engine.connect() as connection:
                    rows = await connection.execute(sa.select(themes.c.theme).order_by("theme"))
                    theme_set = await connection.scalar(sa.select(envelopes.c.theme_set))
                return [r[0] for r in rows], theme_set

            await migrations.upgrade(engine, script)
            assert await held() == (["foncier", "friche", "mobilite"], "foncier,friche,mobilite")
            await migrations.downgrade(engine, script, "0003")
            assert await held() == (sorted(old), ",".join(sorted(old)))
        finally:
            await engine.dispose()


async def test_contracts_actions_take_the_programme_theme_codes_with_their_documents() -> None:
    script = import_module("contracts.main").MIGRATIONS
    territories = sa.table(
        "territories",
        sa.column("code"),
        sa.column("name"),
        sa.column("phase"),
        sa.column("checked_at", sa.DateTime(timezone=True)),
    )
    actions = sa.table(
        "actions",
        sa.column("id", sa.Uuid),
        *(sa.column(c) for c in ("territory_code", "phase", "code", "title", "status")),
        *(sa.column(c) for c in ("is_demo", "title_key", "search_text", "version")),
        *(sa.column(c) for c in ("document", "etag")),
        sa.column("sources", sa.JSON),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    themes = sa.table("action_themes", sa.column("action_id", sa.Uuid), sa.column("theme"))
    renamed, untouched = uuid.uuid4(), uuid.uuid4()
    async with testing.test_database("contracts_themes") as url:
        engine = create_engine(url)
        try:
            await migrations.upgrade(engine, script, "0002")
            async with engine.begin() as connection:
                await connection.execute(
                    territories.insert().values(
                        code="ti-2708", name="Nord Franche-Comté", phase=2, checked_at=NOW
                    )
                )
                for action_id, held in (
                    (renamed, ["fonds-vert", "friche", "reconversion-de-friches"]),
                    (untouched, ["hydrogene"]),
                ):
                    document = json.dumps(
                        {
                            "id": str(action_id),
                            "title": "Réservoirs à hydrogène",
                            "themes": held,
                            "owner": {"organisation_code": "region-27", "name": None},
                            "plan_lines": [{"financer_code": "bpifrance", "amount_cents": 1}],
                        },
                        ensure_ascii=False,
                        separators=(",", ":"),
                    )
                    await connection.execute(
                        actions.insert().values(
                            id=action_id,
                            territory_code="ti-2708",
                            phase=2,
                            code=f"FA-{action_id.hex[:6]}",
                            title="Réservoirs à hydrogène",
                            status="planned",
                            is_demo=False,
                            title_key="reservoirs a hydrogene",
                            search_text="fa reservoirs a hydrogene " + fold(" ".join(held)),
                            version=1,
                            document=document,
                            etag=etag_for(document.encode()),
                            sources=[],
                            created_at=NOW,
                            updated_at=NOW,
                        )
                    )
                    await connection.execute(
                        themes.insert(), [{"action_id": action_id, "theme": t} for t in held]
                    )
                before = dict(
                    (await connection.execute(sa.select(actions.c.id, actions.c.etag))).all()
                )

            await migrations.upgrade(engine, script, "0003")
            async with engine.connect() as connection:
                rows = {
                    r.id: r
                    for r in await connection.execute(
                        sa.select(
                            actions.c.id, actions.c.document, actions.c.etag, actions.c.search_text
                        )
                    )
                }
                held_now = sorted(
                    (await connection.execute(sa.select(themes.c.action_id, themes.c.theme))).all()
                )
            assert sorted(t for a, t in held_now if a == renamed) == [
                "friche",
                "transition-ecologique",
            ]
            document = json.loads(rows[renamed].document)
            assert document["themes"] == ["friche", "transition-ecologique"]
            assert document["title"] == "Réservoirs à hydrogène"
            assert rows[renamed].etag == etag_for(rows[renamed].document.encode())
            assert rows[renamed].etag != before[renamed]
            assert "fonds vert" not in rows[renamed].search_text
            assert "transition ecologique" in rows[renamed].search_text
            assert rows[untouched].etag == before[untouched]

            # 0004: the registry's names beside the organisation codes, and back.
            async def document_of(action_id: uuid.UUID) -> dict[str, Any]:
                async with engine.connect() as connection:
                    query = sa.select(actions.c.document).where(actions.c.id == action_id)
                    return dict(json.loads(await connection.scalar(query)))

            await migrations.upgrade(engine, script)
            named = await document_of(untouched)
            assert named["owner"]["organisation_name"] == "Région Bourgogne-Franche-Comté"
            assert named["plan_lines"][0]["financer_organisation_name"] == "Bpifrance"
            await migrations.downgrade(engine, script, "0003")
            assert "organisation_name" not in (await document_of(untouched))["owner"]
        finally:
            await engine.dispose()
