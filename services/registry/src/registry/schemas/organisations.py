"""Organisations: what the API reads."""

from __future__ import annotations

from registry.schemas.common import Model, OrganisationKind


class OrganisationRead(Model):
    code: str
    name: str
    kind: OrganisationKind
    region_code: str | None
    siren: str | None
    website: str | None
