"""List mechanics (DESIGN.md §5): sort, cursor pagination, `Link`, limits and CSV export."""

from __future__ import annotations

import base64
import csv
import io
import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from registry_testing import API, read_all, seed_rows

from tdi_kit.text import fold


async def test_territories_sort_by_code_by_default(client: httpx.AsyncClient) -> None:
    items, _ = await read_all(client, f"{API}/territories", limit=1000)
    codes = [t["code"] for t in items]
    assert codes == sorted(codes)


async def test_territories_sort_by_name_descending_on_the_folded_name(
    client: httpx.AsyncClient,
) -> None:
    items, _ = await read_all(client, f"{API}/territories", limit=1000, sort="-name")
    keys = [fold(t["name"]) for t in items]
    # The first letter decides under any collation; "Évry" sorts among the E, not after the Z.
    assert [k[0] for k in keys] == sorted((k[0] for k in keys), reverse=True)
    assert keys[0] > keys[-1]
    # Equal names (a phase-1 and a phase-2 Nord Franche-Comté) fall back on the code, ascending.
    twins = [t["code"] for t in items if t["name"] == "Nord Franche-Comté"]
    assert twins == ["2707", "ti-2708"]


async def test_territories_sort_on_several_fields(client: httpx.AsyncClient) -> None:
    items, _ = await read_all(client, f"{API}/territories", limit=1000, sort="phase,-code")
    got = [(t["phase"], t["code"]) for t in items]
    phase1 = sorted((c for p, c in got if p == 1), reverse=True)
    phase2 = sorted((c for p, c in got if p == 2), reverse=True)
    assert got == [(1, c) for c in phase1] + [(2, c) for c in phase2]


