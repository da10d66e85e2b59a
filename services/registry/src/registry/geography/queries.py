"""SQL for the administrative map: regions, departments, groupements, communes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

# search_text is the folded name: sorting on it puts "Écully" among the E on both databases.
# Keyset pagination needs sort keys without NULL, hence the coalesce.
from registry.models import Commune, Department, Groupement, GroupementDepartment, Region
from tdi_kit.text import search_terms

GROUPEMENT_SORT = {
    "siren": Groupement.siren,
    "name": Groupement.search_text,
    "population": func.coalesce(Groupement.population, -1),
}
COMMUNE_SORT = {
    "insee": Commune.insee,
    "name": Commune.search_text,
    "population": func.coalesce(Commune.population, -1),
}


async def regions(session: AsyncSession) -> list[Region]:
    return list(await session.scalars(select(Region).order_by(Region.code)))


async def departments(session: AsyncSession, *, region: str | None) -> list[Department]:
    stmt = select(Department).order_by(Department.code)
    if region is not None:
        stmt = stmt.where(Department.region_code == region)
    return list(await session.scalars(stmt))


def groupements(
    *,
    kind: str | None,
    nature: str | None,
    region: str | None,
    department: str | None,
    q: str | None,
) -> Select[Any]:
    stmt = select(Groupement)
    if kind is not None:
        stmt = stmt.where(Groupement.kind == kind)
    if nature is not None:
        stmt = stmt.where(Groupement.nature == nature)
    if region is not None:
        stmt = stmt.where(Groupement.region_code == region)
    if department is not None:
        stmt = stmt.where(
            exists().where(
                GroupementDepartment.siren == Groupement.siren,
                GroupementDepartment.department_code == department,
            )
        )
    for term in search_terms(q or ""):
        stmt = stmt.where(Groupement.search_text.contains(term, autoescape=True))
    return stmt


def communes(*, department: str | None, epci: str | None, q: str | None) -> Select[Any]:
    stmt = select(Commune)
    if department is not None:
        stmt = stmt.where(Commune.department_code == department)
    if epci is not None:
        stmt = stmt.where(Commune.epci_siren == epci)
    for term in search_terms(q or ""):
        stmt = stmt.where(Commune.search_text.contains(term, autoescape=True))
    return stmt


async def department_codes(session: AsyncSession, sirens: list[str]) -> dict[str, list[str]]:
    """Departments of each groupement, in one statement for a whole page."""
    rows = await session.execute(
        select(GroupementDepartment.siren, GroupementDepartment.department_code)
        .where(GroupementDepartment.siren.in_(sirens))
        .order_by(GroupementDepartment.siren, GroupementDepartment.department_code)
    )
    found: dict[str, list[str]] = {s: [] for s in sirens}
    for siren, code in rows:
        found[siren].append(code)
    return found
