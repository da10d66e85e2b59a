"""Writes: creating, updating and archiving territories, their members and their governance."""

from __future__ import annotations

from typing import Any

import httpx
from registry_testing import API, current_etag, read_all

from tdi_kit.compression import identity_tags

# Free in both phases: CA Mâconnais Beaujolais (01|71, regions 84 and 27), CC de la Plaine
# Dijonnaise (21, region 27), CC Coeur de Sologne (41, region 24).
MACONNAIS = "200070308"
PLAINE_DIJONNAISE = "200000925"
COEUR_DE_SOLOGNE = "200000800"
# Members of Nord Franche-Comté in both phases (ti-2708 and 2707).
MONTBELIARD_AGGLO = "200065647"
GRAND_BELFORT = "200069052"


async def _create(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> httpx.Response:
    payload = {"code": "ti-9901", "name": "Val de Saône industriel", "phase": 2, **fields}
    return await client.post(f"{API}/territories", json=payload, headers=headers)


async def test_a_created_territory_derives_its_departments_and_regions_from_its_members(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    r = await _create(client, writer, members=[MACONNAIS, PLAINE_DIJONNAISE])
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"{API}/territories/ti-9901"
    body = r.json()
    assert body["code"] == "ti-9901"
    assert body["status"] == "active"
    assert body["version"] == 1
    assert [m["siren"] for m in body["members"]] == [PLAINE_DIJONNAISE, MACONNAIS]
    assert [d["code"] for d in body["departments"]] == ["01", "21", "71"]
    assert [r["code"] for r in body["regions"]] == ["27", "84"]
    # No ANCT value for a territory made here: the Région of most of its members' people.
    assert (body["region_code"], body["region_source"]) == ("27", "derived-majority-population")
    assert body["region_name"] == "Bourgogne-Franche-Comté"
    assert body["commune_count"] > 0
    read = await client.get(r.headers["location"])
    assert read.status_code == 200
    assert read.json() == body
    assert read.headers["etag"] == r.headers["etag"]
    # It is found by every list filter at once.
    listed, _ = await read_all(
        client,
        f"{API}/territories",
        region="27",
        touches_region="84",
        department="21",
        member=MACONNAIS,
        q="saone",
    )
    assert [t["code"] for t in listed] == ["ti-9901"]
    coverage = (await client.get(f"{API}/groupements/{MACONNAIS}/territories")).json()
    assert [t["code"] for t in coverage["items"]] == ["ti-9901"]


async def test_a_territory_code_says_its_phase(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    r = await _create(client, writer, code="9901")
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["code"]
    r = await _create(client, writer, code="ti-9901", phase=1)
    assert r.status_code == 422
    assert (await client.get(f"{API}/territories/ti-9901")).status_code == 404


async def test_a_territory_code_is_taken_once(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    r = await _create(client, writer, code="ti-2708")
    assert r.status_code == 409
    assert r.json()["territory_code"] == "ti-2708"
    assert (await client.get(f"{API}/territories/ti-2708")).json()["name"] == "Nord Franche-Comté"


async def test_a_groupement_cannot_belong_to_two_territories_of_one_phase(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    r = await _create(client, writer, members=[MONTBELIARD_AGGLO])
    assert r.status_code == 409
    body = r.json()
    assert body["territory_code"] == "ti-2708"
    assert body["siren"] == MONTBELIARD_AGGLO
    assert "ti-2708" in body["detail"]
    # The same through the member endpoint of an existing territory.
    etag = await current_etag(client, "ti-2703")
    r = await client.put(
        f"{API}/territories/ti-2703/members/{GRAND_BELFORT}",
        headers={**writer, "If-Match": etag},
    )
    assert r.status_code == 409
    assert r.json()["territory_code"] == "ti-2708"
    assert await current_etag(client, "ti-2703") == etag


async def test_a_groupement_may_belong_to_one_territory_of_each_phase(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    # Montbéliard Agglomération is in 2707 (phase 1) and ti-2708 (phase 2); it may join a new
    # phase-1 territory only once it leaves 2707.
    r = await _create(client, writer, code="9901", phase=1, members=[MONTBELIARD_AGGLO])
    assert r.status_code == 409
    assert r.json()["territory_code"] == "2707"
    etag = await current_etag(client, "2707")
    r = await client.delete(
        f"{API}/territories/2707/members/{MONTBELIARD_AGGLO}",
        headers={**writer, "If-Match": etag},
    )
    assert r.status_code == 200
    r = await _create(client, writer, code="9901", phase=1, members=[MONTBELIARD_AGGLO])
    assert r.status_code == 201, r.text
    coverage = (await client.get(f"{API}/groupements/{MONTBELIARD_AGGLO}/territories")).json()
    assert [(t["phase"], t["code"]) for t in coverage["items"]] == [(1, "9901"), (2, "ti-2708")]


async def test_a_failed_create_stores_nothing(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    r = await _create(client, writer, members=[MACONNAIS, MONTBELIARD_AGGLO])
    assert r.status_code == 409
    assert (await client.get(f"{API}/territories/ti-9901")).status_code == 404
    coverage = (await client.get(f"{API}/groupements/{MACONNAIS}/territories")).json()
    assert coverage == {"items": []}
    # The code is still free, and the first member with it.
    r = await _create(client, writer, members=[MACONNAIS])
    assert r.status_code == 201
    assert r.json()["version"] == 1


async def test_an_unknown_member_is_422_naming_its_place_in_the_list(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    # 123456782 has a valid Luhn key but names no groupement.
    r = await _create(client, writer, members=[MACONNAIS, "123456782"])
    assert r.status_code == 422
    assert [(e["location"], e["field"]) for e in r.json()["errors"]] == [("body", "members.1")]
    assert (await client.get(f"{API}/territories/ti-9901")).status_code == 404
    etag = await current_etag(client, "ti-2708")
    r = await client.put(
        f"{API}/territories/ti-2708/members/123456782", headers={**writer, "If-Match": etag}
    )
    assert r.status_code == 422
    assert [(e["location"], e["field"]) for e in r.json()["errors"]] == [("path", "siren")]


async def test_a_member_listed_twice_is_added_once(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    r = await _create(client, writer, members=[MACONNAIS, MACONNAIS])
    assert r.status_code == 201
    assert [m["siren"] for m in r.json()["members"]] == [MACONNAIS]


async def test_an_update_renames_the_territory_everywhere_and_moves_its_version_on(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    before = await client.get(f"{API}/territories/ti-2708")
    r = await client.patch(
        f"{API}/territories/ti-2708",
        json={"name": "Pays de Montbéliard et Belfort"},
        headers={**writer, "If-Match": before.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name"] == "Pays de Montbéliard et Belfort"
    assert body["version"] == before.json()["version"] + 1
    assert r.headers["etag"] != before.headers["etag"]
    after = await client.get(f"{API}/territories/ti-2708")
    assert after.json() == body
    assert after.headers["etag"] == r.headers["etag"]
    # The old tag no longer gets a 304.
    assert (
        await client.get(
            f"{API}/territories/ti-2708", headers={"If-None-Match": before.headers["etag"]}
        )
    ).status_code == 200
    found, _ = await read_all(client, f"{API}/territories", q="pays de montbeliard et belfort")
    assert [t["code"] for t in found] == ["ti-2708"]
    assert found[0]["name"] == "Pays de Montbéliard et Belfort"
    still, _ = await read_all(client, f"{API}/territories", q="nord franche comte")
    assert [t["code"] for t in still] == ["2707"]
    coverage = (await client.get(f"{API}/communes/25388/territories")).json()
    assert coverage["items"][1]["name"] == "Pays de Montbéliard et Belfort"
    outline = (await client.get(f"{API}/territories/ti-2708/outline")).json()
    assert outline["properties"]["name"] == "Pays de Montbéliard et Belfort"


async def test_an_update_needs_the_current_etag(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    url = f"{API}/territories/ti-2708"
    etag = await current_etag(client, "ti-2708")
    missing = await client.patch(url, json={"name": "X"}, headers=writer)
    assert missing.status_code == 428
    assert missing.headers["content-type"] == "application/problem+json"
    stale = await client.patch(url, json={"name": "X"}, headers={**writer, "If-Match": '"old"'})
    assert stale.status_code == 412
    # The plain ETag, good in If-Match whichever encoding the caller reads (`etag` is br's).
    assert stale.json()["current_etag"] == identity_tags(etag)
    assert await current_etag(client, "ti-2708") == etag
    # After a first update, the tag it was made with is stale.
    ok = await client.patch(url, json={"name": "Y"}, headers={**writer, "If-Match": etag})
    assert ok.status_code == 200
    again = await client.patch(url, json={"name": "Z"}, headers={**writer, "If-Match": etag})
    assert again.status_code == 412
    assert (await client.get(url)).json()["name"] == "Y"
    # `*` means "whatever the current version is".
    star = await client.patch(url, json={"name": "Z"}, headers={**writer, "If-Match": "*"})
    assert star.status_code == 200
    assert star.json()["name"] == "Z"


async def test_every_write_to_an_existing_territory_needs_if_match(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    base = f"{API}/territories/ti-2708"
    attempts = [
        ("PATCH", base, {"name": "X"}),
        ("POST", f"{base}/archive", None),
        ("PUT", f"{base}/members/{MACONNAIS}", None),
        ("DELETE", f"{base}/members/{GRAND_BELFORT}", None),
        ("PUT", f"{base}/governance", {"referents": []}),
    ]
    etag = await current_etag(client, "ti-2708")
    for method, url, payload in attempts:
        r = await client.request(method, url, json=payload, headers=writer)
        assert r.status_code == 428, (method, url)
        r = await client.request(method, url, json=payload, headers={**writer, "If-Match": '"x"'})
        assert r.status_code == 412, (method, url)
    assert await current_etag(client, "ti-2708") == etag


async def test_an_archived_territory_is_read_only_until_restored(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    base = f"{API}/territories/ti-2708"
    r = await client.post(
        f"{base}/archive", headers={**writer, "If-Match": await current_etag(client, "ti-2708")}
    )
    assert r.status_code == 200
    assert r.json()["status"] == "archived"
    archived_etag = r.headers["etag"]
    # Still readable, and listed as archived.
    assert (await client.get(base)).json()["status"] == "archived"
    listed, _ = await read_all(client, f"{API}/territories", status="archived")
    assert [t["code"] for t in listed] == ["ti-2708"]
    coverage = (await client.get(f"{API}/communes/25388/territories")).json()["items"]
    assert coverage[1]["status"] == "archived"
    writes = [
        ("PUT", f"{base}/members/{MACONNAIS}", None),
        ("DELETE", f"{base}/members/{GRAND_BELFORT}", None),
        ("PUT", f"{base}/governance", {"referents": []}),
        ("PATCH", base, {"name": "Renamed while archived"}),
        ("POST", f"{base}/archive", None),
    ]
    for method, url, payload in writes:
        r = await client.request(
            method, url, json=payload, headers={**writer, "If-Match": archived_etag}
        )
        assert r.status_code == 409, (method, url, r.text)
        assert "archived" in r.json()["detail"]
    assert await current_etag(client, "ti-2708") == archived_etag
    restored = await client.patch(
        base, json={"status": "active"}, headers={**writer, "If-Match": archived_etag}
    )
    assert restored.status_code == 200
    assert restored.json()["status"] == "active"
    r = await client.put(
        f"{base}/members/{MACONNAIS}", headers={**writer, "If-Match": restored.headers["etag"]}
    )
    assert r.status_code == 200


async def test_members_are_added_and_removed_and_the_geography_follows(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    base = f"{API}/territories/ti-2708"
    before = (await client.get(base)).json()
    r = await client.put(
        f"{base}/members/{COEUR_DE_SOLOGNE}",
        headers={**writer, "If-Match": await current_etag(client, "ti-2708")},
    )
    assert r.status_code == 200, r.text
    added = r.json()
    assert COEUR_DE_SOLOGNE in {m["siren"] for m in added["members"]}
    assert [d["code"] for d in added["departments"]] == ["25", "41", "70", "90"]
    assert [r["code"] for r in added["regions"]] == ["24", "27"]
    assert added["commune_count"] > before["commune_count"]
    assert added["version"] == before["version"] + 1
    in_41, _ = await read_all(client, f"{API}/territories", department="41", phase=2)
    assert "ti-2708" in {t["code"] for t in in_41}
    coverage = (await client.get(f"{API}/groupements/{COEUR_DE_SOLOGNE}/territories")).json()
    assert [t["code"] for t in coverage["items"]] == ["ti-2708"]

    r = await client.delete(
        f"{base}/members/{COEUR_DE_SOLOGNE}", headers={**writer, "If-Match": r.headers["etag"]}
    )
    assert r.status_code == 200
    removed = r.json()
    assert removed["members"] == before["members"]
    assert removed["departments"] == before["departments"]
    assert removed["regions"] == before["regions"]
    assert removed["commune_count"] == before["commune_count"]
    in_41, _ = await read_all(client, f"{API}/territories", department="41", phase=2)
    assert "ti-2708" not in {t["code"] for t in in_41}


async def test_removing_a_groupement_that_is_not_a_member_is_404(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    r = await client.delete(
        f"{API}/territories/ti-2708/members/{MACONNAIS}",
        headers={**writer, "If-Match": await current_etag(client, "ti-2708")},
    )
    assert r.status_code == 404
    assert MACONNAIS in r.json()["detail"]


async def test_putting_an_existing_member_again_sets_its_coverage(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    r = await client.put(
        f"{API}/territories/2707/members/{MONTBELIARD_AGGLO}",
        json={"coverage": 0.5},
        headers={**writer, "If-Match": await current_etag(client, "2707")},
    )
    assert r.status_code == 200
    members = {m["siren"]: m["coverage"] for m in r.json()["members"]}
    assert members[MONTBELIARD_AGGLO] == 0.5
    assert len(members) == 5


GOVERNANCE = {
    "binome": {
        "elected_official": {"name": "Marie-Noëlle Biguinet", "role": "Présidente de PMA"},
        "industrialist": {"name": "Jean Dupont", "role": "Stellantis Sochaux"},
    },
    "chef_de_projet": {
        "name": "Claire Martin",
        "email": "claire.martin@agglo-montbeliard.fr",
        "employer": "Pays de Montbéliard Agglomération",
    },
    "referents": [
        {"organisation_code": "bpifrance", "name": "Luc Bernard", "email": "luc@bpifrance.fr"},
        {"organisation_code": "banque-des-territoires", "name": "Anne Roux"},
    ],
}


async def test_governance_names_the_binome_the_chef_de_projet_and_one_referent_per_operator(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    r = await client.put(
        f"{API}/territories/ti-2708/governance",
        json=GOVERNANCE,
        headers={**writer, "If-Match": await current_etag(client, "ti-2708")},
    )
    assert r.status_code == 200, r.text
    # Contacts go to authenticated callers (see test_registry_contacts.py).
    governance = (await client.get(f"{API}/territories/ti-2708", headers=writer)).json()[
        "governance"
    ]
    assert governance["binome"] == GOVERNANCE["binome"]
    assert governance["chef_de_projet"] == GOVERNANCE["chef_de_projet"]
    assert governance["referents"] == [
        {
            "organisation_code": "banque-des-territoires",
            "organisation_name": "Banque des Territoires (groupe Caisse des Dépôts)",
            "name": "Anne Roux",
            "email": None,
        },
        {
            "organisation_code": "bpifrance",
            "organisation_name": governance["referents"][1]["organisation_name"],
            "name": "Luc Bernard",
            "email": "luc@bpifrance.fr",
        },
    ]
    assert governance["referents"][1]["organisation_name"].startswith("Bpifrance")
    # The whole governance is replaced: what the next PUT leaves out is gone.
    r = await client.put(
        f"{API}/territories/ti-2708/governance",
        json={"referents": [{"organisation_code": "ademe", "name": "Paul Petit"}]},
        headers={**writer, "If-Match": r.headers["etag"]},
    )
    assert r.status_code == 200
    assert r.json()["governance"] == {
        "binome": {"elected_official": None, "industrialist": None},
        "chef_de_projet": None,
        "referents": [
            {
                "organisation_code": "ademe",
                "organisation_name": "ADEME",
                "name": "Paul Petit",
                "email": None,
            }
        ],
    }


async def test_an_organisation_has_one_referent_per_territory(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    etag = await current_etag(client, "ti-2708")
    r = await client.put(
        f"{API}/territories/ti-2708/governance",
        json={
            "referents": [
                {"organisation_code": "bpifrance", "name": "Luc Bernard"},
                {"organisation_code": "bpifrance", "name": "Léa Durand"},
            ]
        },
        headers={**writer, "If-Match": etag},
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["referents"]
    assert await current_etag(client, "ti-2708") == etag


async def test_a_governance_naming_an_unknown_organisation_changes_nothing(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    first = await client.put(
        f"{API}/territories/ti-2708/governance",
        json=GOVERNANCE,
        headers={**writer, "If-Match": await current_etag(client, "ti-2708")},
    )
    # Read as the writer: anonymous callers get the contacts stripped, under another ETag.
    before = await client.get(f"{API}/territories/ti-2708", headers=writer)
    r = await client.put(
        f"{API}/territories/ti-2708/governance",
        json={
            "chef_de_projet": {"name": "Someone Else"},
            "referents": [{"organisation_code": "no-such-operator", "name": "Nobody"}],
        },
        headers={**writer, "If-Match": first.headers["etag"]},
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["referents.0.organisation_code"]
    after = await client.get(f"{API}/territories/ti-2708", headers=writer)
    assert after.json() == before.json()
    assert after.headers["etag"] == first.headers["etag"]


async def test_a_governance_with_a_malformed_email_is_422_naming_it(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    r = await client.put(
        f"{API}/territories/ti-2708/governance",
        json={"chef_de_projet": {"name": "Claire Martin", "email": "not-an-email"}},
        headers={**writer, "If-Match": await current_etag(client, "ti-2708")},
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["chef_de_projet.email"]


async def test_a_write_body_with_unknown_fields_is_refused(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    r = await _create(client, writer, members=[], status="archived")
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["status"]
    r = await client.patch(
        f"{API}/territories/ti-2708",
        json={"phase": 1},
        headers={**writer, "If-Match": await current_etag(client, "ti-2708")},
    )
    assert r.status_code == 422
    assert (await client.get(f"{API}/territories/ti-2708")).json()["phase"] == 2
