"""An attacker at the public door: every write of the merged OpenAPI document, tried without a
token, with a token lacking its scope, and with another operator's token on an operator's
records; and Idempotency-Key replays tried by other callers, other organisations and reduced
tokens. Through the gateway, with the real services served over HTTP on databases of their own.

The operations come from the gateway's merged document, so a new route is tried as soon as it
exists; a route whose path names a record this module does not know fails loudly until one is
added to `_records`. (Path spellings are tried by the edge's own tests.)
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from gateway_testing import API, SERVICE_SETTINGS, running_gateway

from contracts.main import MIGRATIONS as CONTRACTS_MIGRATIONS
from contracts.main import create_app as create_contracts
from contracts.settings import ContractsSettings
from funding.main import MIGRATIONS as FUNDING_MIGRATIONS
from funding.main import create_app as create_funding
from funding.seed.loader import load as load_funding
from funding.settings import FundingSettings
from gateway.proxy import ROUTES, RouteTable
from tdi_kit import migrations
from tdi_kit.auth import mint_token
from tdi_kit.settings import DEV_JWT_SECRET
from tdi_kit.testing import LiveServer, free_port, test_database

M = 100_000_000  # one million euros, in cents
WRITE_METHODS = ("post", "put", "patch", "delete")
SERVICES = ("registry", "funding", "contracts")
OWNER, INTRUDER = "bpifrance", "banque-des-territoires"


def token(*scopes: str, sub: str = "attacker", org: str | None = None) -> dict[str, str]:
    minted = mint_token(secret=DEV_JWT_SECRET, sub=sub, org=org, scopes=scopes)
    return {"Authorization": f"Bearer {minted}"}


ADMIN = token("admin", sub="attacker-tests-admin")


@pytest.fixture(scope="module")
async def own_suite(registry_server: LiveServer) -> AsyncIterator[dict[str, str]]:
    """Funding (seeded) and contracts of this module alone: its records count nowhere else.
    The registry is the shared one: only refused writes reach it from here."""
    funding_port, contracts_port = free_port(), free_port()
    urls = {
        "registry_url": registry_server.url,
        "funding_url": f"http://127.0.0.1:{funding_port}",
        "contracts_url": f"http://127.0.0.1:{contracts_port}",
    }
    async with (
        test_database("atk_funding") as funding_db,
        test_database("atk_contracts") as contracts_db,
    ):
        await migrations.migrate_and_seed(funding_db, FUNDING_MIGRATIONS, load_funding)
        await migrations.migrate_and_seed(contracts_db, CONTRACTS_MIGRATIONS)
        common: dict[str, Any] = SERVICE_SETTINGS
        funding = create_funding(
            FundingSettings(
                database_url=funding_db,
                registry_url=registry_server.url,
                contracts_url=urls["contracts_url"],
                **common,
            )
        )
        contracts = create_contracts(
            ContractsSettings(
                database_url=contracts_db,
                registry_url=registry_server.url,
                # Contracts asks funding whether an operator finances an action: without it,
                # an intruder's indicator write would fail closed (503) before its 403.
                funding_url=urls["funding_url"],
                **common,
            )
        )
        with LiveServer(contracts, port=contracts_port), LiveServer(funding, port=funding_port):
            yield urls


@pytest.fixture(scope="module")
async def gateway(own_suite: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with running_gateway(**own_suite) as (_, client):
        yield client


async def _created(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture(scope="module")
async def records(gateway: httpx.AsyncClient) -> dict[tuple[str, str], str]:
    """The operator's records each path parameter names: (segment before it, its name) → value."""
    envelope = await _created(
        await gateway.post(
            f"{API}/envelopes",
            json={
                "code": "atk-envelope",
                "operator_code": OWNER,
                "name": "Enveloppe de l'opérateur attaqué",
                "kind": "grant",
                "themes": ["innovation"],
                "start_year": 2024,
                "end_year": 2025,
                "tranches": [{"year": 2024, "amount_cents": 100 * M}],
            },
            headers=ADMIN,
        )
    )
    owner = token("funding:write", sub="referent", org=OWNER)
    allocation = await _created(
        await gateway.post(f"{API}/allocations", json=_allocation(M), headers=owner)
    )
    contract = await _created(
        await gateway.post(
            f"{API}/contracts",
            json={
                "territory_code": "ti-2702",
                "kind": "contrat",
                "title": "Contrat attaqué",
                "start_year": 2023,
                "end_year": 2027,
                "signatories": [{"role": "prefet", "organisation_code": "prefecture-27"}],
                "actions": [
                    {
                        "code": "FA-01",
                        "title": "Centre d'essais",
                        "priority": "innovation",
                        "budget_cents": 10 * M,
                        "plan_lines": [{"financer_code": OWNER, "amount_cents": 2 * M}],
                        "indicators": [{"label": "Emplois créés", "target": 40}],
                        "milestones": [{"label": "Première pierre"}],
                    }
                ],
            },
            headers=token("contracts:write", sub="attacker-tests-editor"),
        )
    )
    [action] = contract["actions"]
    signed = await _signed_contract(gateway)
    # A literal public address: the registry resolves no name here, and refuses private ones.
    webhook = await _created(
        await gateway.post(
            f"{API}/webhooks",
            json={"url": "https://93.184.215.14/hooks", "event_types": ["webhook.*"]},
            headers=token("webhooks:write", sub="integrator", org=OWNER),
        )
    )
    return {
        # Amendments change signed contracts only.
        ("signed", "contract_id"): signed["id"],
        ("territories", "code"): "ti-2708",
        ("members", "siren"): "200065647",
        ("conventions", "code"): f"2019-{OWNER}",
        ("envelopes", "code"): envelope["code"],
        ("tranches", "year"): "2024",
        ("allocations", "allocation_id"): allocation["id"],
        ("contracts", "contract_id"): contract["id"],
        ("signatories", "signatory_id"): contract["signatories"][0]["id"],
        ("actions", "action_id"): action["id"],
        ("plan-lines", "line_id"): action["plan_lines"][0]["id"],
        ("indicators", "indicator_id"): action["indicators"][0]["id"],
        ("milestones", "milestone_id"): action["milestones"][0]["id"],
        ("webhooks", "webhook_id"): webhook["id"],
        ("deliveries", "delivery_id"): str(uuid.uuid4()),
    }


