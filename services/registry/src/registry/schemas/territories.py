"""Territories, their members and governance: what the API reads and writes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from registry.schemas.common import (
    CodeName,
    GroupementKind,
    Name,
    OptionalLine,
    Phase,
    RegionSource,
    TerritoryStatus,
    WritableStatus,
)
from tdi_kit.identifiers import OrganisationCode, Siren, TerritoryCode


class MemberRead(BaseModel):
    siren: str
    name: str
    kind: GroupementKind
    nature: str
    coverage: float | None = Field(
        description="Phase 1: share of the EPCI's communes in the territory; null in phase 2."
    )


class Person(BaseModel):
    name: Name
    role: OptionalLine | None = None


class Binome(BaseModel):
    """The binôme élu-industriel that leads the territory."""

    elected_official: Person | None = None
    industrialist: Person | None = Field(default=None, description="`role` holds the company.")


class ChefDeProjet(BaseModel):
    name: Name
    email: EmailStr | None = None
    employer: OptionalLine | None = None


class ReferentRead(BaseModel):
    organisation_code: str
    organisation_name: str
    name: str
    email: str | None


class ReferentWrite(BaseModel):
    organisation_code: OrganisationCode
    name: Name
    email: EmailStr | None = None


class GovernanceRead(BaseModel):
    binome: Binome
    chef_de_projet: ChefDeProjet | None
    referents: list[ReferentRead]


class GovernanceWrite(BaseModel):
    """The whole governance, replaced at once: one referent per operator."""

    model_config = ConfigDict(extra="forbid")

    binome: Binome = Binome()
    chef_de_projet: ChefDeProjet | None = None
    referents: list[ReferentWrite] = Field(default_factory=list, max_length=50)


class TerritoryRead(BaseModel):
    code: str
    name: str
    phase: Phase
    phase_starts_on: dt.date | None = Field(description="First day of the territory's phase.")
    phase_ends_on: dt.date | None = Field(description="Last day of the territory's phase.")
    status: TerritoryStatus = Field(
        description="`active`; `ended` once its phase is over; `archived` by an administrator."
    )
    region_code: str | None = Field(
        description="The official Région (what `region=` filters on); null if none can be told."
    )
    region_name: str | None
    region_source: RegionSource | None = Field(
        description="`anct`: ANCT's list (phase 2); `derived-majority-population`: no official "
        "value is published (phase 1, territories created here), so the Région holding most of "
        "its population."
    )
    regions: list[CodeName] = Field(
        description="Every Région the territory touches (what `touches_region=` filters on)."
    )
    departments: list[CodeName]
    members: list[MemberRead]
    governance: GovernanceRead
    phase1_overlaps: list[str] = Field(
        description="Phase 2: the phase-1 territories sharing an EPCI with this one."
    )
    commune_count: int = Field(description="Communes covered (phase 1: by the official list).")
    version: int
    updated_at: str


class TerritoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: TerritoryCode
    name: Name
    phase: Phase
    members: list[Siren] = Field(default_factory=list, max_length=200)


class TerritoryUpdate(BaseModel):
    """Fields to change; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    status: WritableStatus | None = Field(
        default=None, description="`archived`, or `active` to restore (`ended` if its phase is)."
    )


class MemberWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    coverage: Annotated[float, Field(ge=0, le=2)] | None = None


class CoveringTerritory(BaseModel):
    """A territory covering a commune or groupement, and through which groupement."""

    phase: Phase
    code: str
    name: str
    status: TerritoryStatus
    via_siren: str | None = Field(description="The member groupement; null for phase-1 lists.")


class Coverage(BaseModel):
    items: list[CoveringTerritory]
