"""SQL for organisations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from registry.models import Organisation
from registry.schemas import OrganisationRead
from tdi_kit.rowlists import where_given, where_words

# What the list reads: the model's fields, in order, through the driver.
COLUMNS = tuple(getattr(Organisation, f) for f in OrganisationRead.model_fields)
SORTABLE = {"code": Organisation.code, "name": Organisation.search_text, "kind": Organisation.kind}


def organisations(*, kind: str | None, region: str | None, q: str | None) -> Select[Any]:
    stmt = where_given(
        select(*COLUMNS), (Organisation.kind, kind), (Organisation.region_code, region)
    )
    return where_words(stmt, Organisation.search_text, q)
