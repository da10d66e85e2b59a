"""SQL for the administrative map: regions, departments, groupements, communes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, exists, func, select

# search_text is the folded name: sorting on it puts "Écully" among the E on both databases.
# Keyset pagination needs sort keys without NULL, hence the coalesce.
from registry.models import Commune, Department, Groupement, GroupementDepartment, Region
from registry.schemas import CommuneRead, DepartmentRead, GroupementRead, RegionRead
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

# What the lists read, in their models' field order (read through the driver: no ORM object).
REGIONS = select(*(getattr(Region, f) for f in RegionRead.model_fields)).order_by(Region.code)
DEPARTMENTS = select(*(getattr(Department, f) for f in DepartmentRead.model_fields)).order_by(
    Department.code
)
COMMUNE_COLUMNS = tuple(getattr(Commune, f) for f in CommuneRead.model_fields)
# A groupement's departments come with it, as one text per row (a subquery in the same
# statement: no query more per page), sorted by the reader since each database aggregates in its
# own order.
GROUPEMENT_COLUMNS = tuple(
    getattr(Groupement, f)
    if f != "department_codes"
    else select(func.aggregate_strings(GroupementDepartment.department_code, ","))
    .where(GroupementDepartment.siren == Groupement.siren)
    .correlate(Groupement)
    .scalar_subquery()
    .label("department_codes")
    for f in GroupementRead.model_fields
)


def departments(*, region: str | None) -> Select[Any]:
    return DEPARTMENTS if region is None else DEPARTMENTS.where(Department.region_code == region)


def groupements(
    *,
    kind: str | None,
    nature: str | None,
    region: str | None,
    department: str | None,
    q: str | None,
) -> Select[Any]:
    stmt = select(*GROUPEMENT_COLUMNS)
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
    stmt = select(*COMMUNE_COLUMNS)
    if department is not None:
        stmt = stmt.where(Commune.department_code == department)
    if epci is not None:
        stmt = stmt.where(Commune.epci_siren == epci)
    for term in search_terms(q or ""):
        stmt = stmt.where(Commune.search_text.contains(term, autoescape=True))
    return stmt


def groupement(siren: str) -> Select[Any]:
    return select(*GROUPEMENT_COLUMNS).where(Groupement.siren == siren)
