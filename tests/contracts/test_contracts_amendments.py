"""Once signed, a contract changes only through numbered amendments; its history keeps every
version."""

from __future__ import annotations

from typing import Any

import httpx

from tdi_kit.testing import bearer

WRITER = bearer("contracts:write")
BPIFRANCE = bearer("contracts:write", org="bpifrance")


async def etag_of(client: httpx.AsyncClient, url: str) -> str:
    r = await client.get(url)
    assert r.status_code == 200, r.text
    return r.headers["etag"]


async def test_a_signed_contract_changes_only_through_an_amendment(
    client: httpx.AsyncClient, signed_contract: dict[str, Any]
) -> None:
    contract_url = f"/api/v1/contracts/{signed_contract['id']}"
    action = signed_contract["actions"][0]
    action_url = f"/api/v1/actions/{action['id']}"
    action_etag = await etag_of(client, action_url)
    refused = [
        client.patch(
            contract_url,
            json={"title": "x"},
            headers=WRITER | {"If-Match": signed_contract["etag"]},
        ),
        client.patch(
            action_url, json={"budget_cents": 1}, headers=WRITER | {"If-Match": action_etag}
        ),
        client.post(
            f"{action_url}/plan-lines",
            json={"financer_code": "ademe", "amount_cents": 1},
            headers=WRITER,
        ),
        client.post(
            f"{contract_url}/actions", json={"code": "FA-09", "title": "x"}, headers=WRITER
        ),
        client.delete(action_url, headers=WRITER | {"If-Match": action_etag}),
        client.post(
            f"{contract_url}/signatories", json={"role": "partner", "name": "UIMM"}, headers=WRITER
        ),
    ]
    for attempt in refused:
        r = await attempt
        assert r.status_code == 409, r.text
        assert "amendment" in r.json()["detail"]
    unchanged = (await client.get(contract_url)).json()
    assert unchanged["version"] == signed_contract["version"]


async def test_follow_up_needs_no_amendment_but_is_recorded(
    client: httpx.AsyncClient, signed_contract: dict[str, Any]
) -> None:
    action = signed_contract["actions"][0]
    url = f"/api/v1/actions/{action['id']}"
    r = await client.patch(
        url,
        json={"status": "in_progress"},
        headers=WRITER | {"If-Match": await etag_of(client, url)},
    )
    assert r.status_code == 200 and r.json()["status"] == "in_progress"
    indicator = action["indicators"][0]
    r = await client.patch(
        f"{url}/indicators/{indicator['id']}",
        json={"actual": 7, "as_of": "2025-06-30"},
        headers=BPIFRANCE | {"If-Match": r.headers["etag"]},
    )
    assert r.status_code == 200
    target = await client.patch(
        f"{url}/indicators/{indicator['id']}",
        json={"target": 70},
        headers=WRITER | {"If-Match": r.headers["etag"]},
    )
    assert target.status_code == 409
    history = (await client.get(f"/api/v1/contracts/{signed_contract['id']}/history")).json()
    latest = history["items"][0]
    assert latest["kind"] == "follow_up" and latest["org"] == "bpifrance"
    assert {(c["field"], c["after"]) for c in latest["changes"]} == {
        ("actual", 7.0),
        ("as_of", "2025-06-30"),
    }
    assert latest["changes"][0]["action_id"] == action["id"]


async def test_an_amendment_applies_its_changes_at_once_under_the_next_number(
    client: httpx.AsyncClient, signed_contract: dict[str, Any]
) -> None:
    contract_id = signed_contract["id"]
    url = f"/api/v1/contracts/{contract_id}/amendments"
    fa1, fa2 = signed_contract["actions"]
    line = next(x for x in fa1["plan_lines"] if x["financer_code"] == "bpifrance")
    body = {
        "title": "Avenant n°1",
        "reason": "Ajout d'une fiche et révision du plan de financement",
        "signed_on": "2025-01-15",
        "changes": [
            {"op": "update_contract", "fields": {"end_year": 2028}},
            {
                "op": "update_plan_line",
                "action_id": fa1["id"],
                "line_id": line["id"],
                "fields": {"amount_cents": 800_000_000},
            },
            {
                "op": "add_action",
                "action": {
                    "code": "FA-03",
                    "title": "Reconversion de la friche",
                    "priority": "foncier",
                    "themes": ["friche"],
                    "budget_cents": 1000,
                },
            },
            {
                "op": "update_action",
                "action_id": fa2["id"],
                "fields": {"budget_cents": 400_000_000},
            },
            {
                "op": "add_milestone",
                "action_id": fa2["id"],
                "milestone": {"label": "Première promotion"},
            },
        ],
    }
    missing = await client.post(url, json=body, headers=WRITER)
    assert missing.status_code == 428
    r = await client.post(url, json=body, headers=WRITER | {"If-Match": signed_contract["etag"]})
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["number"] == 1 and r.headers["location"] == f"{url}/1"
    assert first["version"] == signed_contract["version"] + 1
    changed = {(c["target"], c["op"], c["field"]) for c in first["changes"]}
    assert ("contract", "update", "end_year") in changed
    assert ("plan_line", "update", "amount_cents") in changed
    assert ("action", "add", None) in changed
    assert ("milestone", "add", None) in changed
    before_after = next(c for c in first["changes"] if c["field"] == "amount_cents")
    assert (before_after["before"], before_after["after"]) == (600_000_000, 800_000_000)

    contract = await client.get(f"/api/v1/contracts/{contract_id}")
    now = contract.json()
    assert now["end_year"] == 2028 and now["amendment_count"] == 1 and now["status"] == "signed"
    assert [a["code"] for a in now["actions"]] == ["FA-01", "FA-02", "FA-03"]

    second = await client.post(
        url,
        json={"title": "Avenant n°2", "changes": [{"op": "remove_action", "action_id": fa2["id"]}]},
        headers=WRITER | {"If-Match": contract.headers["etag"]},
    )
    assert second.status_code == 201 and second.json()["number"] == 2
    listed = (await client.get(url)).json()
    assert [a["number"] for a in listed["items"]] == [1, 2]
    assert (await client.get(f"{url}/2")).json()["title"] == "Avenant n°2"
    assert (await client.get(f"{url}/3")).status_code == 404

    # The history says who changed what, and any past version reads back as it was.
    history = (
        await client.get(f"/api/v1/contracts/{contract_id}/history", params={"sort": "version"})
    ).json()
    kinds = [(e["version"], e["kind"], e["amendment_number"]) for e in history["items"]]
    assert kinds[0] == (1, "created", None)
    assert kinds[-2:] == [
        (first["version"], "amendment", 1),
        (first["version"] + 1, "amendment", 2),
    ]
    # The people behind tokens are not public: an admin reads who acted, the public does not.
    assert all(e["by"] is None for e in history["items"])
    as_admin = await client.get(
        f"/api/v1/contracts/{contract_id}/history",
        params={"sort": "version"},
        headers=bearer("admin"),
    )
    assert all(e["by"] == "test-user" for e in as_admin.json()["items"])
    signed_version = signed_contract["version"]
    past = await client.get(f"/api/v1/contracts/{contract_id}/versions/{signed_version}")
    assert past.status_code == 200
    assert past.json()["end_year"] == 2027 and [a["code"] for a in past.json()["actions"]] == [
        "FA-01",
        "FA-02",
    ]
    assert past.json()["status"] == "signed"
    draft = (await client.get(f"/api/v1/contracts/{contract_id}/versions/1")).json()
    assert draft["status"] == "draft" and all(s["signed_on"] is None for s in draft["signatories"])
    assert (await client.get(f"/api/v1/contracts/{contract_id}/versions/999")).status_code == 404


