"""Every write of the registry commits its event (`registry/events.py`, issue 14): the right
type, subject, actor's organisation, version and payload; a refused write commits none."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from registry_testing import API, FreshRegistry, current_etag
from sqlalchemy import select
from suite_testing import race

from registry.events import EVENT_TYPES
from registry.main import create_app
from registry.models import outbox
from registry.settings import RegistrySettings
from tdi_kit.app import ServiceApp
from tdi_kit.events.sequencer import sequence
from tdi_kit.testing import asgi_client, bearer

MACONNAIS = "200070308"
COEUR_DE_SOLOGNE = "200000800"
ORG = "anct"


@pytest.fixture
def editor() -> dict[str, str]:
    """A registry editor of an organisation: the events name it as their actor."""
    return bearer("registry:write", sub="editor", org=ORG)


async def events_of(app: ServiceApp, code: str) -> list[Any]:
    """The territory's events, in the order they were written (in the test's transaction)."""
    async with app.state.sessionmaker() as session:
        rows = await session.execute(
            select(outbox)
            .where(outbox.c.subject_kind == "territory", outbox.c.subject_id == code)
            .order_by(outbox.c.seq)
        )
        return list(rows.all())


def payload(row: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads(row.payload)
    return loaded


async def write(
    client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str], **kw: Any
) -> dict[str, Any]:
    code = path.split("/")[2]
    etag = await current_etag(client, code)
    r = await client.request(method, f"{API}{path}", headers={**headers, "If-Match": etag}, **kw)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def check(row: Any, type_: str, code: str, served: dict[str, Any]) -> dict[str, Any]:
    assert row.type == type_ and type_ in EVENT_TYPES
    assert (row.subject_kind, row.subject_id) == ("territory", code)
    assert row.actor_org == ORG
    assert row.version == served["version"]
    assert row.audience is None  # territories are public records
    assert row.position is None  # sequenced once committed, by the sequencer
    body = payload(row)
    assert body["record"] == served
    return body


async def test_creating_a_territory_emits_territory_created_with_the_record(
    client: httpx.AsyncClient, editor: dict[str, str], registry_app: ServiceApp
) -> None:
    r = await client.post(
        f"{API}/territories",
        json={"code": "ti-9901", "name": "Val de Saône", "phase": 2, "members": [MACONNAIS]},
        headers=editor,
    )
    assert r.status_code == 201, r.text
    [row] = await events_of(registry_app, "ti-9901")
    body = check(row, "territory.created", "ti-9901", r.json())
    assert "changed" not in body
    assert row.version == 1


async def test_renaming_emits_territory_changed_naming_the_field(
    client: httpx.AsyncClient, editor: dict[str, str], registry_app: ServiceApp
) -> None:
    before = len(await events_of(registry_app, "ti-2708"))
    served = await write(
        client, "PATCH", "/territories/ti-2708", editor, json={"name": "Nord Franche-Comté II"}
    )
    rows = await events_of(registry_app, "ti-2708")
    assert len(rows) == before + 1
    body = check(rows[-1], "territory.changed", "ti-2708", served)
    assert body["changed"] == ["name"]


async def test_archiving_and_restoring_emit_their_own_types(
    client: httpx.AsyncClient, editor: dict[str, str], registry_app: ServiceApp
) -> None:
    archived = await write(client, "POST", "/territories/ti-2708/archive", editor)
    restored = await write(
        client, "PATCH", "/territories/ti-2708", editor, json={"status": "active"}
    )
    *_, archive, restore = await events_of(registry_app, "ti-2708")
    assert check(archive, "territory.archived", "ti-2708", archived)["changed"] == ["status"]
    assert check(restore, "territory.restored", "ti-2708", restored)["changed"] == ["status"]
    assert restore.version == archive.version + 1


async def test_members_added_changed_and_removed_emit_their_events_naming_the_siren(
    client: httpx.AsyncClient, editor: dict[str, str], registry_app: ServiceApp
) -> None:
    path = f"/territories/ti-2708/members/{COEUR_DE_SOLOGNE}"
    added = await write(client, "PUT", path, editor)
    changed = await write(client, "PUT", path, editor, json={"coverage": 0.5})
    removed = await write(client, "DELETE", path, editor)
    *_, a, c, d = await events_of(registry_app, "ti-2708")
    for row, type_, served in [
        (a, "territory.member_added", added),
        (c, "territory.member_changed", changed),
        (d, "territory.member_removed", removed),
    ]:
        body = check(row, type_, "ti-2708", served)
        assert body["siren"] == COEUR_DE_SOLOGNE
        assert "members" in body["changed"]
    assert "departments" in payload(a)["changed"]  # the geography followed the member
    assert [a.version + 1, a.version + 2] == [c.version, d.version]


async def test_governance_emits_governance_changed_without_the_contacts(
    client: httpx.AsyncClient, editor: dict[str, str], registry_app: ServiceApp
) -> None:
    governance = {
        "binome": {"elected_official": {"name": "Marie Biguinet", "role": "Présidente"}},
        "chef_de_projet": {"name": "Claire Martin", "email": "claire.martin@example.fr"},
        "referents": [{"organisation_code": "bpifrance", "name": "Luc", "email": "l@b.fr"}],
    }
    served = await write(client, "PUT", "/territories/ti-2708/governance", editor, json=governance)
    assert served["governance"]["chef_de_projet"]["email"] == "claire.martin@example.fr"
    *_, row = await events_of(registry_app, "ti-2708")
    assert row.type == "territory.governance_changed"
    body = payload(row)
    assert body["changed"] == ["governance"]
    # Personal data stays out of events, as out of anonymous answers: the e-mails are null.
    record_governance = body["record"]["governance"]
    assert record_governance["chef_de_projet"] == {
        **served["governance"]["chef_de_projet"],
        "email": None,
    }
    assert record_governance["referents"][0]["email"] is None
    assert "claire.martin" not in row.payload
    assert {**body["record"], "governance": None} == {**served, "governance": None}


async def test_a_refused_write_emits_nothing(
    client: httpx.AsyncClient, editor: dict[str, str], registry_app: ServiceApp
) -> None:
    before = await events_of(registry_app, "ti-2708")
    stale = await client.patch(
        f"{API}/territories/ti-2708", json={"name": "x"}, headers={**editor, "If-Match": '"0"'}
    )
    assert stale.status_code == 412
    unknown = await client.put(
        f"{API}/territories/ti-2708/members/999999999",
        headers={**editor, "If-Match": await current_etag(client, "ti-2708")},
    )
    assert unknown.status_code == 422, unknown.text
    assert await events_of(registry_app, "ti-2708") == before


async def test_an_admin_write_has_no_actor_organisation(
    client: httpx.AsyncClient, registry_app: ServiceApp
) -> None:
    await write(client, "PATCH", "/territories/ti-2708", bearer("admin"), json={"name": "NFC"})
    *_, row = await events_of(registry_app, "ti-2708")
    assert row.actor_org is None and row.type == "territory.changed"


@pytest.mark.postgres_only
async def test_concurrent_writes_of_one_territory_commit_their_events_in_order(
    fresh_registry: FreshRegistry,
) -> None:
    """Racing writers of one territory (committing for real): each write that succeeded has its
    event, and the territory's events come in the feed's order as its versions went."""
    app = create_app(
        RegistrySettings(database_url=fresh_registry.url, environment="test", log_json=False)
    )
    try:
        async with asgi_client(app) as client:
            editor = bearer("registry:write", sub="racer", org=ORG)
            created = await client.post(
                f"{API}/territories",
                json={"code": "ti-9907", "name": "Course", "phase": 2},
                headers=editor,
            )
            assert created.status_code == 201, created.text
            answers = await race(
                6,
                lambda i: client.patch(
                    f"{API}/territories/ti-9907",
                    json={"name": f"Course {i}"},
                    headers={**editor, "If-Match": "*"},
                ),
            )
        done = [r.json() for r in answers if r.status_code == 200]
        assert done, [r.text for r in answers]
        await sequence(app.state.engine)
        async with app.state.engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(outbox)
                    .where(outbox.c.subject_id == "ti-9907")
                    .order_by(outbox.c.position)
                )
            ).all()
        assert [r.version for r in rows] == list(range(1, len(done) + 2))
        assert [r.type for r in rows] == ["territory.created"] + ["territory.changed"] * len(done)
        by_version = {d["version"]: d["name"] for d in done}
        assert {r.version: payload(r)["record"]["name"] for r in rows[1:]} == by_version
    finally:
        await app.state.engine.dispose()
