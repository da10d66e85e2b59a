"""The shipped seed: the official lists, loaded whole, and loaded again without effect."""

from __future__ import annotations

from registry_testing import FreshRegistry, seed_rows, seed_summary
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from registry.models import (
    Commune,
    Department,
    Groupement,
    GroupementDepartment,
    Organisation,
    ProgrammeMilestone,
    ProgrammePhase,
    Region,
    Territory,
    TerritoryCommune,
    TerritoryMember,
    TerritoryOutline,
)
from registry.seed.loader import load

# The table each seed file fills, as the loader names it in its report.
SEEDED = {
    "regions.csv": ("regions", Region),
    "departments.csv": ("departments", Department),
    "groupements.csv": ("groupements", Groupement),
    "communes.csv": ("communes", Commune),
    "organisations.csv": ("organisations", Organisation),
    "territories.csv": ("territories", Territory),
    "territory_members.csv": ("territory_members", TerritoryMember),
    "territory_communes.csv": ("territory_communes", TerritoryCommune),
    "outlines.geojson": ("territory_outlines", TerritoryOutline),
    "programme_phases.csv": ("programme_phases", ProgrammePhase),
    "programme_milestones.csv": ("programme_milestones", ProgrammeMilestone),
}


def _groupement_departments() -> int:
    return sum(len(g["department_codes"].split("|")) for g in seed_rows("groupements.csv"))


def test_the_summary_states_the_official_counts() -> None:
    summary = seed_summary()
    assert summary["territories.csv"] == 331
    assert summary["territory_members.csv"] == 1169
    assert summary["groupements.csv"] == 1270
    assert summary["communes.csv"] == 34871
    assert summary["departments.csv"] == 101
    assert summary["regions.csv"] == 18
    assert summary["outlines.geojson"] == 183
    # The summary was written from the files it describes.
    for name in SEEDED:
        if name.endswith(".csv"):
            assert len(seed_rows(name)) == summary[name], name


async def test_the_database_holds_every_row_of_the_seed_and_no_other(
    session: AsyncSession,
) -> None:
    summary = seed_summary()
    for name, (_, model) in SEEDED.items():
        count = await session.scalar(select(func.count()).select_from(model))
        assert count == summary[name], name
    phases = dict(
        (
            await session.execute(select(Territory.phase, func.count()).group_by(Territory.phase))
        ).all()
    )
    assert phases == {1: 148, 2: 183}
    kinds = dict(
        (
            await session.execute(select(Groupement.kind, func.count()).group_by(Groupement.kind))
        ).all()
    )
    assert kinds == {"epci": 1255, "ept": 3, "commune": 12}
    assert (
        await session.scalar(select(func.count()).select_from(GroupementDepartment))
        == _groupement_departments()
    )


async def test_phase_two_has_641_members_and_phase_one_the_rest(session: AsyncSession) -> None:
    by_phase = dict(
        (
            await session.execute(
                select(TerritoryMember.phase, func.count()).group_by(TerritoryMember.phase)
            )
        ).all()
    )
    assert by_phase == {2: 641, 1: 1169 - 641}


async def test_a_fresh_database_receives_every_row_of_the_seed_files(
    fresh_registry: FreshRegistry,
) -> None:
    report = fresh_registry.first_load
    summary = seed_summary()
    for name, (table, _) in SEEDED.items():
        assert report[table].added == summary[name], name
        assert report[table].changed == 0 and report[table].unchanged == 0, name
        assert report[table].skipped == []
    assert report["groupement_departments"].added == _groupement_departments()


async def test_loading_the_seed_twice_changes_nothing(fresh_registry: FreshRegistry) -> None:
    report = fresh_registry.second_load
    summary = seed_summary()
    assert {t: (c.added, c.changed) for t, c in report.items()} == dict.fromkeys(report, (0, 0))
    for name, (table, _) in SEEDED.items():
        assert report[table].unchanged == summary[name], name
    assert str(report["territories"]) == "0 added, 0 changed, 331 left as they were"


async def test_loading_the_seed_again_leaves_every_territory_document_as_it_was(
    session: AsyncSession,
) -> None:
    before = dict((await session.execute(select(Territory.code, Territory.etag))).all())
    lines: list[str] = []
    report = await load(session, say=lines.append)
    after = dict((await session.execute(select(Territory.code, Territory.etag))).all())
    assert after == before
    assert all(c.added == 0 and c.changed == 0 for c in report.values())
    assert "territory_members: 0 added, 0 changed, 1169 left as they were" in lines


async def test_the_loader_restores_a_changed_official_name_and_its_document(
    session: AsyncSession,
) -> None:
    version = await session.scalar(select(Territory.version).where(Territory.code == "ti-2708"))
    await session.execute(
        update(Territory).where(Territory.code == "ti-2708").values(name="Renamed by hand")
    )
    report = await load(session, say=lambda _line: None)
    assert (report["territories"].added, report["territories"].changed) == (0, 1)
    assert report["territories"].unchanged == 330
    name, document, new_version = (
        await session.execute(
            select(Territory.name, Territory.document, Territory.version).where(
                Territory.code == "ti-2708"
            )
        )
    ).one()
    assert name == "Nord Franche-Comté"
    assert new_version == version + 1
    assert '"name":"Nord Franche-Comté"' in document
    assert "Renamed by hand" not in document


async def test_the_loader_leaves_a_membership_an_administrator_moved_and_reports_it(
    session: AsyncSession,
) -> None:
    # CA Grand Belfort moved by hand from ti-2708 to ti-2703 (both phase 2).
    await session.execute(
        delete(TerritoryMember).where(
            TerritoryMember.territory_code == "ti-2708", TerritoryMember.siren == "200069052"
        )
    )
    await session.execute(
        insert(TerritoryMember).values(territory_code="ti-2703", siren="200069052", phase=2)
    )
    report = await load(session, say=lambda _line: None)
    assert report["territory_members"].skipped == ["200069052 is held by ti-2703, not ti-2708"]
    assert report["territory_members"].added == 0
    holder = await session.scalar(
        select(TerritoryMember.territory_code).where(
            TerritoryMember.siren == "200069052", TerritoryMember.phase == 2
        )
    )
    assert holder == "ti-2703"


async def test_the_loader_puts_back_a_deleted_official_membership(session: AsyncSession) -> None:
    version = await session.scalar(select(Territory.version).where(Territory.code == "ti-2708"))
    await session.execute(
        delete(TerritoryMember).where(
            TerritoryMember.territory_code == "ti-2708", TerritoryMember.siren == "200069052"
        )
    )
    report = await load(session, say=lambda _line: None)
    assert report["territory_members"].added == 1
    held = await session.scalar(
        select(TerritoryMember.territory_code).where(
            TerritoryMember.siren == "200069052", TerritoryMember.phase == 2
        )
    )
    assert held == "ti-2708"
    document, new_version = (
        await session.execute(
            select(Territory.document, Territory.version).where(Territory.code == "ti-2708")
        )
    ).one()
    assert new_version == version + 1
    assert '"siren":"200069052"' in document
