"""Territories, their members and governance: what the API reads and writes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

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
from tdi_kit.schemas import examples


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
    model_config = examples(
        {
            "code": "ti-2708",
            "name": "Nord Franche-Comté",
            "phase": 2,
            "phase_starts_on": "2023-01-01",
            "phase_ends_on": "2027-12-31",
            "status": "active",
            "region_code": "27",
            "region_name": "Bourgogne-Franche-Comté",
            "region_source": "anct",
            "regions": [{"code": "27", "name": "Bourgogne-Franche-Comté"}],
            "departments": [
                {"code": "25", "name": "Doubs"},
                {"code": "70", "name": "Haute-Saône"},
                {"code": "90", "name": "Territoire de Belfort"},
            ],
            "members": [
                {
                    "siren": "200065647",
                    "name": "CA Pays de Montbéliard Agglomération",
                    "kind": "epci",
                    "nature": "CA",
                    "coverage": None,
                }
            ],
            "governance": {
                "binome": {"elected_official": None, "industrialist": None},
                "chef_de_projet": None,
                "referents": [],
            },
            "phase1_overlaps": ["2707"],
            "commune_count": 197,
            "version": 1,
            "updated_at": "2025-01-15T09:30:00Z",
        }
    )

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
    updated_at: str = Field(description="RFC 3339, in UTC (`Z`).")


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


# GeoJSON (RFC 7946) of the phase-2 outlines, typed so that a generated client reads them as
# features, not as `unknown`. Coordinates are WGS 84 [longitude, latitude].
Position = Annotated[list[float], Field(min_length=2, max_length=3)]


class Polygon(BaseModel):
    type: Literal["Polygon"]
    coordinates: list[list[Position]] = Field(description="Rings: the outer one, then holes.")


class MultiPolygon(BaseModel):
    type: Literal["MultiPolygon"]
    coordinates: list[list[list[Position]]]


class OutlineProperties(BaseModel):
    code: TerritoryCode
    name: str
    status: TerritoryStatus


class OutlineFeature(BaseModel):
    """A territory's outline: a GeoJSON Feature whose `id` is the territory's code."""

    model_config = examples(
        {
            "type": "Feature",
            "id": "ti-2708",
            "properties": {
                "code": "ti-2708",
                "name": "Nord Franche-Comté",
                "status": "active",
            },
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[6.8, 47.5], [6.9, 47.6], [6.7, 47.7], [6.8, 47.5]]],
            },
        }
    )

    type: Literal["Feature"]
    id: TerritoryCode
    properties: OutlineProperties
    geometry: Annotated[Polygon | MultiPolygon, Field(discriminator="type")]


class OutlineFeatureCollection(BaseModel):
    """Outlines of phase-2 territories: a GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"]
    features: list[OutlineFeature]
