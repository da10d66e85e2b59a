"""The acts on record load idempotently with their sources; demo data says it is demo."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
from sqlalchemy import update

from contracts.models import Contract
from contracts.seed.demo import load_demo
from contracts.seed.loader import load, record_id
from tdi_kit.app import ServiceApp


async def _load(app: ServiceApp, loader: Any) -> Any:
    async with app.state.sessionmaker() as session:
        counts = await loader(session, say=lambda _line: None)
        await session.commit()
    return counts


async def all_items(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    r = await client.get(path, params={"limit": 1000, **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_the_acts_on_record_load_once_with_what_is_known(
    client: httpx.AsyncClient, contracts_app: ServiceApp
) -> None:
    first = await _load(contracts_app, load)
    assert (first.added, first.changed, first.unchanged) == (11, 0, 0)
    again = await _load(contracts_app, load)
    assert (again.added, again.changed, again.unchanged) == (0, 0, 11)

    contracts = {c["title"]: c for c in await all_items(client, "/api/v1/contracts")}
    assert len(contracts) == 6
    assert all(c["sources"] and not c["is_demo"] for c in contracts.values())
    # Every act is signed, but for Grand Est Touraine's protocole, closed by its contract.
    assert {t: c["status"] for t, c in contracts.items() if c["status"] != "signed"} == {
        "Protocole d'accord Territoire d'industrie Grand Est Touraine": "closed"
    }
    nfc = contracts["Protocole d'accord Territoire d'industrie Nord Franche-Comté"]
    assert (nfc["territory_code"], nfc["phase"], nfc["kind"]) == ("2707", 1, "protocole")
    assert (nfc["signed_on"], nfc["signature_place"]) == ("2019-03-19", "Sochaux")
    # A month known but not the day: the date stays empty, the note says what is known.
    montbard = contracts["Protocole d'accord Territoire d'industrie Montbardois-Auxois"]
    assert montbard["signed_on"] is None and "March or April 2019" in montbard["notes"]
    touraine = [c for c in contracts.values() if c["territory_code"] == "2402"]
    assert sorted((c["kind"], c["signed_on"]) for c in touraine) == [
        ("contrat", "2021-03-29"),
        ("protocole", "2019-04-23"),
    ]
    rochefort = contracts["Contrat Territoire d'industrie Rochefort-Royan-Marennes-Oléron"]
    assert (rochefort["start_year"], rochefort["end_year"], rochefort["action_count"]) == (
        2020,
        2022,
        4,
    )
    assert rochefort["budget_cents"] is None
    assert {s["name"] for s in rochefort["signatories"]} == {
        "STELIA",
        "CGM",
        "Unibéton",
        "Ocqueteau",
    }
    comminges = contracts["Contrat Territoire d'industrie Comminges-Nestes"]
    roles = [s["role"] for s in comminges["signatories"]]
    assert roles.count("president_epci") == 7 and len(roles) == 17
    assert comminges["signed_on"] is None

    projects = await all_items(client, "/api/v1/actions", territory="2707")
    assert {p["code"] for p in projects} == {"ISTHY", "PSA-SUD"}
    isthy = next(p for p in projects if p["code"] == "ISTHY")
    assert isthy["contract_id"] is None and isthy["axis"] == "innover"
    assert isthy["budget_cents"] == 2_000_000_000 and isthy["planned_cents"] == 600_000_000
    psa = next(p for p in projects if p["code"] == "PSA-SUD")
    assert psa["budget_cents"] is None and "11.55 M€" in psa["description"]
    agenais = await all_items(client, "/api/v1/actions", territory="ti-7501")
    assert {a["priority"] for a in agenais} == {"transition_ecologique"}
    assert all(a["budget_cents"] is None for a in agenais)
    assert (await client.get(f"/api/v1/contracts/{nfc['id']}/history")).json()["items"][0][
        "kind"
    ] == "recorded"


async def test_a_record_changed_since_is_brought_back_and_the_change_recorded(
    client: httpx.AsyncClient, contracts_app: ServiceApp
) -> None:
    await _load(contracts_app, load)
    contract_id = record_id("contract", "nord-franche-comte-protocole-2019")
    async with contracts_app.state.sessionmaker() as session:
        await session.execute(
            update(Contract).where(Contract.id == contract_id).values(signature_place="Belfort")
        )
        await session.commit()
    counts = await _load(contracts_app, load)
    assert (counts.added, counts.changed, counts.unchanged) == (0, 1, 10)
    history = (await client.get(f"/api/v1/contracts/{contract_id}/history")).json()["items"]
    assert history[0]["kind"] == "recorded" and history[0]["version"] == 2
    assert history[0]["changes"][0]["before"] == "Belfort"
    assert (await client.get(f"/api/v1/contracts/{contract_id}")).json()[
        "signature_place"
    ] == "Sochaux"


async def test_demo_data_is_plausible_and_marked_demo_everywhere(
    client: httpx.AsyncClient, contracts_app: ServiceApp
) -> None:
    first = await _load(contracts_app, load_demo)
    assert (first.added, first.unchanged) == (8, 0)
    assert (await _load(contracts_app, load_demo)).unchanged == 8

    contracts = await all_items(client, "/api/v1/contracts", is_demo="true")
    assert len(contracts) == 8 and {c["kind"] for c in contracts} == {"protocole", "contrat"}
    for contract in contracts:
        assert contract["is_demo"] and contract["title"].startswith("[Démo]")
        assert "inventées" in contract["notes"] and contract["action_count"] == 12
        assert contract["signed_on"] and contract["planned_cents"] <= contract["budget_cents"]
    actions = await all_items(client, "/api/v1/actions", is_demo="true")
    assert len(actions) == 96
    assert all(a["is_demo"] and a["title"].startswith("[Démo]") for a in actions)
    assert all(a["planned_cents"] <= a["budget_cents"] for a in actions)
    assert {"orientation", "alternance", "friche", "ecole-de-production"} <= {
        t for a in actions for t in a["themes"]
    }
    assert await all_items(client, "/api/v1/actions", is_demo="false") == []
    export = await client.get("/api/v1/actions", params={"format": "csv", "is_demo": "true"})
    rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert len(rows) == 96 and {r["is_demo"] for r in rows} == {"true"}
