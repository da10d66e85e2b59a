"""An operator changes the indicators of an action only if it really finances it: a plan line
of its own with a positive amount, or an allocation recorded by the funding service. A zero
line gives it nothing, directly or inside an amendment of a signed contract."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tdi_kit.testing import bearer

WRITER = bearer("contracts:write")
BPIFRANCE = bearer("contracts:write", org="bpifrance", sub="bpi-agent")
FUNDING_ADMIN = bearer("admin", sub="funding-admin")
Create = Callable[..., Awaitable[dict[str, Any]]]


async def _unfinanced(client: httpx.AsyncClient, create_contract: Create) -> tuple[str, str]:
    """FA-02 of a draft contract: no plan line of Bpifrance. Its URL and ETag."""
    contract = await create_contract()
    action = contract["actions"][1]
    url = f"/api/v1/actions/{action['id']}"
    r = await client.get(url)
    return url, r.headers["etag"]


async def _add_indicator(client: httpx.AsyncClient, url: str) -> httpx.Response:
    return await client.post(f"{url}/indicators", json={"label": "Apprentis"}, headers=BPIFRANCE)


async def test_a_zero_plan_line_gives_an_operator_nothing(
    client: httpx.AsyncClient, create_contract: Create
) -> None:
    url, _ = await _unfinanced(client, create_contract)
    r = await client.post(
        f"{url}/plan-lines",
        json={"financer_code": "bpifrance", "amount_cents": 0},
        headers=BPIFRANCE,
    )
    assert r.status_code == 201, r.text
    refused = await _add_indicator(client, url)
    assert refused.status_code == 403, refused.text
    assert refused.json()["organisation_code"] == "bpifrance"
    assert [i["label"] for i in (await client.get(url)).json()["indicators"]] == []


async def test_a_positive_plan_line_lets_an_operator_follow_its_indicators(
    client: httpx.AsyncClient, create_contract: Create
) -> None:
    url, _ = await _unfinanced(client, create_contract)
    r = await client.post(
        f"{url}/plan-lines",
        json={"financer_code": "bpifrance", "amount_cents": 1},
        headers=BPIFRANCE,
    )
    assert r.status_code == 201
    added = await _add_indicator(client, url)
    assert added.status_code == 201, added.text
    # Taking the line back to zero ends the right.
    line = next(x for x in added.json()["plan_lines"] if x["financer_code"] == "bpifrance")
    r = await client.patch(
        f"{url}/plan-lines/{line['id']}",
        json={"amount_cents": 0},
        headers=BPIFRANCE | {"If-Match": added.headers["etag"]},
    )
    assert r.status_code == 200
    assert (await _add_indicator(client, url)).status_code == 403


async def _envelope(funding: httpx.AsyncClient, operator: str) -> str:
    """An envelope of `operator` in the real funding service, with money for 2024."""
    code = f"{operator}-financing"
    r = await funding.post(
        "/api/v1/envelopes",
        json={
            "code": code,
            "operator_code": operator,
            "name": f"Enveloppe {operator}",
            "kind": "grant",
            "themes": ["innovation"],
            "start_year": 2024,
            "end_year": 2024,
            "tranches": [{"year": 2024, "amount_cents": 10_000_000}],
        },
        headers=FUNDING_ADMIN,
    )
    assert r.status_code == 201, r.text
    return code


async def _allocate(funding: httpx.AsyncClient, envelope: str, action_id: str) -> dict[str, Any]:
    """A committed allocation of `envelope` to the action, recorded by the real funding service."""
    r = await funding.post(
        "/api/v1/allocations",
        json={
            "envelope_code": envelope,
            "year": 2024,
            "territory_code": "ti-2708",
            "title": "Apprentis",
            "beneficiary_name": "École de production",
            "amount_cents": 1_000_000,
            "status": "committed",
            "action_id": action_id,
        },
        headers=FUNDING_ADMIN,
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_recorded_allocation_lets_an_operator_follow_its_indicators(
    client: httpx.AsyncClient,
    create_contract: Create,
    funding: Any,
    funding_client: httpx.AsyncClient,
) -> None:
    url, _ = await _unfinanced(client, create_contract)
    action_id = url.rsplit("/", 1)[1]
    bdt = await _envelope(funding_client, "banque-des-territoires")
    bpi = await _envelope(funding_client, "bpifrance")

    # Another operator's allocation, or a cancelled one that paid nothing, is not Bpifrance's
    # financing.
    await _allocate(funding_client, bdt, action_id)
    cancelled = await _allocate(funding_client, bpi, action_id)
    r = await funding_client.post(
        f"/api/v1/allocations/{cancelled['id']}/cancel",
        json={"reason": "abandoned"},
        headers=FUNDING_ADMIN | {"If-Match": "*"},
    )
    assert r.json()["status"] == "cancelled", r.text
    assert (await _add_indicator(client, url)).status_code == 403
    paying = await _allocate(funding_client, bpi, action_id)
    r = await funding_client.post(
        f"/api/v1/allocations/{paying['id']}/disbursements",
        json={"amount_cents": 5},
        headers=FUNDING_ADMIN,
    )
    assert r.status_code == 201, r.text
    added = await _add_indicator(client, url)
    assert added.status_code == 201, added.text
    assert funding.asked == 2
    # Milestones and terms stay with the State and the Régions, financed or not.
    r = await client.post(f"{url}/milestones", json={"label": "x"}, headers=BPIFRANCE)
    assert r.status_code == 403
    r = await client.patch(
        url, json={"title": "Mine"}, headers=BPIFRANCE | {"If-Match": added.headers["etag"]}
    )
    assert r.status_code == 403


async def test_an_unreachable_funding_service_fails_the_check_closed(
    client: httpx.AsyncClient, create_contract: Create, funding: Any
) -> None:
    url, _ = await _unfinanced(client, create_contract)
    funding.failing = True
    r = await _add_indicator(client, url)
    assert r.status_code == 503 and r.json()["service"] == "funding"
    assert (await client.get(url)).json()["indicators"] == []
    # A positive line answers without asking funding at all.
    funding.failing = False
    own = await client.post(
        f"{url}/plan-lines",
        json={"financer_code": "bpifrance", "amount_cents": 5},
        headers=BPIFRANCE,
    )
    assert own.status_code == 201
    funding.failing, funding.asked = True, 0
    assert (await _add_indicator(client, url)).status_code == 201
    assert funding.asked == 0


async def test_an_amendment_gives_no_right_through_a_zero_or_passing_line(
    client: httpx.AsyncClient, signed_contract: dict[str, Any]
) -> None:
    fa2 = signed_contract["actions"][1]
    url = f"/api/v1/contracts/{signed_contract['id']}/amendments"
    zero_line = {
        "op": "add_plan_line",
        "action_id": fa2["id"],
        "line": {"financer_code": "bpifrance", "amount_cents": 0},
    }
    indicator = {"op": "add_indicator", "action_id": fa2["id"], "indicator": {"label": "Apprentis"}}

    async def amend(*changes: dict[str, Any]) -> httpx.Response:
        return await client.post(
            url,
            json={"title": "Avenant", "changes": list(changes)},
            headers=BPIFRANCE | {"If-Match": signed_contract["etag"]},
        )

    r = await amend(zero_line, indicator)
    assert r.status_code == 403, r.text
    positive = zero_line | {"line": {"financer_code": "bpifrance", "amount_cents": 100}}
    r = await amend(positive, indicator)
    assert r.status_code == 201, r.text
    after = (await client.get(f"/api/v1/actions/{fa2['id']}")).json()
    assert [i["label"] for i in after["indicators"]] == ["Apprentis"]


async def test_an_amendment_cannot_add_a_line_use_it_and_drop_it(
    client: httpx.AsyncClient, signed_contract: dict[str, Any]
) -> None:
    fa1 = signed_contract["actions"][0]
    own = next(x for x in fa1["plan_lines"] if x["financer_code"] == "bpifrance")
    r = await client.post(
        f"/api/v1/contracts/{signed_contract['id']}/amendments",
        json={
            "title": "Avenant",
            "changes": [
                {"op": "add_indicator", "action_id": fa1["id"], "indicator": {"label": "CA"}},
                {
                    "op": "update_plan_line",
                    "action_id": fa1["id"],
                    "line_id": own["id"],
                    "fields": {"amount_cents": 0},
                },
            ],
        },
        headers=BPIFRANCE | {"If-Match": signed_contract["etag"]},
    )
    assert r.status_code == 403, r.text
    assert (await client.get(f"/api/v1/contracts/{signed_contract['id']}/amendments")).json()[
        "items"
    ] == []
