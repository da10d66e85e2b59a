"""Answers kept under the register's data version (`tdi_kit.dataversions`): never stale after a
committed write, whoever commits it; and the territories' communes, read by index, are the
communes the former statement listed, in the same order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from registry_testing import API, FreshRegistry
from sqlalchemy import select, text, union
from sqlalchemy.ext.asyncio import AsyncSession

from registry.main import create_app
from registry.models import Commune, Territory, TerritoryCommune, TerritoryMember
from registry.settings import RegistrySettings
from tdi_kit.app import ServiceApp
from tdi_kit.conditional import etag_for
from tdi_kit.db import create_engine
from tdi_kit.testing import asgi_client, bearer

WRITER = bearer("registry:write", sub="editor")


@pytest.fixture(scope="module")
async def committing_app(fresh_registry: FreshRegistry) -> AsyncIterator[ServiceApp]:
    """The registry on its own database, each request a transaction that commits for real."""
    app = create_app(
        RegistrySettings(
            database_url=fresh_registry.url,
            environment="test",
            log_json=False,
            webhooks_dispatcher="external",
        )
    )
    yield app
    await app.state.engine.dispose()


def _phase(programme: dict[str, Any], phase: int) -> dict[str, Any]:
    return next(p for p in programme["phases"] if p["phase"] == phase)["territories"]


@asynccontextmanager
async def archived_by_another_process(url: str, code: str) -> AsyncIterator[None]:
    """`code` archived by a connection of its own, committed, then restored: a write that no
    cache of the app's process can hear of, only the database can say."""
    other = create_engine(url)
    try:
        for status in ("archived", "active"):
            async with other.begin() as connection:
                await connection.execute(
                    text("UPDATE territories SET status = :status WHERE code = :code"),
                    {"status": status, "code": code},
                )
            if status == "archived":
                yield
    finally:
        await other.dispose()


async def _read_around_a_write(app: ServiceApp, url: str, path: str) -> list[Any]:
    """What `path` answers before (twice: the second one kept), during and after the write."""
    async with asgi_client(app) as c:
        seen = [(await c.get(path)).json() for _ in range(2)]
        async with archived_by_another_process(url, "ti-2708"):
            seen.append((await c.get(path)).json())
        seen.append((await c.get(path)).json())
    assert seen[1] == seen[0] and seen[3] == seen[0]
    return [seen[0], seen[2]]


async def test_the_programme_follows_a_write_committed_by_another_process(
    committing_app: ServiceApp, fresh_registry: FreshRegistry
) -> None:
    before, after = await _read_around_a_write(
        committing_app, fresh_registry.url, f"{API}/programme"
    )
    counts, now = _phase(before, 2)["by_status"], _phase(after, 2)["by_status"]
    assert now.get("archived", 0) == counts.get("archived", 0) + 1
    assert now["active"] == counts["active"] - 1


async def test_a_page_of_territories_follows_a_write_committed_by_another_process(
    committing_app: ServiceApp, fresh_registry: FreshRegistry
) -> None:
    page = f"{API}/territories?status=archived&phase=2&limit=1000"
    before, after = await _read_around_a_write(committing_app, fresh_registry.url, page)
    assert after["total"] == before["total"] + 1
    assert "ti-2708" in {t["code"] for t in after["items"]}


async def test_the_programme_follows_a_write_through_the_api(committing_app: ServiceApp) -> None:
    async with asgi_client(committing_app) as c:
        before = await c.get(f"{API}/programme")
        etag = (await c.get(f"{API}/territories/ti-2707", headers=WRITER)).headers["etag"]
        r = await c.post(f"{API}/territories/ti-2707/archive", headers={**WRITER, "If-Match": etag})
        assert r.status_code == 200, r.text
        after = await c.get(f"{API}/programme")
        r = await c.patch(
            f"{API}/territories/ti-2707",
            json={"status": "active"},
            headers={**WRITER, "If-Match": r.headers["etag"]},
        )
        assert r.status_code == 200, r.text
        again = await c.get(f"{API}/programme")
    assert after.headers["etag"] != before.headers["etag"]
    archived = _phase(after.json(), 2)["by_status"].get("archived", 0)
    assert archived == _phase(before.json(), 2)["by_status"].get("archived", 0) + 1
    assert again.content == before.content and again.headers["etag"] == before.headers["etag"]