async def _signed_contract(gateway: httpx.AsyncClient) -> dict[str, Any]:
    editor = token("contracts:write", sub="attacker-tests-editor")
    contract = await _created(
        await gateway.post(
            f"{API}/contracts",
            json={
                "territory_code": "ti-2708",
                "kind": "contrat",
                "title": "Contrat signé attaqué",
                "start_year": 2023,
                "end_year": 2027,
                "signatories": [
                    {"role": "prefet", "organisation_code": "prefecture-27"},
                    {"role": "president_region", "organisation_code": "region-27"},
                    {"role": "president_epci", "siren": "200065647"},
                    {"role": "president_epci", "siren": "200069052"},
                ],
            },
            headers=editor,
        )
    )
    url = f"{API}/contracts/{contract['id']}"
    for signatory in contract["signatories"]:
        etag = (await gateway.get(url)).headers["etag"]
        r = await gateway.post(
            f"{url}/signatories/{signatory['id']}/signature",
            json={"signed_on": "2024-03-01"},
            headers={**editor, "If-Match": etag},
        )
        assert r.status_code in (200, 201), r.text
    signed = (await gateway.get(url)).json()
    assert signed["status"] == "signed", signed
    return signed


def _allocation(amount_cents: int, **fields: Any) -> dict[str, Any]:
    return {
        "envelope_code": "atk-envelope",
        "year": 2024,
        "territory_code": "ti-2708",
        "title": "Ligne de production",
        "beneficiary_name": "Entreprise test",
        "amount_cents": amount_cents,
        "status": "proposed",
        **fields,
    }


@pytest.fixture(scope="module")
async def writes(gateway: httpx.AsyncClient) -> list[tuple[str, str, str]]:
    """(method, path template, owning service) of every write in the merged document."""
    # A service that was slow to answer is missing from the merge for a second: wait it out.
    for _ in range(20):
        r = await gateway.get("/openapi.json")
        assert r.status_code == 200
        if not r.json().get("x-tdi-missing-services"):
            break
        await asyncio.sleep(1.1)
    table = RouteTable(ROUTES)
    found = []
    for path, item in r.json()["paths"].items():
        for method in WRITE_METHODS:
            if method in item:
                found.append((method.upper(), path, table.resolve(path) or "gateway"))
    # The document is whole: every service's writes are there (a merge that lost one would
    # leave it untried).
    assert {service for *_, service in found} >= set(SERVICES), found
    assert len(found) >= 40, found
    return found