async def test_an_amendment_keeps_the_rules_and_names_the_failing_change(
    client: httpx.AsyncClient, signed_contract: dict[str, Any]
) -> None:
    url = f"/api/v1/contracts/{signed_contract['id']}/amendments"
    fa1 = signed_contract["actions"][0]
    headers = WRITER | {"If-Match": signed_contract["etag"]}
    over = await client.post(
        url,
        json={
            "title": "Avenant",
            "changes": [
                {"op": "update_contract", "fields": {"title": "Renamed"}},
                {
                    "op": "add_plan_line",
                    "action_id": fa1["id"],
                    "line": {"financer_code": "ademe", "amount_cents": 1_500_000_000},
                },
            ],
        },
        headers=headers,
    )
    assert over.status_code == 422
    assert [e["field"] for e in over.json()["errors"]] == ["changes.1.line.amount_cents"]
    assert over.json()["over_by_cents"] == 500_000_000
    unknown = await client.post(
        url,
        json={
            "title": "Avenant",
            "changes": [
                {"op": "remove_action", "action_id": "00000000-0000-4000-8000-000000000000"}
            ],
        },
        headers=headers,
    )
    assert (
        unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "changes.0.action_id"
    )
    nothing = await client.post(
        url,
        json={
            "title": "Avenant",
            "changes": [{"op": "update_contract", "fields": {"title": signed_contract["title"]}}],
        },
        headers=headers,
    )
    assert nothing.status_code == 422
    bad_op = await client.post(
        url, json={"title": "Avenant", "changes": [{"op": "rewrite"}]}, headers=headers
    )
    assert bad_op.status_code == 422
    # Nothing of the refused amendments was stored.
    after = await client.get(f"/api/v1/contracts/{signed_contract['id']}")
    assert (
        after.json()["title"] == signed_contract["title"] and after.json()["amendment_count"] == 0
    )
    assert after.headers["etag"] == signed_contract["etag"]


async def test_a_draft_is_not_amended(client: httpx.AsyncClient, create_contract: Any) -> None:
    draft = await create_contract()
    r = await client.post(
        f"/api/v1/contracts/{draft['id']}/amendments",
        json={"title": "Avenant", "changes": [{"op": "update_contract", "fields": {"title": "x"}}]},
        headers=WRITER | {"If-Match": draft["etag"]},
    )
    assert r.status_code == 409


async def test_an_operator_amends_only_its_own_lines(
    client: httpx.AsyncClient, signed_contract: dict[str, Any]
) -> None:
    fa1 = signed_contract["actions"][0]
    own = next(x for x in fa1["plan_lines"] if x["financer_code"] == "bpifrance")
    theirs = next(x for x in fa1["plan_lines"] if x["financer_code"] != "bpifrance")
    url = f"/api/v1/contracts/{signed_contract['id']}/amendments"

    def change(line: dict[str, Any]) -> dict[str, Any]:
        return {
            "title": "Avenant financier",
            "changes": [
                {
                    "op": "update_plan_line",
                    "action_id": fa1["id"],
                    "line_id": line["id"],
                    "fields": {"amount_cents": 1},
                }
            ],
        }

    refused = await client.post(
        url, json=change(theirs), headers=BPIFRANCE | {"If-Match": signed_contract["etag"]}
    )
    assert refused.status_code == 403
    accepted = await client.post(
        url, json=change(own), headers=BPIFRANCE | {"If-Match": signed_contract["etag"]}
    )
    assert accepted.status_code == 201 and accepted.json()["number"] == 1
