"""Anonymous reads: territories by code and filtered, what covers a commune, outlines, the map."""

from __future__ import annotations

import httpx
import pytest
from registry_testing import API, read_all, seed_rows

from tdi_kit.conditional import etag_for

NORD_FRANCHE_COMTE = {"200065647", "200069052", "200069060", "247000722", "249000241"}


async def test_a_territory_is_read_by_code_with_members_and_geography(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get(f"{API}/territories/ti-2708")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["name"] == "Nord Franche-Comté"
    assert body["phase"] == 2
    assert body["status"] == "active"
    assert {m["siren"] for m in body["members"]} == NORD_FRANCHE_COMTE
    assert [m["siren"] for m in body["members"]] == sorted(NORD_FRANCHE_COMTE)
    montbeliard = next(m for m in body["members"] if m["siren"] == "200065647")
    assert montbeliard == {
        "siren": "200065647",
        "name": "CA Pays de Montbéliard Agglomération",
        "kind": "epci",
        "nature": "CA",
        "coverage": None,
    }
    assert [d["code"] for d in body["departments"]] == ["25", "70", "90"]
    assert body["regions"] == [{"code": "27", "name": "Bourgogne-Franche-Comté"}]
    assert body["phase1_overlaps"] == ["2707"]
    assert body["governance"] == {
        "binome": {"elected_official": None, "industrialist": None},
        "chef_de_projet": None,
        "referents": [],
    }
    assert body["commune_count"] > 100
    assert body["version"] >= 1
    # The ETag is the digest of the very bytes served (before compression, which suffixes it).
    assert r.headers["etag"] == etag_for(r.content)[:-1] + '-br"'
    assert r.headers["content-encoding"] == "br"


async def test_a_phase_one_member_carries_the_share_of_its_communes_covered(
    client: httpx.AsyncClient,
) -> None:
    body = (await client.get(f"{API}/territories/2707")).json()
    coverage = {m["siren"]: m["coverage"] for m in body["members"]}
    assert coverage["200065647"] == pytest.approx(0.986)
    assert coverage["200069052"] == 1.0
    listed = sum(
        1 for row in seed_rows("territory_communes.csv") if row["territory_code"] == "2707"
    )
    assert body["commune_count"] == listed


async def test_phase_codes_collide_but_name_different_territories(
    client: httpx.AsyncClient,
) -> None:
    one = (await client.get(f"{API}/territories/1104")).json()
    two = (await client.get(f"{API}/territories/ti-1104")).json()
    assert (one["phase"], one["name"]) == (1, "Grand-Orly Seine Bièvre")
    assert (two["phase"], two["name"]) == (2, "Grand Roissy Le Bourget")


async def test_a_territory_read_answers_304_to_its_own_etag(client: httpx.AsyncClient) -> None:
    first = await client.get(f"{API}/territories/ti-2708")
    etag = first.headers["etag"]
    again = await client.get(f"{API}/territories/ti-2708", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    weak = await client.get(f"{API}/territories/ti-2708", headers={"If-None-Match": f"W/{etag}"})
    assert weak.status_code == 304
    other = await client.get(f"{API}/territories/ti-2708", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200
    assert other.json() == first.json()
    # Another territory's tag does not match this one.
    assert (await client.get(f"{API}/territories/2707")).headers["etag"] != etag


async def test_a_list_answers_304_to_its_own_etag(client: httpx.AsyncClient) -> None:
    url = f"{API}/territories?region=27&phase=2"
    first = await client.get(url)
    etag = first.headers["etag"]
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = await client.get(
        f"{API}/territories?region=27&phase=1", headers={"If-None-Match": etag}
    )
    assert other.status_code == 200
    assert other.headers["etag"] != etag


async def _codes(client: httpx.AsyncClient, **params: object) -> list[str]:
    items, _ = await read_all(client, f"{API}/territories", limit=1000, **params)
    return [t["code"] for t in items]


async def test_territories_are_filtered_by_phase_and_status(client: httpx.AsyncClient) -> None:
    phase2 = await _codes(client, phase=2)
    phase1 = await _codes(client, phase=1)
    assert len(phase2) == 183 and all(c.startswith("ti-") for c in phase2)
    assert len(phase1) == 148 and not any(c.startswith("ti-") for c in phase1)
    # Phase 1 closed at the end of 2022: its territories are `ended`, phase 2's `active`.
    assert await _codes(client, status="active") == phase2
    assert await _codes(client, status="ended") == phase1
    assert await _codes(client, status="archived") == []


async def test_territories_are_filtered_by_region_and_department(
    client: httpx.AsyncClient,
) -> None:
    official = seed_rows("territories.csv")
    touching_27 = sorted(t["code"] for t in official if "27" in t["region_codes"].split("|"))
    assert await _codes(client, touches_region="27") == touching_27
    in_27 = sorted(t["code"] for t in official if t["region_code"] == "27")
    assert await _codes(client, region="27") == in_27
    # Some territories touch Bourgogne-Franche-Comté without being officially in it.
    assert set(in_27) < set(touching_27)
    in_90 = sorted(t["code"] for t in official if "90" in t["department_codes"].split("|"))
    assert await _codes(client, department="90") == in_90
    assert "ti-2708" in in_90
    in_2a = sorted(t["code"] for t in official if "2A" in t["department_codes"].split("|"))
    assert in_2a and await _codes(client, department="2A") == in_2a
    assert await _codes(client, region="27", department="90", phase=1) == ["2707"]
    # A region without any territory is an empty list, not an error.
    assert await _codes(client, region="99") == []


async def test_territories_are_filtered_by_member_siren_and_commune_insee(
    client: httpx.AsyncClient,
) -> None:
    assert await _codes(client, member="200065647") == ["2707", "ti-2708"]
    assert await _codes(client, member="200065647", phase=2) == ["ti-2708"]
    assert await _codes(client, commune="25388") == ["2707", "ti-2708"]
    # Cercy-la-Tour is a member of ti-2707 on its own, not through an EPCI.
    assert "ti-2707" in await _codes(client, commune="58048")


@pytest.mark.parametrize(
    "q",
    ["MONTBELIARD", "montbéliard-agglo", "Montbéliard, Agglomération", "  nord   FRANCHE comte "],
)
async def test_text_search_ignores_case_accents_and_punctuation(
    client: httpx.AsyncClient, q: str
) -> None:
    codes = await _codes(client, q=q)
    assert "ti-2708" in codes
    assert set(codes) <= {"2707", "ti-2708"}


async def test_text_search_finds_a_territory_by_its_code_and_needs_every_word(
    client: httpx.AsyncClient,
) -> None:
    assert await _codes(client, q="ti-2708") == ["ti-2708"]
    assert await _codes(client, q="montbeliard belfort") == ["2707", "ti-2708"]
    assert await _codes(client, q="montbeliard lyon") == []
    # A LIKE wildcard in the query is a character to find, not a wildcard.
    assert await _codes(client, q="%") == _all_codes()
    assert await _codes(client, q="_") == _all_codes()


def _all_codes() -> list[str]:
    return sorted(t["code"] for t in seed_rows("territories.csv"))


async def test_a_commune_in_both_phases_is_covered_by_one_territory_of_each(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get(f"{API}/communes/25388/territories")
    assert r.status_code == 200
    assert r.json()["items"] == [
        {
            "phase": 1,
            "code": "2707",
            "name": "Nord Franche-Comté",
            "status": "ended",
            "via_siren": "200065647",
        },
        {
            "phase": 2,
            "code": "ti-2708",
            "name": "Nord Franche-Comté",
            "status": "active",
            "via_siren": "200065647",
        },
    ]


async def test_a_commune_outside_the_programme_is_covered_by_nothing(
    client: httpx.AsyncClient,
) -> None:
    covered = {row["insee"] for row in seed_rows("territory_communes.csv")}
    members = {row["siren"] for row in seed_rows("territory_members.csv")}
    outside = next(
        c
        for c in seed_rows("communes.csv")
        if c["insee"] not in covered
        and c["epci_siren"] not in members
        and c["siren"] not in members
    )
    r = await client.get(f"{API}/communes/{outside['insee']}/territories")
    assert r.status_code == 200
    assert r.json() == {"items": []}


async def test_a_groupement_is_covered_by_the_territories_it_belongs_to(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get(f"{API}/groupements/200069052/territories")
    assert r.status_code == 200
    assert [(t["phase"], t["code"], t["via_siren"]) for t in r.json()["items"]] == [
        (1, "2707", "200069052"),
        (2, "ti-2708", "200069052"),
    ]


async def test_the_outlines_are_a_feature_collection_of_the_183_phase_two_territories(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get(f"{API}/territory-outlines")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/geo+json"
    body = r.json()
    assert body["type"] == "FeatureCollection"
    assert len(body["features"]) == 183
    codes = {f["id"] for f in body["features"]}
    assert codes == {t["code"] for t in seed_rows("territories.csv") if t["phase"] == "2"}
    for feature in body["features"]:
        assert feature["type"] == "Feature"
        assert feature["properties"]["code"] == feature["id"]
        assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    in_27 = (await client.get(f"{API}/territory-outlines", params={"region": "27"})).json()
    assert {f["id"] for f in in_27["features"]} == set(await _codes(client, region="27", phase=2))


async def test_a_phase_two_outline_is_one_feature_in_wgs84(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{API}/territories/ti-2708/outline")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/geo+json"
    feature = r.json()
    assert feature["type"] == "Feature"
    assert feature["id"] == "ti-2708"
    assert feature["properties"] == {
        "code": "ti-2708",
        "name": "Nord Franche-Comté",
        "status": "active",
    }
    lon, lat = _first_point(feature["geometry"])
    # Around Montbéliard and Belfort.
    assert 6 < lon < 8 and 47 < lat < 48.5


def _first_point(geometry: dict) -> tuple[float, float]:
    coordinates = geometry["coordinates"]
    while isinstance(coordinates[0], list):
        coordinates = coordinates[0]
    return coordinates[0], coordinates[1]


async def test_a_phase_one_territory_has_no_outline(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{API}/territories/2707/outline")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 404
    assert "2707" in r.json()["detail"]


async def test_a_phase_one_territory_lists_the_communes_of_its_official_list(
    client: httpx.AsyncClient,
) -> None:
    items, _ = await read_all(client, f"{API}/territories/2707/communes", limit=50)
    listed = {
        row["insee"]
        for row in seed_rows("territory_communes.csv")
        if row["territory_code"] == "2707"
    }
    # The list is in COG 2020 codes: a commune merged since is no longer one to read.
    current = {c["insee"] for c in seed_rows("communes.csv")}
    assert [c["insee"] for c in items] == sorted(listed & current)
    assert "25388" in listed


async def test_a_phase_two_territory_lists_the_communes_of_its_members(
    client: httpx.AsyncClient,
) -> None:
    items, pages = await read_all(client, f"{API}/territories/ti-2708/communes", limit=50)
    expected = {
        c["insee"]
        for c in seed_rows("communes.csv")
        if c["epci_siren"] in NORD_FRANCHE_COMTE or c["siren"] in NORD_FRANCHE_COMTE
    }
    assert {c["insee"] for c in items} == expected
    assert pages == -(-len(expected) // 50)
    document = (await client.get(f"{API}/territories/ti-2708")).json()
    assert document["commune_count"] == len(expected)


async def test_regions_and_departments_are_listed_and_read_by_code(
    client: httpx.AsyncClient,
) -> None:
    regions = (await client.get(f"{API}/regions")).json()
    assert len(regions) == 18
    assert {"code": "27", "name": "Bourgogne-Franche-Comté"} in regions
    departments = (await client.get(f"{API}/departments")).json()
    assert len(departments) == 101
    assert {d["code"] for d in departments} >= {"2A", "2B", "971", "976", "90"}
    in_27 = (await client.get(f"{API}/departments", params={"region": "27"})).json()
    assert [d["code"] for d in in_27] == ["21", "25", "39", "58", "70", "71", "89", "90"]
    assert (await client.get(f"{API}/regions/27")).json() == regions[
        [r["code"] for r in regions].index("27")
    ]
    assert (await client.get(f"{API}/departments/2A")).json()["region_code"] == "94"
    assert (await client.get(f"{API}/departments/90")).json() == {
        "code": "90",
        "name": "Territoire de Belfort",
        "region_code": "27",
    }


async def test_a_groupement_is_read_with_its_departments(client: httpx.AsyncClient) -> None:
    body = (await client.get(f"{API}/groupements/200057990")).json()
    assert body == {
        "siren": "200057990",
        "name": body["name"],
        "kind": "ept",
        "nature": "EPT",
        "seat_department_code": "92",
        "region_code": "11",
        "department_codes": ["92", "95"],
        "population": None,
    }


async def test_groupements_and_communes_are_filtered(client: httpx.AsyncClient) -> None:
    epts, _ = await read_all(client, f"{API}/groupements", kind="ept")
    assert {g["siren"] for g in epts} == {"200057990", "200058097", "200058014"}
    in_90, _ = await read_all(client, f"{API}/groupements", department="90", limit=1000)
    assert "200069052" in {g["siren"] for g in in_90}
    assert all("90" in g["department_codes"] for g in in_90)
    found, _ = await read_all(client, f"{API}/groupements", q="MONTBELIARD agglo")
    assert [g["siren"] for g in found] == ["200065647"]
    communes, _ = await read_all(client, f"{API}/communes", epci="200065647", limit=1000)
    expected = {c["insee"] for c in seed_rows("communes.csv") if c["epci_siren"] == "200065647"}
    assert {c["insee"] for c in communes} == expected
    montbeliard, _ = await read_all(client, f"{API}/communes", q="montbeliard", department="25")
    assert "25388" in {c["insee"] for c in montbeliard}


async def test_organisations_are_listed_filtered_and_read_by_code(
    client: httpx.AsyncClient,
) -> None:
    items, _ = await read_all(client, f"{API}/organisations", limit=20)
    expected = {o["code"] for o in seed_rows("organisations.csv")}
    assert {o["code"] for o in items} == expected
    operators, _ = await read_all(client, f"{API}/organisations", kind="operator")
    assert {o["code"] for o in operators} >= {"bpifrance", "banque-des-territoires", "ademe"}
    assert all(o["kind"] == "operator" for o in operators)
    bpi = (await client.get(f"{API}/organisations/bpifrance")).json()
    assert bpi["kind"] == "operator" and bpi["name"].startswith("Bpifrance")
    in_27, _ = await read_all(client, f"{API}/organisations", region="27")
    assert {o["code"] for o in in_27} == {"region-27", "prefecture-27"}
