"""Fiches-actions: the plan never exceeds the budget, axes and priorities, operators' reach."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tdi_kit.testing import bearer

WRITER = bearer("contracts:write")
BPIFRANCE = bearer("contracts:write", org="bpifrance", sub="bpi-agent")
Create = Callable[..., Awaitable[dict[str, Any]]]


async def read(client: httpx.AsyncClient, action_id: str) -> tuple[dict[str, Any], str]:
    r = await client.get(f"/api/v1/actions/{action_id}")
    assert r.status_code == 200, r.text
    return r.json(), r.headers["etag"]


def fields(problem: dict[str, Any]) -> list[str]:
    return [e["field"] for e in problem.get("errors") or []]


async def test_an_action_is_read_by_id_or_404(
    client: httpx.AsyncClient, create_contract: Create
) -> None:
    contract = await create_contract()
    action = contract["actions"][0]
    body, etag = await read(client, action["id"])
    assert body == action
    assert body["planned_cents"] == 1_000_000_000
    assert body["owner"] == {
        "organisation_code": None,
        "organisation_name": None,
        "name": "Porteur industriel",
        "siren": "200065647",
    }
    cached = await client.get(f"/api/v1/actions/{action['id']}", headers={"If-None-Match": etag})
    assert cached.status_code == 304
    missing = await client.get("/api/v1/actions/00000000-0000-4000-8000-000000000001")
    assert missing.status_code == 404
    assert (await client.get("/api/v1/actions/FA-01")).status_code == 422


async def test_a_plan_never_exceeds_the_budget(
    client: httpx.AsyncClient, create_contract: Create
) -> None:
    contract = await create_contract()
    action = contract["actions"][0]  # budget 20 M€, planned 10 M€
    url = f"/api/v1/actions/{action['id']}"

    over = await client.post(
        f"{url}/plan-lines",
        json={"financer_code": "ademe", "amount_cents": 1_000_000_001},
        headers=WRITER,
    )
    assert over.status_code == 422
    problem = over.json()
    assert fields(problem) == ["amount_cents"]
    assert problem["budget_cents"] == 2_000_000_000
    assert problem["planned_cents"] == 2_000_000_001
    assert problem["over_by_cents"] == 1

    fits = await client.post(
        f"{url}/plan-lines",
        json={"financer_code": "ademe", "amount_cents": 1_000_000_000, "label": "Fonds vert"},
        headers=WRITER,
    )
    assert fits.status_code == 201 and fits.json()["planned_cents"] == 2_000_000_000
    etag = fits.headers["etag"]

    shrink = await client.patch(
        url, json={"budget_cents": 1_999_999_999}, headers=WRITER | {"If-Match": etag}
    )
    assert shrink.status_code == 422 and fields(shrink.json()) == ["budget_cents"]
    line = fits.json()["plan_lines"][0]
    raise_line = await client.patch(
        f"{url}/plan-lines/{line['id']}",
        json={"amount_cents": 600_000_001},
        headers=WRITER | {"If-Match": etag},
    )
    assert raise_line.status_code == 422 and raise_line.json()["over_by_cents"] == 1

    unknown_financer = await client.post(
        f"{url}/plan-lines", json={"financer_code": "nobody", "amount_cents": 1}, headers=WRITER
    )
    assert unknown_financer.status_code == 422 and fields(unknown_financer.json()) == [
        "financer_code"
    ]

    created = await client.post(
        f"/api/v1/contracts/{contract['id']}/actions",
        json={
            "code": "FA-03",
            "title": "Plan sans budget",
            "plan_lines": [{"financer_name": "Département", "amount_cents": 5}],
        },
        headers=WRITER,
    )
    assert created.status_code == 422 and fields(created.json()) == ["plan_lines"]
    assert "no budget" in created.json()["detail"]


async def test_phase_one_speaks_of_axes_and_phase_two_of_priorities(
    client: httpx.AsyncClient, create_contract: Create
) -> None:
    contract = await create_contract()
    url = f"/api/v1/contracts/{contract['id']}/actions"
    r = await client.post(
        url, json={"code": "FA-09", "title": "X", "axis": "innover"}, headers=WRITER
    )
    assert r.status_code == 422 and fields(r.json()) == ["axis"]
    phase1 = await create_contract(territory_code="2707", signatories=[], actions=[])
    r = await client.post(
        f"/api/v1/contracts/{phase1['id']}/actions",
        json={"code": "FA-01", "title": "X", "priority": "foncier"},
        headers=WRITER,
    )
    assert r.status_code == 422 and fields(r.json()) == ["priority"]
    r = await client.post(
        f"/api/v1/contracts/{phase1['id']}/actions",
        json={"code": "FA-01", "title": "X", "axis": "attirer"},
        headers=WRITER,
    )
    assert r.status_code == 201 and r.json()["phase"] == 1


async def test_a_draft_action_is_edited_and_removed_freely(
    client: httpx.AsyncClient, create_contract: Create
) -> None:
    contract = await create_contract()
    action = contract["actions"][1]
    body, etag = await read(client, action["id"])
    r = await client.patch(
        f"/api/v1/actions/{action['id']}",
        json={
            "title": "École de production de Belfort",
            "themes": ["ecole-de-production"],
            "owner": None,
        },
        headers=WRITER | {"If-Match": etag},
    )
    assert r.status_code == 200, r.text
    assert r.json()["themes"] == ["ecole-de-production"] and r.json()["owner"] is None
    assert r.json()["version"] == body["version"] + 1
    # Timestamps stay UTC once the record has been read back from the database.
    assert r.json()["created_at"] == body["created_at"] and body["created_at"].endswith("Z")
    duplicate = await client.patch(
        f"/api/v1/actions/{action['id']}",
        json={"code": "FA-01"},
        headers=WRITER | {"If-Match": r.headers["etag"]},
    )
    assert duplicate.status_code == 409
    null_title = await client.patch(
        f"/api/v1/actions/{action['id']}",
        json={"title": None},
        headers=WRITER | {"If-Match": r.headers["etag"]},
    )
    assert null_title.status_code == 422

    indicator = await client.post(
        f"/api/v1/actions/{action['id']}/indicators",
        json={"label": "Apprentis formés", "unit": "personnes", "target": 24},
        headers=WRITER,
    )
    milestone = await client.post(
        f"/api/v1/actions/{action['id']}/milestones",
        json={"label": "Ouverture", "due_on": "2025-09-01"},
        headers=WRITER,
    )
    assert indicator.status_code == milestone.status_code == 201
    after = milestone.json()
    assert [i["label"] for i in after["indicators"]] == ["Apprentis formés"]
    ms = after["milestones"][0]
    done = await client.patch(
        f"/api/v1/actions/{action['id']}/milestones/{ms['id']}",
        json={"done_on": "2025-09-02"},
        headers=WRITER | {"If-Match": milestone.headers["etag"]},
    )
    assert done.status_code == 200 and done.json()["milestones"][0]["done_on"] == "2025-09-02"
    gone = await client.delete(
        f"/api/v1/actions/{action['id']}/milestones/{ms['id']}",
        headers=WRITER | {"If-Match": done.headers["etag"]},
    )
    assert gone.status_code == 200 and gone.json()["milestones"] == []
    no_such = await client.delete(
        f"/api/v1/actions/{action['id']}/milestones/{ms['id']}",
        headers=WRITER | {"If-Match": gone.headers["etag"]},
    )
    assert no_such.status_code == 404

    removed = await client.delete(
        f"/api/v1/actions/{action['id']}", headers=WRITER | {"If-Match": gone.headers["etag"]}
    )
    assert removed.status_code == 204
    assert (await client.get(f"/api/v1/actions/{action['id']}")).status_code == 404
    now = (await client.get(f"/api/v1/contracts/{contract['id']}")).json()
    assert [a["code"] for a in now["actions"]] == ["FA-01"] and now["action_count"] == 1


async def test_an_operator_changes_only_what_it_finances(
    client: httpx.AsyncClient, create_contract: Create, contract_body: Callable[..., dict[str, Any]]
) -> None:
    contract = await create_contract()
    financed, other = contract["actions"]  # FA-01 has a Bpifrance line; FA-02 has none
    body, etag = await read(client, financed["id"])
    own = next(x for x in body["plan_lines"] if x["financer_code"] == "bpifrance")
    theirs = next(x for x in body["plan_lines"] if x["financer_code"] != "bpifrance")
    url = f"/api/v1/actions/{financed['id']}"

    mine = await client.patch(
        f"{url}/plan-lines/{own['id']}",
        json={"amount_cents": 700_000_000, "allocation_id": "0b7b3c1e-8d1f-4c36-9c39-0c9a1c7e2f10"},
        headers=BPIFRANCE | {"If-Match": etag},
    )
    assert mine.status_code == 200, mine.text
    etag = mine.headers["etag"]
    forbidden = [
        client.patch(
            f"{url}/plan-lines/{theirs['id']}",
            json={"amount_cents": 1},
            headers=BPIFRANCE | {"If-Match": etag},
        ),
        client.patch(
            f"{url}/plan-lines/{own['id']}",
            json={"financer_code": "ademe"},
            headers=BPIFRANCE | {"If-Match": etag},
        ),
        client.post(
            f"{url}/plan-lines",
            json={"financer_code": "ademe", "amount_cents": 1},
            headers=BPIFRANCE,
        ),
        client.patch(url, json={"title": "Mine now"}, headers=BPIFRANCE | {"If-Match": etag}),
        client.post(f"{url}/milestones", json={"label": "x"}, headers=BPIFRANCE),
        client.post(
            f"/api/v1/actions/{other['id']}/indicators", json={"label": "x"}, headers=BPIFRANCE
        ),
        client.post(
            "/api/v1/contracts",
            json=contract_body(territory_code="ti-2405", signatories=[], actions=[]),
            headers=BPIFRANCE,
        ),
    ]
    for attempt in forbidden:
        r = await attempt
        assert r.status_code == 403, r.text
        assert r.json()["organisation_code"] == "bpifrance"

    indicator = body["indicators"][0]
    reported = await client.patch(
        f"{url}/indicators/{indicator['id']}",
        json={"actual": 12, "as_of": "2025-12-31"},
        headers=BPIFRANCE | {"If-Match": etag},
    )
    assert reported.status_code == 200
    assert reported.json()["indicators"][0]["actual"] == 12
    added = await client.post(
        f"{url}/plan-lines",
        json={"financer_code": "bpifrance", "amount_cents": 1, "label": "Prêt"},
        headers=BPIFRANCE,
    )
    assert added.status_code == 201

    # The State's and the Régions' tokens write everywhere.
    prefecture = bearer("contracts:write", org="prefecture-27")
    r = await client.patch(
        url,
        json={"title": "Centre ISTHY"},
        headers=prefecture | {"If-Match": added.headers["etag"]},
    )
    assert r.status_code == 200


async def test_actions_are_listed_with_filters_sort_cursor_and_csv(
    client: httpx.AsyncClient, create_contract: Create
) -> None:
    nfc = await create_contract()
    touraine = await create_contract(
        territory_code="ti-2405",
        title="Contrat Grand Est Touraine",
        signatories=[],
        actions=[
            {
                "code": "FA-01",
                "title": "Reconversion de friche",
                "priority": "foncier",
                "themes": ["friche"],
                "status": "idea",
            },
            {
                "code": "FA-02",
                "title": "Campus des métiers",
                "priority": "competences",
                "budget_cents": 5,
            },
        ],
    )
    phase1 = await create_contract(
        territory_code="2707",
        kind="protocole",
        signatories=[],
        actions=[{"code": "FA-01", "title": "Aéroparc", "axis": "attirer", "budget_cents": 10}],
    )

    async def codes(**params: Any) -> list[str]:
        r = await client.get("/api/v1/actions", params=params)
        assert r.status_code == 200, r.text
        return [f"{a['territory_code']}/{a['code']}" for a in r.json()["items"]]

    everything = await codes()
    assert everything == [
        "2707/FA-01",
        "ti-2405/FA-01",
        "ti-2405/FA-02",
        "ti-2708/FA-01",
        "ti-2708/FA-02",
    ]
    assert await codes(territory="ti-2405") == ["ti-2405/FA-01", "ti-2405/FA-02"]
    assert await codes(region="27") == ["2707/FA-01", "ti-2708/FA-01", "ti-2708/FA-02"]
    assert await codes(phase=1) == ["2707/FA-01"]
    assert await codes(axis="attirer") == ["2707/FA-01"]
    assert await codes(priority="competences") == ["ti-2405/FA-02", "ti-2708/FA-02"]
    assert await codes(status="idea") == ["ti-2405/FA-01"]
    assert await codes(theme="friche") == ["ti-2405/FA-01"]
    assert await codes(financer="bpifrance") == ["ti-2708/FA-01"]
    assert await codes(q="ecole production") == ["ti-2708/FA-02"]
    assert await codes(q="métiers") == ["ti-2405/FA-02"]
    assert await codes(contract=phase1["id"]) == ["2707/FA-01"]
    assert await codes(is_demo=True) == []
    assert await codes(sort="-budget_cents") == [
        "ti-2708/FA-01",
        "ti-2708/FA-02",
        "2707/FA-01",
        "ti-2405/FA-02",
        "ti-2405/FA-01",
    ]
    assert touraine["id"] and nfc["id"]

    seen, cursor = [], None
    while True:
        params = {"limit": 2, "sort": "-budget_cents"} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/actions", params=params)).json()
        seen += [a["id"] for a in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert len(seen) == len(set(seen)) == 5

    csv = await client.get("/api/v1/actions", params={"format": "csv", "financer": "bpifrance"})
    assert csv.headers["content-type"].startswith("text/csv")
    header, row = csv.text.lstrip("\ufeff").splitlines()
    assert header.split(",")[:6] == [
        "id",
        "contract_id",
        "territory_code",
        "phase",
        "code",
        "title",
    ]
    assert "is_demo" in header and "bpifrance|banque-des-territoires" in row and "false" in row
    assert "False" not in row and "True" not in row
