"""SQL for the administrative map: regions, departments, groupements, communes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

# search_text is the folded name: sorting on it puts "Écully" among the E on both databases.
# Keyset pagination needs sort keys without NULL, hence the coalesce.
from registry.models import Commune, Department, Groupement, GroupementDepartment, Region
from registry.schemas import CommuneRead, DepartmentRead, GroupementRead, RegionRead
from tdi_kit.rowlists import where_given, where_linked, where_words

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
    return where_given(DEPARTMENTS, (Department.region_code, region))


def groupements(
    *,
    kind: Any,
    nature: Any,
    region: Any,
    department: Any,
    q: str | None,
) -> Select[Any]:
    """Each filter a value, a `bindparam` (the service's kept statements) or None (not given)."""
    stmt = where_given(
        select(*GROUPEMENT_COLUMNS),
        (Groupement.kind, kind),
        (Groupement.nature, nature),
        (Groupement.region_code, region),
    )
    stmt = where_linked(
        stmt,
        Groupement.siren,
        (GroupementDepartment.siren, GroupementDepartment.department_code, department),
    )
    return where_words(stmt, Groupement.search_text, q)


def communes(*, department: Any, epci: Any, q: str | None) -> Select[Any]:
    """Each filter a value, a `bindparam` (the service's kept statements) or None (not given)."""
    stmt = where_given(
        select(*COMMUNE_COLUMNS), (Commune.department_code, department), (Commune.epci_siren, epci)
    )
    return where_words(stmt, Commune.search_text, q)


def groupement(siren: str) -> Select[Any]:
    return select(*GROUPEMENT_COLUMNS).where(Groupement.siren == siren)
