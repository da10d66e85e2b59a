"""SQL for organisations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from registry.models import Organisation
from tdi_kit.text import search_terms

SORTABLE = {"code": Organisation.code, "name": Organisation.search_text, "kind": Organisation.kind}


def organisations(*, kind: str | None, region: str | None, q: str | None) -> Select[Any]:
    stmt = select(Organisation)
    if kind is not None:
        stmt = stmt.where(Organisation.kind == kind)
    if region is not None:
        stmt = stmt.where(Organisation.region_code == region)
    for term in search_terms(q or ""):
        stmt = stmt.where(Organisation.search_text.contains(term, autoescape=True))
    return stmt
