"""Contracts: creation, the live-contract rule, registry checks, signatures, lifecycle, reads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tdi_kit.app import ServiceApp
from tdi_kit.clients import ServiceClient
from tdi_kit.testing import bearer

WRITER = bearer("contracts:write")
Create = Callable[..., Awaitable[dict[str, Any]]]
Body = Callable[..., dict[str, Any]]


def fields(problem: dict[str, Any]) -> list[str]:
    return [e["field"] for e in problem.get("errors") or []]


async def test_a_draft_is_created_with_its_signatories_and_actions(
    client: httpx.AsyncClient, contract_body: Body
) -> None:
    r = await client.post("/api/v1/contracts", json=contract_body(), headers=WRITER)
    assert r.status_code == 201, r.text
    created = r.json()
    assert r.headers["location"] == f"/api/v1/contracts/{created['id']}"
    assert created["status"] == "draft" and created["version"] == 1
    assert created["territory_name"] == "Nord Franche-Comté" and created["phase"] == 2
    assert created["regions"] == [{"code": "27", "name": "Bourgogne-Franche-Comté"}]
    assert [a["code"] for a in created["actions"]] == ["FA-01", "FA-02"]
    assert created["budget_cents"] == 2_300_000_000
    assert created["planned_cents"] == 1_100_000_000
    assert [s["required"] for s in created["signatories"]] == [True, True, True, True, False]
    assert created["is_demo"] is False

    read = await client.get(f"/api/v1/contracts/{created['id']}")
    assert read.status_code == 200
    assert read.json() == created
    assert read.headers["etag"] == r.headers["etag"]
    again = await client.get(
        f"/api/v1/contracts/{created['id']}", headers={"If-None-Match": r.headers["etag"]}
    )
    assert again.status_code == 304


async def test_a_territory_has_one_live_contract_per_phase(
    client: httpx.AsyncClient, create_contract: Create, contract_body: Body
) -> None:
    first = await create_contract()
    r = await client.post("/api/v1/contracts", json=contract_body(title="Another"), headers=WRITER)
    assert r.status_code == 409
    problem = r.json()
    assert problem["other_contract_id"] == first["id"]
    assert first["id"] in problem["detail"]

    # A protocole d'accord is a live act too: it is closed when the contract is signed.
    protocole = await client.post(
        "/api/v1/contracts",
        json=contract_body(kind="protocole", signatories=[], actions=[]),
        headers=WRITER,
    )
    assert protocole.status_code == 409
    assert protocole.json()["other_contract_id"] == first["id"]

    # Phase 1's territory of the same place is another territory.
    phase1 = await client.post(
        "/api/v1/contracts",
        json=contract_body(territory_code="2707", signatories=[], actions=[]),
        headers=WRITER,
    )
    assert phase1.status_code == 201 and phase1.json()["phase"] == 1

    cancel = await client.post(
        f"/api/v1/contracts/{first['id']}/cancel", headers=WRITER | {"If-Match": first["etag"]}
    )
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
    r = await client.post("/api/v1/contracts", json=contract_body(title="Anew"), headers=WRITER)
    assert r.status_code == 201


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"territory_code": "ti-9999"}, "territory_code"),
        ({"territory_code": "27-07"}, "territory_code"),
        (
            # A SIREN whose Luhn key is wrong.
            {"signatories": [{"role": "president_epci", "siren": "200065648"}]},
            "signatories.0.siren",
        ),
        (
            {"signatories": [{"role": "operator", "organisation_code": "no-such-org"}]},
            "signatories.0.organisation_code",
        ),
        (
            {"signatories": [{"role": "prefet", "organisation_code": "region-27"}]},
            "signatories.0.organisation_code",
        ),
        (
            # A member of another territory cannot sign for this one.
            {"signatories": [{"role": "president_epci", "siren": "200043065"}]},
            "signatories.0.siren",
        ),
        (
            {"actions": [{"code": "FA-01", "title": "X", "owner": {"organisation_code": "nope"}}]},
            "actions.0.owner.organisation_code",
        ),
        ({"kind": "charte"}, "kind"),
        ({"start_year": 2027, "end_year": 2023}, "body"),
    ],
)
async def test_invalid_references_are_422_naming_the_field(
    client: httpx.AsyncClient, contract_body: Body, change: dict[str, Any], field: str
) -> None:
    r = await client.post("/api/v1/contracts", json=contract_body(**change), headers=WRITER)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert field in fields(r.json())


async def test_an_unreachable_registry_is_503_and_nothing_is_stored(
    client: httpx.AsyncClient, contracts_app: ServiceApp, contract_body: Body
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    working = contracts_app.state.registry
    contracts_app.state.registry = ServiceClient(
        "registry", "http://registry.invalid", transport=httpx.MockTransport(refuse)
    )
    try:
        r = await client.post("/api/v1/contracts", json=contract_body(), headers=WRITER)
    finally:
        contracts_app.state.registry = working
    assert r.status_code == 503
    assert r.json()["service"] == "registry"
    listed = await client.get("/api/v1/contracts", params={"territory": "ti-2708"})
    assert listed.json()["items"] == []
    assert (await client.get("/api/v1/actions")).json()["items"] == []


async def test_writes_need_a_token_with_the_scope(
    client: httpx.AsyncClient, contract_body: Body
) -> None:
    body = contract_body()
    assert (await client.post("/api/v1/contracts", json=body)).status_code == 401
    other = bearer("registry:write")
    assert (await client.post("/api/v1/contracts", json=body, headers=other)).status_code == 403
    broken = {"Authorization": "Bearer not-a-token"}
    assert (await client.post("/api/v1/contracts", json=body, headers=broken)).status_code == 401
    admin = bearer("admin")
    assert (await client.post("/api/v1/contracts", json=body, headers=admin)).status_code == 201


async def test_updates_need_the_current_etag(
    client: httpx.AsyncClient, create_contract: Create
) -> None:
    contract = await create_contract()
    url = f"/api/v1/contracts/{contract['id']}"
    r = await client.patch(url, json={"title": "Renamed"}, headers=WRITER)
    assert r.status_code == 428
    r = await client.patch(url, json={"title": "Renamed"}, headers=WRITER | {"If-Match": '"old"'})
    assert r.status_code == 412
    r = await client.patch(
        url, json={"title": "Renamed"}, headers=WRITER | {"If-Match": contract["etag"]}
    )
    assert r.status_code == 200
    assert r.json()["title"] == "Renamed" and r.json()["version"] == 2
    assert r.headers["etag"] != contract["etag"]
    stale = await client.patch(
        url, json={"title": "Again"}, headers=WRITER | {"If-Match": contract["etag"]}
    )
    assert stale.status_code == 412


async def test_bad_inputs_get_problem_documents(
    client: httpx.AsyncClient, contract_body: Body
) -> None:
    missing = await client.get("/api/v1/contracts/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["status"] == 404 and missing.json()["request_id"]
    not_uuid = await client.get("/api/v1/contracts/not-a-uuid")
    assert not_uuid.status_code == 422 and "contract_id" in fields(not_uuid.json())
    bad_cursor = await client.get("/api/v1/contracts", params={"cursor": "garbage!"})
    assert bad_cursor.status_code == 400
    bad_sort = await client.get("/api/v1/contracts", params={"sort": "budget"})
    assert bad_sort.status_code == 422 and fields(bad_sort.json()) == ["sort"]
    extra = await client.post("/api/v1/contracts", json=contract_body(surprise=1), headers=WRITER)
    assert extra.status_code == 422 and "surprise" in fields(extra.json())
    huge = await client.post(
        "/api/v1/contracts",
        json=contract_body(enjeux=["x" * 400] * 3000),
        headers=WRITER,
    )
    assert huge.status_code == 413
    assert huge.headers["content-type"] == "application/problem+json"


async def test_a_contract_is_signed_by_the_last_required_signature(
    client: httpx.AsyncClient, create_contract: Create
) -> None:
    contract = await create_contract()
    etag = contract["etag"]
    by_role = {s["organisation_code"] or s["siren"]: s["id"] for s in contract["signatories"]}
    url = f"/api/v1/contracts/{contract['id']}/signatories"

    async def sign(key: str, day: str) -> httpx.Response:
        nonlocal etag
        r = await client.post(
            f"{url}/{by_role[key]}/signature",
            json={"signed_on": day},
            headers=WRITER | {"If-Match": etag},
        )
        etag = r.headers.get("etag", etag)
        return r

    assert (await sign("bpifrance", "2024-03-20")).json()["status"] == "draft"
    assert (await sign("prefecture-27", "2024-03-18")).json()["status"] == "draft"
    assert (await sign("region-27", "2024-03-19")).json()["status"] == "draft"
    assert (await sign("200065647", "2024-03-12")).json()["status"] == "draft"
    done = (await sign("200069052", "2024-03-19")).json()
    assert done["status"] == "signed"
    # The date of the last required signature, not of the operator's later co-signature.
    assert done["signed_on"] == "2024-03-19"
    twice = await sign("region-27", "2024-03-21")
    assert twice.status_code == 409
    future = await client.post(
        f"{url}/{by_role['bpifrance']}/signature",
        json={"signed_on": "2999-01-01"},
        headers=WRITER | {"If-Match": etag},
    )
    assert future.status_code in (409, 422)


async def test_a_contract_needs_the_state_and_the_region_to_be_signed(
    client: httpx.AsyncClient, create_contract: Create, sign_all: Any
) -> None:
    contract = await create_contract(signatories=[{"role": "president_epci", "siren": "200065647"}])
    signed = await sign_all(contract)
    assert signed["status"] == "draft"


async def test_the_lifecycle_ends_read_only(
    client: httpx.AsyncClient, signed_contract: dict[str, Any]
) -> None:
    url = f"/api/v1/contracts/{signed_contract['id']}"
    etag = signed_contract["etag"]
    wrong = await client.post(f"{url}/close", headers=WRITER | {"If-Match": '"x"'})
    assert wrong.status_code == 412
    started = await client.post(f"{url}/start", headers=WRITER | {"If-Match": etag})
    assert started.status_code == 200 and started.json()["status"] == "in_progress"
    again = await client.post(
        f"{url}/start", headers=WRITER | {"If-Match": started.headers["etag"]}
    )
    assert again.status_code == 409
    closed = await client.post(
        f"{url}/close", headers=WRITER | {"If-Match": started.headers["etag"]}
    )
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    etag = closed.headers["etag"]

    action = closed.json()["actions"][0]
    attempts = [
        client.patch(url, json={"title": "x"}, headers=WRITER | {"If-Match": etag}),
        client.post(f"{url}/cancel", headers=WRITER | {"If-Match": etag}),
        client.post(
            f"{url}/amendments",
            json={
                "title": "Avenant",
                "changes": [{"op": "update_contract", "fields": {"title": "y"}}],
            },
            headers=WRITER | {"If-Match": etag},
        ),
        client.patch(
            f"/api/v1/actions/{action['id']}",
            json={"status": "done"},
            headers=WRITER
            | {"If-Match": (await client.get(f"/api/v1/actions/{action['id']}")).headers["etag"]},
        ),
    ]
    for attempt in attempts:
        r = await attempt
        assert r.status_code == 409, r.text
    assert (await client.get(url)).json()["version"] == closed.json()["version"]


async def test_an_idempotency_key_replays_the_first_answer(
    client: httpx.AsyncClient, contract_body: Body
) -> None:
    headers = WRITER | {"Idempotency-Key": "create-nfc-1"}
    first = await client.post("/api/v1/contracts", json=contract_body(), headers=headers)
    again = await client.post("/api/v1/contracts", json=contract_body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    listed = await client.get("/api/v1/contracts", params={"territory": "ti-2708"})
    assert len(listed.json()["items"]) == 1
    other = await client.post(
        "/api/v1/contracts", json=contract_body(title="Other"), headers=headers
    )
    assert other.status_code == 422


async def test_contracts_are_listed_with_filters_sort_cursor_and_csv(
    client: httpx.AsyncClient, create_contract: Create, contract_body: Body
) -> None:
    nfc = await create_contract()
    touraine = await create_contract(
        territory_code="ti-2405",
        title="Contrat Grand Est Touraine",
        signatories=[],
        actions=[{"code": "FA-01", "title": "Friche", "priority": "foncier", "themes": ["friche"]}],
    )
    protocole = await create_contract(
        territory_code="2707", kind="protocole", title="Protocole NFC", signatories=[], actions=[]
    )

    async def ids(**params: Any) -> list[str]:
        r = await client.get("/api/v1/contracts", params=params)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["items"]]

    assert set(await ids(region="27")) == {nfc["id"], protocole["id"]}
    assert await ids(region="24") == [touraine["id"]]
    assert await ids(phase=1) == [protocole["id"]]
    assert await ids(kind="protocole") == [protocole["id"]]
    assert await ids(theme="friche") == [touraine["id"]]
    assert await ids(financer="bpifrance") == [nfc["id"]]
    assert await ids(priority="competences") == [nfc["id"]]
    assert await ids(q="touraine") == [touraine["id"]]
    assert await ids(q="franche comte protocole") == [protocole["id"]]
    assert await ids(status="draft", is_demo=False, territory="ti-2405") == [touraine["id"]]
    titles = await client.get("/api/v1/contracts", params={"sort": "-title"})
    # Titles sort folded (case and accents aside), the same on both databases.
    assert [c["title"] for c in titles.json()["items"]] == sorted(
        [nfc["title"], touraine["title"], protocole["title"]], key=str.lower, reverse=True
    )

    seen, cursor = [], None
    while True:
        params = {"limit": 1, "sort": "title"} | ({"cursor": cursor} if cursor else {})
        page = await client.get("/api/v1/contracts", params=params)
        seen += [c["id"] for c in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            assert "link" not in page.headers
            break
        assert 'rel="next"' in page.headers["link"]
    assert len(seen) == 3 and len(set(seen)) == 3
    other_sort = await client.get(
        "/api/v1/contracts", params={"sort": "-title", "cursor": cursor or "x"}
    )
    assert other_sort.status_code == 400

    csv = await client.get("/api/v1/contracts", params={"format": "csv", "sort": "title"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("id,territory_code,territory_name,phase,regions,kind,title,status")
    assert "is_demo" in lines[0]
    assert len(lines) == 4
    by_accept = await client.get("/api/v1/contracts", headers={"Accept": "text/csv"})
    assert by_accept.text == csv.text or len(by_accept.text.splitlines()) == 4