# A body each write takes, so that what refuses an intruder is authorisation, not validation
# (`{}` serves the others; a new route that needs more fails the operator test with a 422).
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/contracts/{contract_id}/signatories"): {
        "role": "president_region",
        "organisation_code": "region-27",
    },
    ("POST", "/contracts/{contract_id}/signatories/{signatory_id}/signature"): {
        "signed_on": "2024-01-15"
    },
    ("POST", "/contracts/{contract_id}/amendments"): {
        "title": "Avenant",
        "changes": [{"op": "update_contract", "fields": {"title": "Pris"}}],
    },
    ("POST", "/contracts/{contract_id}/actions"): {
        "code": "FA-99",
        "title": "Action de l'intrus",
        "priority": "innovation",
        "budget_cents": M,
    },
    # The intruder tries to change the owner's co-financing.
    ("POST", "/actions/{action_id}/plan-lines"): {"financer_code": OWNER, "amount_cents": M},
    ("POST", "/actions/{action_id}/indicators"): {"label": "Indicateur de l'intrus"},
    ("POST", "/actions/{action_id}/milestones"): {"label": "Jalon de l'intrus"},
    ("POST", "/envelopes/{code}/tranches"): {"year": 2025, "amount_cents": M},
    ("POST", "/envelopes/{code}/tranches/{year}/adjustments"): {
        "delta_cents": M,
        "reason": "intrusion",
    },
    ("POST", "/allocations/{allocation_id}/cancel"): {"reason": "intrusion"},
    ("POST", "/allocations/{allocation_id}/disbursements"): {"amount_cents": 1},
}


def _body(method: str, template: str) -> Any:
    if method == "DELETE":
        return None
    return BODIES.get((method, template.removeprefix(API)), {})


def _fill(path: str, records: dict[tuple[str, str], str]) -> str:
    segments = path.split("/")
    for i, segment in enumerate(segments):
        if segment.startswith("{"):
            name = (segments[i - 1], segment.strip("{}"))
            if path.endswith("/amendments") and name == ("contracts", "contract_id"):
                name = ("signed", "contract_id")
            assert name in records, f"a record for {name} is needed to try {path}"
            segments[i] = records[name]
    return "/".join(segments)


async def _try(
    gateway: httpx.AsyncClient, method: str, template: str, records: dict, headers: dict
) -> httpx.Response:
    return await gateway.request(
        method,
        _fill(template, records),
        json=_body(method, template),
        headers={**headers, "If-Match": '"1"', "Idempotency-Key": f"atk-{uuid.uuid4()}"},
    )


def _problem(r: httpx.Response, *statuses: int) -> bool:
    return (
        r.status_code in statuses
        and r.headers.get("content-type", "").startswith("application/problem+json")
        and "idempotent-replayed" not in r.headers
    )


async def test_every_write_refuses_an_anonymous_caller(
    gateway: httpx.AsyncClient, writes: list, records: dict
) -> None:
    wrong = []
    for method, template, _service in writes:
        r = await _try(gateway, method, template, records, {})
        if not (_problem(r, 401) and r.headers.get("www-authenticate") == "Bearer"):
            wrong.append((method, template, r.status_code, r.text[:200]))
    assert wrong == []


async def test_every_write_refuses_a_token_without_its_scope(
    gateway: httpx.AsyncClient, writes: list, records: dict
) -> None:
    """Every scope of the programme but the owner's write scope (and admin), with an org."""
    wrong = []
    for method, template, service in writes:
        others = [f"{s}:write" for s in SERVICES if s != service]
        scopes = [*others, f"{service}:read", f"{service}:export", "write"]
        for headers in (token(*scopes, org=OWNER), token(*scopes), token(org=OWNER)):
            r = await _try(gateway, method, template, records, headers)
            if not _problem(r, 403):
                wrong.append((method, template, service, r.status_code, r.text[:200]))
    assert wrong == []