async def test_every_write_changes_the_data_version_in_its_transaction(
    session: AsyncSession,
) -> None:
    """The triggers of migration 0006, on each table the kept answers are computed from."""
    version = text("SELECT version FROM data_versions WHERE name = 'register'")
    seen = [await session.scalar(version)]
    for change in (
        "UPDATE territories SET name = name || ' ' WHERE code = 'ti-2708'",
        "UPDATE programme_phases SET caveat = 'x' WHERE phase = 2",
        "UPDATE programme_milestones SET caveat = 'x' WHERE phase = 2",
        "UPDATE regions SET name = name || ' ' WHERE code = '84'",
        "DELETE FROM territory_outlines WHERE territory_code = 'ti-2708'",
    ):
        await session.execute(text(change))
        seen.append(await session.scalar(version))
    assert None not in seen
    # Every change but the last one (an outline: no kept answer reads it) gave a new version.
    assert len(set(seen[:5])) == 5 and seen[5] == seen[4]


def _former_communes(code: str, phase: int) -> Any:
    """The statement the territory's communes were listed by before they were read by index."""
    stmt = select(Commune.insee)
    if phase == 1:
        listed = select(TerritoryCommune.insee).where(TerritoryCommune.territory_code == code)
        return stmt.where(Commune.insee.in_(listed))
    members = select(TerritoryMember.siren).where(TerritoryMember.territory_code == code)
    covered = union(
        select(Commune.insee).where(Commune.epci_siren.in_(members)),
        select(Commune.insee).where(Commune.siren.in_(members)),
    )
    return stmt.where(Commune.insee.in_(covered))


