"""SQL for territories: the filters of the list, and what a document is assembled from."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, bindparam, delete, exists, func, insert, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from registry.models import (
    Commune,
    Department,
    Groupement,
    GroupementDepartment,
    ProgrammePhase,
    Region,
    Territory,
    TerritoryCommune,
    TerritoryDepartment,
    TerritoryMember,
    TerritoryRegion,
)
from registry.schemas import CommuneRead
from tdi_kit.rowlists import where_given, where_linked, where_words

SORTABLE = {"code": Territory.code, "name": Territory.name_key, "phase": Territory.phase}


def filtered(
    stmt: Select[*tuple[Any, ...]],
    *,
    phase: int | None = None,
    status: str | None = None,
    region: str | None = None,
    touches_region: str | None = None,
    department: str | None = None,
    member: str | None = None,
    commune: str | None = None,
    q: str | None = None,
) -> Select[*tuple[Any, ...]]:
    """Each filter is an EXISTS on an indexed table, so a page stays one statement."""
    stmt = where_given(
        stmt,
        (Territory.phase, phase),
        (Territory.status, status),
        (Territory.region_code, region),
    )
    stmt = where_linked(
        stmt,
        Territory.code,
        (TerritoryRegion.territory_code, TerritoryRegion.region_code, touches_region),
        (TerritoryDepartment.territory_code, TerritoryDepartment.department_code, department),
        (TerritoryMember.territory_code, TerritoryMember.siren, member),
    )
    if commune is not None:
        stmt = stmt.where(covering_commune(commune))
    return where_words(stmt, Territory.search_text, q)


def covering_commune(insee: str) -> Any:
    """Phase 1 by its official commune list; phase 2 through the commune's EPCI, or the commune
    itself when it is a member on its own."""
    listed = exists().where(
        TerritoryCommune.territory_code == Territory.code, TerritoryCommune.insee == insee
    )
    via_member = exists().where(
        TerritoryMember.territory_code == Territory.code,
        TerritoryMember.siren.in_(select(Commune.epci_siren).where(Commune.insee == insee))
        | TerritoryMember.siren.in_(select(Commune.siren).where(Commune.insee == insee)),
    )
    return listed | via_member


async def by_code(
    session: AsyncSession, code: str, *, for_update: bool = False
) -> Territory | None:
    stmt = (
        select(Territory)
        .where(Territory.code == code)
        .options(selectinload(Territory.members), selectinload(Territory.referents))
    )
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


# Read through the driver (tdi_kit.rowreader): the served JSON and its ETag, nothing else.
DOCUMENT_BY_CODE = select(Territory.document, Territory.etag).where(
    Territory.code == bindparam("code")
)


PHASE_BY_CODE = select(Territory.phase).where(Territory.code == bindparam("code"))


def _covered_communes(phase: int) -> Any:
    """The communes a territory (`:code`, bound per request) covers, as a subquery of the
    listed columns and the name's sort key: phase 1 by its official list, phase 2 through its
    members (an EPCI's communes, or a commune that is a member on its own).

    Each branch reads whole rows by an index (the members' SIRENs, then `communes.epci_siren`
    or `communes.siren`; the listed INSEE codes, then the primary key), and nothing looks a
    commune up again by its INSEE code: `insee IN (union of INSEE codes)` had PostgreSQL probe
    a hash of the union with a scan of all 34,871 communes (25-80 ms a page), even with fresh
    statistics. A commune is one row, so the union removes only true duplicates.
    """
    code: Any = bindparam("code")
    columns = (*(getattr(Commune, f) for f in CommuneRead.model_fields), Commune.search_text)
    if phase == 1:
        listed = select(TerritoryCommune.insee).where(TerritoryCommune.territory_code == code)
        return select(*columns).where(Commune.insee.in_(listed)).subquery("covered")
    members = select(TerritoryMember.siren).where(TerritoryMember.territory_code == code)
    return union(
        select(*columns).where(Commune.epci_siren.in_(members)),
        select(*columns).where(Commune.siren.in_(members)),
    ).subquery("covered")


class CoveredCommunes:
    """A phase's statement for a territory's communes (rows of `CommuneRead`'s fields, in
    order) and its sort keys, built once: a request binds the territory's code
    (`tdi_kit.pagination.read_page`'s kept statements)."""

    def __init__(self, phase: int) -> None:
        covered = _covered_communes(phase)
        self.stmt = select(*(covered.c[f] for f in CommuneRead.model_fields))
        self.sortable = {"insee": covered.c.insee, "name": covered.c.search_text}


COMMUNES_OF = {phase: CoveredCommunes(phase) for phase in (1, 2)}


async def holder_of(session: AsyncSession, *, siren: str, phase: int) -> TerritoryMember | None:
    return await session.scalar(
        select(TerritoryMember).where(
            TerritoryMember.siren == siren, TerritoryMember.phase == phase
        )
    )


async def derived_departments(session: AsyncSession, territory: Territory) -> list[Department]:
    """Departments spanned by the members' communes; in phase 1, by its listed communes."""
    from_members = select(GroupementDepartment.department_code).where(
        GroupementDepartment.siren.in_([m.siren for m in territory.members])
    )
    listed = select(TerritoryCommune.insee).where(TerritoryCommune.territory_code == territory.code)
    from_communes = select(Commune.department_code).where(Commune.insee.in_(listed))
    if territory.phase == 1:
        # Phase 1 was defined by commune: an EPCI it covers only in part (2706 holds 97% of one
        # straddling the Cher) does not take it into the departments of its other communes.
        from_members = from_members.where(~exists(listed))
    codes = from_members.union(from_communes).subquery()
    return list(
        await session.scalars(
            select(Department)
            .where(Department.code.in_(select(codes.c[0])))
            .order_by(Department.code)
        )
    )


async def regions(session: AsyncSession, codes: set[str]) -> list[Region]:
    return list(
        await session.scalars(select(Region).where(Region.code.in_(codes)).order_by(Region.code))
    )


async def phase(session: AsyncSession, number: int) -> ProgrammePhase | None:
    return await session.get(ProgrammePhase, number)


async def population_by_region(session: AsyncSession, territory: Territory) -> dict[str, int]:
    """Where the territory's people live, per Région: by its listed communes in phase 1, else by
    its members (an EPT, whose communes the commune file cannot tell, counts at its seat)."""
    listed = select(TerritoryCommune.insee).where(TerritoryCommune.territory_code == territory.code)
    if territory.phase == 1 and await session.scalar(select(exists(listed))):
        stmt: Select[*tuple[Any, ...]] = (
            select(Department.region_code, func.coalesce(func.sum(Commune.population), 0))
            .join(Department, Department.code == Commune.department_code)
            .where(Commune.insee.in_(listed))
            .group_by(Department.region_code)
        )
    else:
        stmt = (
            select(Groupement.region_code, func.coalesce(func.sum(Groupement.population), 0))
            .where(
                Groupement.siren.in_([m.siren for m in territory.members]),
                Groupement.region_code.is_not(None),
            )
            .group_by(Groupement.region_code)
        )
    return {code: int(total) for code, total in (await session.execute(stmt)).all()}


async def commune_count(session: AsyncSession, territory: Territory) -> int:
    if territory.phase == 1:
        stmt = select(func.count()).where(TerritoryCommune.territory_code == territory.code)
    else:
        sirens = [m.siren for m in territory.members]
        stmt = select(func.count()).where(
            Commune.epci_siren.in_(sirens) | Commune.siren.in_(sirens)
        )
    return await session.scalar(stmt) or 0


async def replace_geography(
    session: AsyncSession, code: str, *, departments: list[str], regions: list[str]
) -> None:
    await session.execute(
        delete(TerritoryDepartment).where(TerritoryDepartment.territory_code == code)
    )
    await session.execute(delete(TerritoryRegion).where(TerritoryRegion.territory_code == code))
    if departments:
        await session.execute(
            insert(TerritoryDepartment),
            [{"territory_code": code, "department_code": d} for d in departments],
        )
    if regions:
        await session.execute(
            insert(TerritoryRegion), [{"territory_code": code, "region_code": r} for r in regions]
        )