async def test_another_operator_changes_none_of_an_operators_records(
    gateway: httpx.AsyncClient, writes: list, records: dict
) -> None:
    """Operator B's token, with the write scope of the service, on operator A's envelope,
    allocation, convention and contract: 403 or 404, and the record is as it was."""
    tried = 0
    wrong = []
    for method, template, service in writes:
        if service not in ("funding", "contracts") or "{" not in template:
            continue
        path = _fill(template, records)
        record = _record_path(path)
        before = await gateway.get(record, headers=ADMIN)
        assert before.status_code == 200, (record, before.text)
        intruder = token(f"{service}:write", sub="referent", org=INTRUDER)
        r = await gateway.request(
            method,
            path,
            json=_body(method, template),
            headers={**intruder, "If-Match": before.headers["etag"]},
        )
        tried += 1
        after = await gateway.get(record, headers=ADMIN)
        if not _problem(r, 403, 404) or after.headers["etag"] != before.headers["etag"]:
            wrong.append((method, template, r.status_code, r.text[:200]))
    assert wrong == [], "\n".join(map(str, wrong))
    assert tried >= 25


def _record_path(path: str) -> str:
    """The record a write changes: the first `/<collection>/<id>` of its path (the contract
    for its signatories, the envelope for its tranches, the action for its plan lines)."""
    segments = path.removeprefix(API + "/").split("/")
    return f"{API}/{segments[0]}/{segments[1]}"


async def test_no_write_answers_2xx_to_any_token_without_a_scope(
    gateway: httpx.AsyncClient, writes: list, records: dict
) -> None:
    scopeless = [token(), token(org=OWNER), token(sub="", org=OWNER), token(org=INTRUDER)]
    for method, template, _service in writes:
        for headers in scopeless:
            r = await _try(gateway, method, template, records, headers)
            assert not 200 <= r.status_code < 300, (method, template, r.status_code)


# Replays ---------------------------------------------------------------------------------------


async def _tranche_committed(gateway: httpx.AsyncClient) -> dict[str, int]:
    r = await gateway.get(f"{API}/envelopes/atk-envelope/tranches/2024", headers=ADMIN)
    assert r.status_code == 200, r.text
    return {k: v for k, v in r.json().items() if k.endswith("_cents")}


async def test_an_idempotency_key_is_replayed_only_to_its_caller_with_its_rights(
    gateway: httpx.AsyncClient, records: dict
) -> None:
    key = {"Idempotency-Key": f"push-{uuid.uuid4()}"}
    body = _allocation(3 * M, title="Rejeu")
    owner = token("funding:write", sub="referent", org=OWNER)
    first = await gateway.post(f"{API}/allocations", json=body, headers={**owner, **key})
    assert first.status_code == 201, first.text
    money = await _tranche_committed(gateway)

    attempts = {
        # Same subject, another operator: its own processing (it cannot allocate from the
        # envelope), not the owner's answer.
        "another organisation": token("funding:write", sub="referent", org=INTRUDER),
        # The owner's identity with the scope taken away, or with the scope and no more org.
        "reduced scope": token("funding:read", sub="referent", org=OWNER),
        "no scope": token(sub="referent", org=OWNER),
        "no organisation": token("funding:write", sub="referent"),
        "anonymous": {},
    }
    for name, headers in attempts.items():
        r = await gateway.post(f"{API}/allocations", json=body, headers={**headers, **key})
        assert "idempotent-replayed" not in r.headers, name
        assert first.json()["id"] not in r.text, name
        assert r.status_code in (401, 403, 404, 409, 422), (name, r.status_code, r.text)
    assert await _tranche_committed(gateway) == money

    # Another person of the same operator: a key of their own, whatever its spelling.
    colleague = token("funding:write", sub="referent-2", org=OWNER)
    theirs = await gateway.post(
        f"{API}/allocations", json={**body, "title": "Autre"}, headers={**colleague, **key}
    )
    assert theirs.status_code == 201 and "idempotent-replayed" not in theirs.headers
    assert theirs.json()["id"] != first.json()["id"]

    # The owner, with the same rights or more, gets the first answer; nothing was done twice.
    for headers in (owner, token("funding:write", "funding:read", sub="referent", org=OWNER)):
        again = await gateway.post(f"{API}/allocations", json=body, headers={**headers, **key})
        assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
