"""Where a database's schema stands against the code's migrations, even a schema ahead of it.

Readiness accepts a schema *ahead* of the code (the expand step of a rolling upgrade has run,
old replicas still serve): each upgrade records every revision it knows with its parents in
`alembic_lineage`, so that old code can tell a later revision that descends from its own head
(ready) from one it cannot place (not ready). `tdi_kit.migrations` records it; `/readyz` reads
it through `schema_state`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, String, Table, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

# Revision → its parents, as written by the code that applied it. Not in any service's models:
# the kit owns it, like Alembic owns `alembic_version`.
LINEAGE_TABLE = "alembic_lineage"
lineage_metadata = MetaData()
lineage = Table(
    LINEAGE_TABLE,
    lineage_metadata,
    Column("revision", String(64), primary_key=True),
    # The parents, space-separated ("" for the first revision; two for a merge).
    Column("down_revisions", String(255), nullable=False),
)
KIT_TABLES = frozenset({"alembic_version", LINEAGE_TABLE})


def scripts(script_location: str) -> ScriptDirectory:
    """The code's migrations; `script_location` is a package path such as `registry:migrations`."""
    config = Config()
    config.set_main_option("script_location", script_location)
    return ScriptDirectory.from_config(config)


def record_lineage(connection: Connection, script: ScriptDirectory) -> None:
    """Every revision `script` knows, with its parents, in `alembic_lineage` (those missing)."""
    lineage_metadata.create_all(connection, checkfirst=True)
    known = set(connection.scalars(select(lineage.c.revision)))
    rows = [
        {"revision": rev.revision, "down_revisions": " ".join(_parents(rev.down_revision))}
        for rev in script.walk_revisions()
        if rev.revision not in known
    ]
    if rows:
        connection.execute(insert(lineage), rows)


def _parents(down: str | Sequence[str] | None) -> tuple[str, ...]:
    if down is None:
        return ()
    return (down,) if isinstance(down, str) else tuple(down)


@dataclass(frozen=True)
class SchemaState:
    """Where the database's schema stands against the code's migrations."""

    current: set[str]
    head: set[str]
    # "at_head", "ahead" (later revisions that descend from the code's head: ready),
    # "behind" (migrations to run), "unknown" (a revision the code cannot place).
    position: str
    # For "ahead": how many revisions past the code's head.
    ahead_by: int = 0

    @property
    def ready(self) -> bool:
        return self.position in ("at_head", "ahead")


async def schema_state(engine: AsyncEngine, script_location: str) -> SchemaState:
    """Compare the database's revisions with the code's head, through the recorded lineage.

    A schema ahead of the code is ready only if every one of its revisions leads back, through
    revisions the database recorded, to the code's head: migrations are written
    expand-then-contract (docs/operations.md), so a schema that only expanded past the code
    still serves it. Anything else the code cannot place (a revision without lineage, another
    branch) is not.
    """
    script = scripts(script_location)
    head = set(script.get_heads())
    known = {rev.revision for rev in script.walk_revisions()}

    def read(connection: Connection) -> tuple[set[str], dict[str, tuple[str, ...]]]:
        current = set(MigrationContext.configure(connection).get_current_heads())
        parents: dict[str, tuple[str, ...]] = {}
        if current - known and _has_lineage(connection):
            for row in connection.execute(select(lineage)):
                parents[row.revision] = tuple(row.down_revisions.split())
        return current, parents

    async with engine.connect() as connection:
        current, parents = await connection.run_sync(read)
    if current == head:
        return SchemaState(current, head, "at_head")
    if current <= known:
        return SchemaState(current, head, "behind")
    ahead_by = 0
    for revision in current:
        distance = _distance_to(revision, head, parents, known=known)
        if distance is None:
            return SchemaState(current, head, "unknown")
        ahead_by = max(ahead_by, distance)
    return SchemaState(current, head, "ahead", ahead_by)


def _distance_to(
    revision: str,
    head: set[str],
    parents: dict[str, tuple[str, ...]],
    *,
    known: set[str],
) -> int | None:
    """Revisions from `revision` back to one of `head`, walking unknown revisions only."""
    frontier, distance, seen = {revision}, 0, set()
    while frontier:
        if frontier & head:
            return distance
        seen |= frontier
        step: set[str] = set()
        for rev in frontier:
            if rev in known:
                # A revision of the code that is not its head: the schema is on another branch.
                continue
            step.update(parents.get(rev, ()))
        frontier, distance = step - seen, distance + 1
    return None


def _has_lineage(connection: Connection) -> bool:
    return bool(inspect(connection).has_table(LINEAGE_TABLE))
