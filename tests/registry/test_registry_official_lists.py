"""Done when: every territory of both phases, every groupement and every commune of the official
lists can be read through the API, listed and one by one."""

from __future__ import annotations

import httpx
from registry_testing import API, read_all, seed_rows


async def test_every_territory_of_both_phases_is_listed_once(client: httpx.AsyncClient) -> None:
    items, pages = await read_all(client, f"{API}/territories", limit=100)
    assert pages == 4
    codes = [t["code"] for t in items]
    assert len(codes) == len(set(codes)) == 331
    expected = {t["code"]: t for t in seed_rows("territories.csv")}
    assert set(codes) == set(expected)
    for t in items:
        assert t["name"] == expected[t["code"]]["name"]
        assert t["phase"] == int(expected[t["code"]]["phase"])


async def test_every_territory_is_read_by_its_code_with_its_official_members(
    client: httpx.AsyncClient,
) -> None:
    members: dict[str, set[str]] = {}
    for row in seed_rows("territory_members.csv"):
        members.setdefault(row["territory_code"], set()).add(row["siren"])
    for row in seed_rows("territories.csv"):
        r = await client.get(f"{API}/territories/{row['code']}")
        assert r.status_code == 200, row["code"]
        body = r.json()
        assert (body["code"], body["name"], body["phase"]) == (
            row["code"],
            row["name"],
            int(row["phase"]),
        )
        assert {m["siren"] for m in body["members"]} == members.get(row["code"], set())


async def test_every_territory_spans_the_departments_and_regions_of_the_official_list(
    client: httpx.AsyncClient,
) -> None:
    items, _ = await read_all(client, f"{API}/territories", limit=1000)
    official = {t["code"]: t for t in seed_rows("territories.csv")}
    wrong = {}
    for t in items:
        row = official[t["code"]]
        departments = [d["code"] for d in t["departments"]]
        regions = [r["code"] for r in t["regions"]]
        if departments != row["department_codes"].split("|") or regions != row[
            "region_codes"
        ].split("|"):
            wrong[t["code"]] = (departments, regions)
        overlaps = [c for c in row["phase1_overlaps"].split("|") if c]
        assert t["phase1_overlaps"] == overlaps, t["code"]
    assert wrong == {}


async def test_every_groupement_is_listed_once_with_its_official_fields(
    client: httpx.AsyncClient,
) -> None:
    items, pages = await read_all(client, f"{API}/groupements", limit=1000)
    assert pages == 2
    sirens = [g["siren"] for g in items]
    assert len(sirens) == len(set(sirens))
    expected = {g["siren"]: g for g in seed_rows("groupements.csv")}
    assert set(sirens) == set(expected)
    for g in items:
        row = expected[g["siren"]]
        assert (g["name"], g["kind"], g["nature"]) == (row["name"], row["kind"], row["nature"])
        assert g["department_codes"] == row["department_codes"].split("|")


async def test_every_commune_is_listed_once(client: httpx.AsyncClient) -> None:
    items, pages = await read_all(client, f"{API}/communes", limit=1000)
    assert pages == 35
    codes = [c["insee"] for c in items]
    assert len(codes) == len(set(codes)) == 34871
    expected = {c["insee"]: c for c in seed_rows("communes.csv")}
    assert set(codes) == set(expected)
    for c in items[::97]:
        row = expected[c["insee"]]
        assert (c["name"], c["department_code"], c["epci_siren"] or "") == (
            row["name"],
            row["department_code"],
            row["epci_siren"],
        )


async def test_groupements_and_communes_are_read_by_code(client: httpx.AsyncClient) -> None:
    groupements = seed_rows("groupements.csv")
    for row in groupements[::10]:
        r = await client.get(f"{API}/groupements/{row['siren']}")
        assert r.status_code == 200, row["siren"]
        assert r.json()["name"] == row["name"]
    communes = seed_rows("communes.csv")
    # Every 250th commune, and every tenth of Corsica's 2A/2B codes and the overseas 97x codes.
    unusual = [c for c in communes if c["insee"][:2] in ("2A", "2B", "97")]
    sample = [*communes[::250], *unusual[::10], unusual[-1]]
    for row in sample:
        r = await client.get(f"{API}/communes/{row['insee']}")
        assert r.status_code == 200, row["insee"]
        body = r.json()
        assert (body["insee"], body["name"], body["department_code"]) == (
            row["insee"],
            row["name"],
            row["department_code"],
        )
