"""SQL for organisations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from registry.models import Organisation
from registry.schemas import OrganisationRead
from tdi_kit.text import search_terms

# What the list reads: the model's fields, in order, through the driver.
COLUMNS = tuple(getattr(Organisation, f) for f in OrganisationRead.model_fields)
SORTABLE = {"code": Organisation.code, "name": Organisation.search_text, "kind": Organisation.kind}


def organisations(*, kind: str | None, region: str | None, q: str | None) -> Select[Any]:
    stmt = select(*COLUMNS)
    if kind is not None:
        stmt = stmt.where(Organisation.kind == kind)
    if region is not None:
        stmt = stmt.where(Organisation.region_code == region)
    for term in search_terms(q or ""):
        stmt = stmt.where(Organisation.search_text.contains(term, autoescape=True))
    return stmt
