"""The copy a service keeps of its siblings' organisation names, to show them beside codes.

Organisations belong to the registry. Funding and contracts show an organisation's name beside
its code (an envelope's operator, a contract's signatory...) without asking the registry on
every read: the reference check of every write asks it anyway, and its answer is kept here, in
a table of the service's own database (`organisations_table(metadata)`, as for the idempotency
keys). A rename in the registry reaches the copy at the next write naming the organisation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Column, DateTime, MetaData, String, Table, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from tdi_kit import clock


def organisations_table(metadata: MetaData) -> Table:
    """The table each service adds to its own metadata (and migrations)."""
    return Table(
        "organisations",
        metadata,
        Column("code", String(64), primary_key=True),
        Column("name", String(200), nullable=False),
        Column("kind", String(16), nullable=False),
        Column("checked_at", DateTime(timezone=True), nullable=False),
    )


async def remember_organisation(session: AsyncSession, table: Table, doc: dict[str, Any]) -> None:
    """Keep the registry's answer for an organisation (`GET /api/v1/organisations/{code}`)."""
    values = {
        "code": doc["code"],
        "name": doc["name"],
        "kind": doc.get("kind", ""),
        "checked_at": clock.now_to_second(),
    }
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    # One statement whoever comes first: two requests naming the same organisation both land.
    statement = insert(table).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.code],
            set_={k: statement.excluded[k] for k in ("name", "kind", "checked_at")},
        )
    )


async def organisation_names(
    session: AsyncSession, table: Table, codes: Iterable[str | None]
) -> dict[str, str]:
    """The copy's names of these organisations; a code it does not hold is left out."""
    wanted = sorted({c for c in codes if c})
    if not wanted:
        return {}
    rows = await session.execute(select(table.c.code, table.c.name).where(table.c.code.in_(wanted)))
    return {code: name for code, name in rows.all()}  # noqa: C416 (rows, not pairs, to mypy)