@pytest.mark.parametrize("sort", [None, "-name", "phase,-code", "-phase,name", "name"])
async def test_pages_join_without_duplicates_or_gaps_whatever_the_sort(
    client: httpx.AsyncClient, sort: str | None
) -> None:
    params = {"sort": sort} if sort else {}
    whole, pages = await read_all(client, f"{API}/territories", limit=1000, **params)
    assert pages == 1
    paged, pages = await read_all(client, f"{API}/territories", limit=37, **params)
    assert pages == -(-331 // 37)
    assert [t["code"] for t in paged] == [t["code"] for t in whole]


@pytest.mark.parametrize("sort", ["-population", "name", "population,-insee"])
async def test_commune_pages_join_without_duplicates_or_gaps(
    client: httpx.AsyncClient, sort: str
) -> None:
    whole, _ = await read_all(client, f"{API}/communes", limit=1000, department="90", sort=sort)
    paged, pages = await read_all(client, f"{API}/communes", limit=7, department="90", sort=sort)
    assert [c["insee"] for c in paged] == [c["insee"] for c in whole]
    assert pages > 10
    in_90 = {c["insee"] for c in seed_rows("communes.csv") if c["department_code"] == "90"}
    assert {c["insee"] for c in whole} == in_90
    if sort == "-population":
        populations = [c["population"] or -1 for c in whole]
        assert populations == sorted(populations, reverse=True)


async def test_groupement_pages_join_when_sorted_by_population_with_missing_values(
    client: httpx.AsyncClient,
) -> None:
    # The three EPTs have no population: keyset pagination must still step over them.
    whole, _ = await read_all(client, f"{API}/groupements", limit=1000, sort="population")
    paged, _ = await read_all(client, f"{API}/groupements", limit=100, sort="population")
    assert [g["siren"] for g in paged] == [g["siren"] for g in whole]
    assert [g["population"] for g in whole[:3]] == [None, None, None]


async def test_the_link_header_points_at_the_next_page(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{API}/territories", params={"limit": 10, "phase": 2, "sort": "-name"})
    body = r.json()
    link = r.headers["link"]
    assert link.startswith("<") and link.endswith('>; rel="next"')
    url = urlsplit(link[1 : link.index(">")])
    assert url.path == f"{API}/territories"
    query = parse_qs(url.query)
    assert query == {
        "limit": ["10"],
        "phase": ["2"],
        "sort": ["-name"],
        "cursor": [body["next_cursor"]],
    }
    following = await client.get(link[1 : link.index(">")])
    assert following.status_code == 200
    assert {t["code"] for t in following.json()["items"]}.isdisjoint(
        t["code"] for t in body["items"]
    )


async def test_the_last_page_has_no_cursor_and_no_link(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{API}/territories", params={"limit": 183, "phase": 2})
    assert r.json()["next_cursor"] is None
    assert "link" not in r.headers


@pytest.mark.parametrize("cursor", ["abc", "!!!", "eyJ4Ijog", "bnVsbA", "eyJzIjoiY29kZSIsInYiOjF9"])
async def test_a_cursor_the_api_did_not_give_out_is_400(
    client: httpx.AsyncClient, cursor: str
) -> None:
    r = await client.get(f"{API}/territories", params={"cursor": cursor})
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert "cursor" in r.json()["detail"]


def _forged(sort: str, *values: object) -> str:
    raw = json.dumps({"s": sort, "v": list(values)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("sort", "cursor"),
    [
        # Values the database itself would refuse: NUL in text (PostgreSQL), integers out of
        # range (32-bit on PostgreSQL, 64-bit on SQLite), NULL and booleans in comparisons.
        (None, _forged("code", "ti-27\x0008")),
        ("phase", _forged("phase,code", 2**31, "ti-2708")),
        ("phase", _forged("phase,code", 10**20, "ti-2708")),
        ("phase", _forged("phase,code", None, "ti-2708")),
        ("phase", _forged("phase,code", True, "ti-2708")),
        ("phase", _forged("phase,code", [2], "ti-2708")),
        ("-name", _forged("-name,code", {"a": 1}, "ti-2708")),
    ],
)
async def test_a_forged_cursor_is_400_never_a_server_error(
    client: httpx.AsyncClient, sort: str | None, cursor: str
) -> None:
    params = {"cursor": cursor, **({"sort": sort} if sort else {})}
    r = await client.get(f"{API}/territories", params=params)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"


async def test_a_well_formed_cursor_of_our_own_making_resumes_after_its_keys(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get(
        f"{API}/territories",
        params={"sort": "phase", "cursor": _forged("phase,code", 2, "ti-2708")},
    )
    assert r.status_code == 200
    codes = [t["code"] for t in r.json()["items"]]
    assert codes[0] == "ti-2709"
    assert all(c > "ti-2708" for c in codes)


async def test_a_cursor_made_for_another_sort_is_400(client: httpx.AsyncClient) -> None:
    first = (await client.get(f"{API}/territories", params={"limit": 5, "sort": "-name"})).json()
    r = await client.get(
        f"{API}/territories", params={"limit": 5, "sort": "code", "cursor": first["next_cursor"]}
    )
    assert r.status_code == 400
    assert "another sort" in r.json()["detail"]
    # Nor does a territories cursor page through communes.
    r = await client.get(f"{API}/communes", params={"cursor": first["next_cursor"]})
    assert r.status_code == 400


@pytest.mark.parametrize("limit", [0, -1, 1001])
async def test_a_limit_out_of_range_is_422_naming_limit(
    client: httpx.AsyncClient, limit: int
) -> None:
    r = await client.get(f"{API}/territories", params={"limit": limit})
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["limit"]


async def test_a_limit_of_1000_is_served_and_the_default_is_50(client: httpx.AsyncClient) -> None:
    assert (
        len((await client.get(f"{API}/communes", params={"limit": 1000})).json()["items"]) == 1000
    )
    assert len((await client.get(f"{API}/communes")).json()["items"]) == 50


@pytest.mark.parametrize("sort", ["population", "code,nom", "-", "name;drop"])
async def test_an_unknown_sort_field_is_422_naming_sort(
    client: httpx.AsyncClient, sort: str
) -> None:
    r = await client.get(f"{API}/territories", params={"sort": sort})
    assert r.status_code == 422
    body = r.json()
    assert [e["field"] for e in body["errors"]] == ["sort"]
    assert body["errors"][0]["location"] == "query"


def _parse_csv(r: httpx.Response) -> list[dict[str, str]]:
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


async def test_territories_export_as_csv_with_format_csv(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{API}/territories", params={"format": "csv", "phase": 2})
    assert r.headers["content-disposition"] == 'attachment; filename="territories.csv"'
    rows = _parse_csv(r)
    assert list(rows[0]) == [
        "code",
        "name",
        "phase",
        "phase_starts_on",
        "phase_ends_on",
        "status",
        "region_code",
        "region_name",
        "region_source",
        "regions",
        "departments",
        "members",
        "commune_count",
        "updated_at",
    ]
    # Every matching row, not one page.
    assert len(rows) == 183
    nfc = next(row for row in rows if row["code"] == "ti-2708")
    assert nfc["name"] == "Nord Franche-Comté"
    assert (nfc["region_code"], nfc["region_source"]) == ("27", "anct")
    assert (nfc["phase_starts_on"], nfc["phase_ends_on"]) == ("2023-01-01", "2027-12-31")
    assert nfc["departments"] == "25|70|90"
    assert nfc["members"] == "200065647|200069052|200069060|247000722|249000241"
    assert [row["code"] for row in rows] == sorted(row["code"] for row in rows)


async def test_territories_export_as_csv_with_accept_text_csv(client: httpx.AsyncClient) -> None:
    r = await client.get(
        f"{API}/territories", params={"sort": "-name"}, headers={"Accept": "text/csv"}
    )
    rows = _parse_csv(r)
    assert len(rows) == 331
    json_order, _ = await read_all(client, f"{API}/territories", limit=1000, sort="-name")
    assert [row["code"] for row in rows] == [t["code"] for t in json_order]


async def test_communes_export_every_matching_row_as_csv(client: httpx.AsyncClient) -> None:
    rows = _parse_csv(
        await client.get(f"{API}/communes", params={"format": "csv", "department": "25"})
    )
    expected = [c for c in seed_rows("communes.csv") if c["department_code"] == "25"]
    assert len(expected) > 500
    assert [row["insee"] for row in rows] == [c["insee"] for c in expected]
    assert list(rows[0]) == [
        "insee",
        "name",
        "department_code",
        "siren",
        "epci_siren",
        "population",
    ]
    montbeliard = next(row for row in rows if row["insee"] == "25388")
    assert montbeliard == {
        "insee": "25388",
        "name": "Montbéliard",
        "department_code": "25",
        "siren": "212503882",
        "epci_siren": "200065647",
        "population": "25516",
    }


async def test_other_lists_export_as_csv(client: httpx.AsyncClient) -> None:
    groupements = _parse_csv(
        await client.get(
            f"{API}/groupements", params={"department": "90"}, headers={"Accept": "text/csv"}
        )
    )
    assert "200069052" in {g["siren"] for g in groupements}
    organisations = _parse_csv(await client.get(f"{API}/organisations?format=csv"))
    assert len(organisations) == len(seed_rows("organisations.csv"))
    communes = _parse_csv(await client.get(f"{API}/territories/ti-2708/communes?format=csv"))
    document = (await client.get(f"{API}/territories/ti-2708")).json()
    assert len(communes) == document["commune_count"]


async def test_an_unknown_format_is_422(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{API}/territories", params={"format": "xml"})
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["format"]
