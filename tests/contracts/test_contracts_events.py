"""Every write of the contracts service writes its events in the same transaction (issue 14).

Each test drives the public API, then reads the outbox (`events`) through the test's own
transaction: one event per contract change, named after what happened, and one per action the
write touched; a refused write leaves none.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson
from conftest import WRITER
from sqlalchemy import select
from suite_testing import Services

from contracts.models import outbox as events


async def _events(services: Services) -> list[dict[str, Any]]:
    async with services.contracts.state.sessionmaker() as session:
        rows = (await session.execute(select(events).order_by(events.c.seq))).all()
    return [r._asdict() | {"payload": orjson.loads(r.payload)} for r in rows]


async def _since(services: Services, seen: int) -> list[dict[str, Any]]:
    return (await _events(services))[seen:]


async def test_a_contract_and_its_actions_created_write_one_event_each(
    client: httpx.AsyncClient,
    rolled_back_services: Services,
    create_contract: Callable[..., Awaitable[dict[str, Any]]],
) -> None:
    seen = len(await _events(rolled_back_services))
    contract = await create_contract()
    new = await _since(rolled_back_services, seen)
    assert [e["type"] for e in new] == ["contract.created", "action.created", "action.created"]
    first = new[0]
    assert first["subject_kind"] == "contract" and first["subject_id"] == contract["id"]
    assert first["version"] == contract["version"] == 1
    assert first["audience"] is None  # contracts are public, and so are their events
    assert first["payload"]["record"]["id"] == contract["id"]
    assert first["payload"]["record"]["title"] == contract["title"]
    assert {e["subject_id"] for e in new[1:]} == {a["id"] for a in contract["actions"]}
    assert all(e["payload"]["record"]["version"] == e["version"] for e in new[1:])


async def test_signatures_moves_and_amendments_are_named_events(
    client: httpx.AsyncClient,
    rolled_back_services: Services,
    signed_contract: dict[str, Any],
) -> None:
    contract_id = signed_contract["id"]
    history = [e for e in await _events(rolled_back_services) if e["subject_id"] == contract_id]
    # The last signature makes it signed; the earlier ones change the contract.
    assert history[-1]["type"] == "contract.signed"
    assert history[-1]["version"] == signed_contract["version"]
    assert {e["type"] for e in history[1:-1]} <= {"contract.changed", "contract.signed"}

    seen = len(await _events(rolled_back_services))
    fa1 = signed_contract["actions"][0]
    r = await client.post(
        f"/api/v1/contracts/{contract_id}/amendments",
        json={
            "title": "Avenant n°1",
            "changes": [
                {
                    "op": "update_action",
                    "action_id": fa1["id"],
                    "fields": {"budget_cents": 1_234_000_000},
                }
            ],
        },
        headers=WRITER | {"If-Match": signed_contract["etag"]},
    )
    assert r.status_code == 201, r.text
    new = await _since(rolled_back_services, seen)
    assert [(e["type"], e["subject_id"]) for e in new] == [
        ("contract.amended", contract_id),
        ("action.changed", fa1["id"]),
    ]
    action_event = new[1]
    assert [c["field"] for c in action_event["payload"]["changes"]] == ["budget_cents"]
    assert action_event["payload"]["record"]["budget_cents"] == 1_234_000_000

    seen += len(new)
    contract = await client.get(f"/api/v1/contracts/{contract_id}")
    started = await client.post(
        f"/api/v1/contracts/{contract_id}/start",
        headers=WRITER | {"If-Match": contract.headers["etag"]},
    )
    assert started.status_code == 200, started.text
    closed = await client.post(
        f"/api/v1/contracts/{contract_id}/close",
        headers=WRITER | {"If-Match": started.headers["etag"]},
    )
    assert closed.status_code == 200, closed.text
    new = await _since(rolled_back_services, seen)
    assert [e["type"] for e in new] == ["contract.in_progress", "contract.closed"]
    assert [e["version"] for e in new] == [started.json()["version"], closed.json()["version"]]

    # A refused write (the contract is closed: read-only) leaves no event.
    refused = await client.post(
        f"/api/v1/contracts/{contract_id}/cancel",
        headers=WRITER | {"If-Match": closed.headers["etag"]},
    )
    assert refused.status_code == 409
    assert await _since(rolled_back_services, seen + 2) == []


async def test_an_action_changed_and_removed_in_a_draft(
    client: httpx.AsyncClient,
    rolled_back_services: Services,
    create_contract: Callable[..., Awaitable[dict[str, Any]]],
) -> None:
    contract = await create_contract()
    fa1 = contract["actions"][0]
    seen = len(await _events(rolled_back_services))
    action = await client.get(f"/api/v1/actions/{fa1['id']}")
    changed = await client.patch(
        f"/api/v1/actions/{fa1['id']}",
        json={"title": "Nouveau titre"},
        headers=WRITER | {"If-Match": action.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    removed = await client.delete(
        f"/api/v1/actions/{fa1['id']}", headers=WRITER | {"If-Match": changed.headers["etag"]}
    )
    assert removed.status_code == 204, removed.text
    new = await _since(rolled_back_services, seen)
    assert [(e["type"], e["subject_kind"]) for e in new] == [
        ("contract.changed", "contract"),
        ("action.changed", "action"),
        ("contract.changed", "contract"),
        ("action.deleted", "action"),
    ]
    assert new[1]["payload"]["record"]["title"] == "Nouveau titre"
    assert new[3]["payload"]["record"] == {"id": fa1["id"], "contract_id": contract["id"]}
