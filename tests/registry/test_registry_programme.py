"""The programme in time and space: official Régions, phase dates and status, the programme
resource and the dated milestones of the public record."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import httpx
import pytest
from registry_testing import API, read_all, seed_rows
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.models import Commune, Department, ProgrammePhase, TerritoryCommune
from registry.programme import rules
from registry.seed.programme import MILESTONES
from registry.territories import documents
from registry.territories import queries as territory_queries


async def _territories(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    items, _ = await read_all(client, f"{API}/territories", limit=1000, **params)
    return items


# Official Régions ----------------------------------------------------------------------------


async def test_every_phase_2_territory_is_in_the_region_anct_gives_it(
    client: httpx.AsyncClient,
) -> None:
    anct = {t["code"]: t["region_code"] for t in seed_rows("territories.csv") if t["phase"] == "2"}
    names = {r["code"]: r["name"] for r in seed_rows("regions.csv")}
    phase2 = await _territories(client, phase=2)
    assert {t["code"]: t["region_code"] for t in phase2} == anct
    assert all(t["region_source"] == "anct" for t in phase2)
    assert all(t["region_name"] == names[t["region_code"]] for t in phase2)
    # Counted once each, in its official Région, the phase adds up to its 183 territories.
    per_region = Counter(t["region_code"] for t in phase2)
    assert sum(per_region.values()) == 183
    assert per_region == Counter(anct.values())
    # ANCT puts Vallée de la Bresle – Vimeu in Normandie, though it reaches into the Somme.
    bresle = next(t for t in phase2 if t["code"] == "ti-2809")
    assert (bresle["region_code"], bresle["region_name"]) == ("28", "Normandie")
    assert [r["code"] for r in bresle["regions"]] == ["28", "32"]


async def test_a_phase_1_region_is_where_most_of_its_people_live_and_says_it_is_derived(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    seeded = {
        t["code"]: t["region_code"] for t in seed_rows("territories.csv") if t["phase"] == "1"
    }
    phase1 = await _territories(client, phase=1)
    assert {t["code"]: t["region_code"] for t in phase1} == seeded
    assert all(t["region_source"] == "derived-majority-population" for t in phase1)
    assert all(t["region_code"] in [r["code"] for r in t["regions"]] for t in phase1)
    # The phase-1 Vallée de la Bresle – Vimeu spans Normandie and Hauts-de-France: its listed
    # communes' people decide, whatever ANCT later did with its phase-2 successor.
    people = dict(
        (
            await session.execute(
                select(Department.region_code, func.sum(Commune.population))
                .join(Department, Department.code == Commune.department_code)
                .join(TerritoryCommune, TerritoryCommune.insee == Commune.insee)
                .where(TerritoryCommune.territory_code == "3213")
                .group_by(Department.region_code)
            )
        ).all()
    )
    assert set(people) == {"28", "32"}
    assert max(people, key=people.__getitem__) == "32"
    assert next(t for t in phase1 if t["code"] == "3213")["region_code"] == "32"


async def test_region_filters_on_the_official_region_and_touches_region_on_any_overlap(
    client: httpx.AsyncClient,
) -> None:
    official = [t["code"] for t in await _territories(client, region="32", phase=2)]
    touching = [t["code"] for t in await _territories(client, touches_region="32", phase=2)]
    assert "ti-2809" not in official
    assert "ti-2809" in touching
    assert set(official) < set(touching)
    # Both at once: officially in Normandie and reaching into Hauts-de-France.
    both = await _territories(client, region="28", touches_region="32")
    assert [t["code"] for t in both] == ["ti-2809"]
    outlines = (await client.get(f"{API}/territory-outlines", params={"region": "32"})).json()
    assert sorted(f["id"] for f in outlines["features"]) == sorted(official)
    bad = await client.get(f"{API}/territories", params={"touches_region": "3"})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["touches_region"]


async def test_a_territory_made_without_members_has_no_official_region(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    r = await client.post(
        f"{API}/territories",
        json={"code": "ti-9902", "name": "Sans membres", "phase": 2},
        headers=writer,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["region_code"], body["region_name"], body["region_source"]) == (None,) * 3
    assert body["regions"] == []


# Phases in time ------------------------------------------------------------------------------


async def test_phase_1_territories_are_ended_with_their_phase_dates(
    client: httpx.AsyncClient,
) -> None:
    old = (await client.get(f"{API}/territories/2707")).json()
    new = (await client.get(f"{API}/territories/ti-2708")).json()
    assert (old["status"], old["phase_starts_on"], old["phase_ends_on"]) == (
        "ended",
        "2018-11-22",
        "2022-12-31",
    )
    assert (new["status"], new["phase_starts_on"], new["phase_ends_on"]) == (
        "active",
        "2023-01-01",
        "2027-12-31",
    )
    current = await _territories(client, phase="current")
    assert len(current) == 183 and {t["phase"] for t in current} == {2}
    bad = await client.get(f"{API}/territories", params={"phase": "previous"})
    assert bad.status_code == 422


async def test_a_restored_phase_1_territory_is_ended_not_active(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    url = f"{API}/territories/2707"
    etag = (await client.get(url)).headers["etag"]
    archived = await client.post(f"{url}/archive", headers={**writer, "If-Match": etag})
    assert archived.json()["status"] == "archived"
    restored = await client.patch(
        url, json={"status": "active"}, headers={**writer, "If-Match": archived.headers["etag"]}
    )
    assert restored.status_code == 200, restored.text
    assert restored.json()["status"] == "ended"
    # `ended` follows from the calendar: it cannot be written.
    r = await client.patch(
        url, json={"status": "ended"}, headers={**writer, "If-Match": restored.headers["etag"]}
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["status"]


def test_a_phase_is_current_from_its_first_day_to_its_last_and_ended_after() -> None:
    phase1 = ProgrammePhase(starts_on=dt.date(2018, 11, 22), ends_on=dt.date(2022, 12, 31))
    assert rules.phase_status(phase1, dt.date(2018, 11, 21)) == "upcoming"
    assert rules.phase_status(phase1, dt.date(2018, 11, 22)) == "current"
    assert rules.phase_status(phase1, dt.date(2022, 12, 31)) == "current"
    assert rules.phase_status(phase1, dt.date(2023, 1, 1)) == "ended"


async def test_a_territory_written_while_its_phase_ran_was_active(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(documents, "today", lambda: dt.date(2022, 6, 1))
    territory = await territory_queries.by_code(session, "2707")
    assert territory is not None
    await documents.refresh(session, territory)
    assert territory.status == "active"
    monkeypatch.setattr(documents, "today", lambda: dt.date(2023, 1, 1))
    await documents.refresh(session, territory)
    assert territory.status == "ended"
    assert '"status":"ended"' in territory.document


# The programme resource ----------------------------------------------------------------------


async def test_the_programme_gives_its_phases_dates_and_counts_with_their_sources(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get(f"{API}/programme")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["current_phase"] == 2
    assert "never 0" in body["record"]
    one, two = body["phases"]
    assert (one["phase"], one["starts_on"], one["ends_on"]) == (1, "2018-11-22", "2022-12-31")
    assert (one["status"], one["status_label"]) == ("ended", "terminée")
    assert (two["phase"], two["starts_on"], two["ends_on"]) == (2, "2023-01-01", "2027-12-31")
    assert (two["status"], two["status_label"]) == ("current", "en cours")
    assert one["territories"]["in_register"] == 148
    assert one["territories"]["by_status"] == {"ended": 148}
    assert two["territories"]["in_register"] == 183
    assert two["territories"]["by_status"] == {"active": 183}
    for phase in (one, two):
        tally = phase["territories"]["by_region"]
        assert sum(r["count"] for r in tally) == phase["territories"]["in_register"]
        assert all(r["region_name"] for r in tally)
    # The register holds the 2020 list (148); the record's last count for phase 1 is 149.
    assert one["territories"]["announced"] == 149
    announced = one["territories"]["announced_by"]
    assert announced["date"] == "2022-12-31"
    assert (
        announced["source"]["url"]
        == "https://www.data.gouv.fr/fr/datasets/5fa9901d5a498251f21963ea/"
    )
    assert "148" in announced["caveat"]
    assert two["territories"]["announced"] == 183
    assert two["territories"]["announced_by"]["code"] == "2023-11-09-territories"
    assert "committable until the end of 2022" in one["caveat"]


# Milestones ----------------------------------------------------------------------------------


async def test_every_milestone_has_its_date_its_measure_its_value_and_its_source(
    client: httpx.AsyncClient,
) -> None:
    items, _ = await read_all(client, f"{API}/programme/milestones", limit=5)
    assert len(items) == len(MILESTONES) == len(seed_rows("programme_milestones.csv"))
    assert [m["date"] for m in items] == sorted(m["date"] for m in items)
    for m in items:
        assert m["source"]["title"], m["code"]
        assert m["measure_label"] and m["kind_label"], m["code"]
        # A count or an amount, never a 0 standing for "unknown".
        assert (m["value"], m["amount_cents"]) != (None, None), m["code"]
        assert 0 not in (m["value"], m["amount_cents"]), m["code"]
    counts = {m["date"]: m["value"] for m in items if m["measure"] == "territories"}
    assert counts == {
        "2018-11-22": 124,
        "2019-03-05": 136,
        "2019-09-24": 144,
        "2019-11-14": 146,
        "2021-01-01": 148,
        "2022-12-31": 149,
        "2023-11-09": 183,
    }
    by_code = {m["code"]: m for m in items}
    assert by_code["2019-01-prefigurateurs"]["value"] == 29
    assert by_code["2019-01-prefigurateurs"]["date_precision"] == "month"
    assert by_code["2019-04-30-protocoles"]["value"] == 13
    assert by_code["2018-11-22-amount-announced"]["amount_cents"] == 136_000_000_000
    assert by_code["2018-11-22-amount-announced"]["value"] is None
    bdt = by_code["2019-09-24-amount-engaged-banque-des-territoires"]
    assert (bdt["amount_cents"], bdt["organisation_code"]) == (
        18_000_000_000,
        "banque-des-territoires",
    )
    assert "108 M€" in bdt["caveat"]
    # The record gives no address for the press: none is made up.
    assert by_code["2019-03-05-territories"]["source"] == {
        "title": "AdCF, « Les territoires d'industrie réunis à Lyon »",
        "url": None,
    }


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("2018-11-21", None),
        ("2018-11-22", (124, "2018-11-22")),
        ("2019-06-01", (136, "2019-03-05")),
        ("2019-09-24", (144, "2019-09-24")),
        ("2022-06-30", (148, "2021-01-01")),
        ("2023-06-01", (149, "2022-12-31")),
        ("2026-12-02", (183, "2023-11-09")),
    ],
)
async def test_as_of_says_how_many_territories_there_were_on_a_day_and_according_to_whom(
    client: httpx.AsyncClient, as_of: str, expected: tuple[int, str] | None
) -> None:
    r = await client.get(
        f"{API}/programme/milestones", params={"as_of": as_of, "measure": "territories"}
    )
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    if expected is None:
        assert items == []
        return
    [count] = items
    assert (count["value"], count["date"]) == expected
    assert count["source"]["title"]


async def test_as_of_keeps_the_latest_figure_of_each_measure_and_of_whom_it_speaks(
    client: httpx.AsyncClient,
) -> None:
    items, _ = await read_all(client, f"{API}/programme/milestones", as_of="2019-10-01")
    latest = {(m["measure"], m["organisation_code"]): m["code"] for m in items}
    assert len(latest) == len(items)  # one figure per measure and subject
    assert latest[("amount_engaged", None)] == "2019-09-24-amount-engaged"
    assert latest[("amount_engaged", "banque-des-territoires")] == (
        "2019-09-24-amount-engaged-banque-des-territoires"
    )
    assert latest[("projects_identified", None)] == "2019-09-24-projects"
    assert all(m["date"] <= "2019-10-01" for m in items)


async def test_milestones_are_filtered_by_kind_phase_and_measure(
    client: httpx.AsyncClient,
) -> None:
    signatures, _ = await read_all(client, f"{API}/programme/milestones", kind="signature")
    assert {m["code"] for m in signatures} == {
        "2019-03-05-conventions",
        "2019-04-30-protocoles",
        "2019-09-24-with-protocol-or-contract",
    }
    phase2, _ = await read_all(client, f"{API}/programme/milestones", phase=2)
    assert phase2 and {m["phase"] for m in phase2} == {2}
    money, _ = await read_all(client, f"{API}/programme/milestones", measure="amount_engaged")
    assert {m["amount_cents"] for m in money} == {26_000_000_000, 18_000_000_000}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"as_of": "0"}, "as_of"),
        ({"as_of": "2019-02-30"}, "as_of"),
        ({"as_of": "01/06/2019"}, "as_of"),
        ({"measure": "money"}, "measure"),
        ({"kind": "rumour"}, "kind"),
        ({"phase": "3"}, "phase"),
    ],
)
async def test_a_bad_milestone_filter_is_422_naming_it(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    r = await client.get(f"{API}/programme/milestones", params=params)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == [field]


async def test_milestones_export_as_csv(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{API}/programme/milestones", params={"format": "csv"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    lines = r.content.decode("utf-8").removeprefix("\ufeff").splitlines()
    assert lines[0].split(",")[:3] == ["code", "date", "date_precision"]
    assert lines[0].endswith("caveat,source_title,source_url")
    assert len(lines) == 1 + len(MILESTONES)