async def test_each_territorys_communes_are_the_former_statements_in_order(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    territories = (await session.execute(select(Territory.code, Territory.phase))).all()
    assert len(territories) > 300
    for code, phase in territories:
        expected = list(await session.scalars(_former_communes(code, phase)))
        r = await client.get(f"{API}/territories/{code}/communes", params={"limit": 1000})
        page = r.json()
        assert [c["insee"] for c in page["items"]] == sorted(expected), code
        assert page["total"] == len(expected), code
    by_name = await client.get(f"{API}/territories/ti-2708/communes", params={"sort": "-name"})
    names = [(c["name"], c["insee"]) for c in by_name.json()["items"]]
    assert len(names) == 50 and by_name.json()["total"] == 197
    assert "link" in by_name.headers


async def test_a_kept_page_of_territories_answers_if_none_match(client: httpx.AsyncClient) -> None:
    """The kept ETag is the hash of the body, as the conditional middleware gives it."""
    plain = {"accept-encoding": "identity"}
    params = {"limit": "100", "phase": "2", "sort": "-name"}
    r = await client.get(f"{API}/territories", params=params, headers=plain)
    assert r.headers["etag"] == etag_for(r.content)
    again = await client.get(
        f"{API}/territories", params=params, headers={**plain, "If-None-Match": r.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == r.headers["etag"]
    assert again.headers["link"] == r.headers["link"]
    assert again.headers["vary"] == r.headers["vary"]
    assert "Authorization" in r.headers["vary"]


async def test_two_databases_at_the_same_version_keep_their_own_answers() -> None:
    """Two apps in one process (a test's, or a tool's) whose databases stand at the same data
    version never get each other's answer: the answers are kept per reader."""
    from tdi_kit.dataversions import Kept

    class AtVersion:
        async def one(self, _stmt: object, **_params: object) -> tuple[int]:
            return (7,)

    kept: Kept[str] = Kept("register")
    first, second = AtVersion(), AtVersion()

    async def answer(value: str) -> str:
        return value

    assert await kept.get(first, "page", lambda: answer("first's")) == "first's"  # type: ignore[arg-type]
    assert await kept.get(second, "page", lambda: answer("second's")) == "second's"  # type: ignore[arg-type]
    assert await kept.get(first, "page", lambda: answer("computed again")) == "first's"  # type: ignore[arg-type]


async def _committed_by_hand(
    url: str, *statements: str, values: list[dict[str, Any]] | None = None
) -> None:
    """`statements` (with their `values`) in one transaction of a connection of its own,
    committed."""
    other = create_engine(url)
    try:
        async with other.begin() as connection:
            for statement, given in zip(statements, values or [{}] * len(statements), strict=True):
                assert (await connection.execute(text(statement), given)).rowcount > 0, statement
    finally:
        await other.dispose()


async def test_the_lists_pages_follow_changes_committed_by_another_process(
    committing_app: ServiceApp, fresh_registry: FreshRegistry
) -> None:
    """Migration 0008: the communes, groupements, members, listed communes and organisations
    change the register's version at commit, and the pages kept under it follow."""
    url = fresh_registry.url
    paths = {
        "commune": f"{API}/communes?department=90&limit=5",
        "groupement": f"{API}/groupements?department=90&limit=5",
        "territory's": f"{API}/territories/ti-2708/communes?limit=500",
        "organisation": f"{API}/organisations?limit=100",
    }
    async with asgi_client(committing_app) as c:
        before = {name: (await c.get(path)).json() for name, path in paths.items()}
        assert {name: (await c.get(path)).json() for name, path in paths.items()} == before
        commune = before["commune"]["items"][0]
        groupement = before["groupement"]["items"][0]
        organisation = before["organisation"]["items"][0]
        member = (await c.get(f"{API}/territories/ti-2708")).json()["members"][0]["siren"]
        changes = [
            f"UPDATE communes SET name = 'Renommée' WHERE insee = '{commune['insee']}'",
            f"UPDATE groupements SET name = 'Renommé' WHERE siren = '{groupement['siren']}'",
            f"UPDATE organisations SET name = 'Renommée' WHERE code = '{organisation['code']}'",
        ]
        await _committed_by_hand(url, *changes)
        after = {name: (await c.get(path)).json() for name, path in paths.items()}
        assert after["commune"]["items"][0]["name"] == "Renommée"
        assert after["groupement"]["items"][0]["name"] == "Renommé"
        assert "Renommée" in {o["name"] for o in after["organisation"]["items"]}
        # A member taken away (and put back) by hand: the territory's communes follow.
        member_row = (
            f"FROM territory_members WHERE territory_code = 'ti-2708' AND siren = '{member}'"
        )
        other = create_engine(url)
        try:
            async with other.begin() as connection:
                saved = dict(
                    (await connection.execute(text(f"SELECT * {member_row}"))).mappings().one()
                )
            await _committed_by_hand(url, f"DELETE {member_row}")
            fewer = (await c.get(paths["territory's"])).json()
            assert fewer["total"] < after["territory's"]["total"]
            async with other.begin() as connection:
                await connection.execute(
                    text(
                        f"INSERT INTO territory_members ({', '.join(saved)}) "
                        f"VALUES ({', '.join(':' + k for k in saved)})"
                    ),
                    saved,
                )
        finally:
            await other.dispose()
        assert (await c.get(paths["territory's"])).json() == after["territory's"]
        # The names put back, for the other tests on this database.
        await _committed_by_hand(
            url,
            f"UPDATE communes SET name = :n WHERE insee = '{commune['insee']}'",
            f"UPDATE groupements SET name = :n WHERE siren = '{groupement['siren']}'",
            f"UPDATE organisations SET name = :n WHERE code = '{organisation['code']}'",
            values=[{"n": commune["name"]}, {"n": groupement["name"]}, {"n": organisation["name"]}],
        )
        assert {name: (await c.get(path)).json() for name, path in paths.items()} == before


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE groupement_departments SET department_code = department_code "
        "WHERE siren = '200069052'",
        "UPDATE territory_communes SET insee = insee WHERE territory_code = '2708'",
        "UPDATE communes SET population = population WHERE insee = '90010'",
    ],
)
async def test_each_table_of_migration_0008_changes_the_version_at_commit(
    committing_app: ServiceApp, fresh_registry: FreshRegistry, change: str
) -> None:
    version = text("SELECT version FROM data_versions WHERE name = 'register'")
    other = create_engine(fresh_registry.url)
    try:
        async with other.connect() as connection:
            before = await connection.scalar(version)
            await connection.commit()
        await _committed_by_hand(fresh_registry.url, change)
        async with other.connect() as connection:
            assert await connection.scalar(version) != before, change
            await connection.commit()
    finally:
        await other.dispose()
