from __future__ import annotations

import httpx


async def test_a_territory_is_read_by_code_with_members_and_geography(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/api/v1/territories/ti-2708")
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "Nord Franche-Comté"
    assert body["phase"] == 2
    assert {m["siren"] for m in body["members"]} >= {"200065647", "200069052"}
    assert [d["code"] for d in body["departments"]] == ["25", "70", "90"]
    assert body["regions"] == [{"code": "27", "name": "Bourgogne-Franche-Comté"}]
    assert r.headers["etag"]


async def test_phase_codes_collide_but_name_different_territories(
    client: httpx.AsyncClient,
) -> None:
    one = (await client.get("/api/v1/territories/8402")).json()
    two = (await client.get("/api/v1/territories/ti-8402")).json()
    assert one["phase"] == 1 and two["phase"] == 2
    assert one["name"] != two["name"] or one["members"] != two["members"]
