"""Regions, departments, groupements and communes: what the API reads."""

from __future__ import annotations

from pydantic import Field

from registry.schemas.common import GroupementKind, Model


class RegionRead(Model):
    code: str
    name: str


class DepartmentRead(Model):
    code: str
    name: str
    region_code: str


class GroupementRead(Model):
    siren: str
    name: str
    kind: GroupementKind = Field(description="`epci`, `ept` (Grand Paris) or a lone `commune`.")
    nature: str = Field(description="CC, CA, CU, METRO, MET69, EPT or COM.")
    seat_department_code: str | None
    region_code: str | None
    department_codes: list[str]
    population: int | None


class CommuneRead(Model):
    insee: str
    name: str
    department_code: str
    siren: str | None
    epci_siren: str | None
    population: int | None
