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

from sqlalchemy import Column, DateTime, MetaData, String, Table, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from tdi_kit import clock

# The organisations the registry's seed listed on 2026-12-02 (code, name, kind), with which the
# migrations that created the copies filled them (funding 0005, contracts 0004). A snapshot
# frozen with those migrations: never edit it; a later one is a new constant and migration.
REGISTRY_ORGANISATIONS_20261202: tuple[tuple[str, str, str], ...] = (
    ("ademe", "ADEME", "operator"),
    ("banque-des-territoires", "Banque des Territoires (groupe Caisse des Dépôts)", "operator"),
    ("bpifrance", "Bpifrance", "operator"),
    ("business-france", "Business France", "operator"),
    ("cerema", "Cerema", "operator"),
    ("france-travail", "France Travail (ex-Pôle emploi)", "operator"),
    ("apec", "Apec", "partner"),
    ("france-industrie", "France Industrie", "partner"),
    ("intercommunalites-de-france", "Intercommunalités de France", "partner"),
    ("regions-de-france", "Régions de France", "partner"),
    ("uimm", "UIMM (Union des industries et métiers de la métallurgie)", "partner"),
    ("region-01", "Région Guadeloupe", "region"),
    ("region-02", "Collectivité territoriale de Martinique", "region"),
    ("region-03", "Collectivité territoriale de Guyane", "region"),
    ("region-04", "Région La Réunion", "region"),
    ("region-06", "Département de Mayotte", "region"),
    ("region-11", "Région Île-de-France", "region"),
    ("region-24", "Région Centre-Val de Loire", "region"),
    ("region-27", "Région Bourgogne-Franche-Comté", "region"),
    ("region-28", "Région Normandie", "region"),
    ("region-32", "Région Hauts-de-France", "region"),
    ("region-44", "Région Grand Est", "region"),
    ("region-52", "Région Pays de la Loire", "region"),
    ("region-53", "Région Bretagne", "region"),
    ("region-75", "Région Nouvelle-Aquitaine", "region"),
    ("region-76", "Région Occitanie", "region"),
    ("region-84", "Région Auvergne-Rhône-Alpes", "region"),
    ("region-93", "Région Provence-Alpes-Côte d'Azur", "region"),
    ("region-94", "Collectivité de Corse", "region"),
    ("anct", "Agence nationale de la cohésion des territoires", "state"),
    ("dge", "Direction générale des entreprises", "state"),
    ("prefecture-01", "Préfecture de la région Guadeloupe", "state"),
    ("prefecture-02", "Préfecture de la région Martinique", "state"),
    ("prefecture-03", "Préfecture de la région Guyane", "state"),
    ("prefecture-04", "Préfecture de la région La Réunion", "state"),
    ("prefecture-06", "Préfecture de la région Mayotte", "state"),
    ("prefecture-11", "Préfecture de la région Île-de-France", "state"),
    ("prefecture-24", "Préfecture de la région Centre-Val de Loire", "state"),
    ("prefecture-27", "Préfecture de la région Bourgogne-Franche-Comté", "state"),
    ("prefecture-28", "Préfecture de la région Normandie", "state"),
    ("prefecture-32", "Préfecture de la région Hauts-de-France", "state"),
    ("prefecture-44", "Préfecture de la région Grand Est", "state"),
    ("prefecture-52", "Préfecture de la région Pays de la Loire", "state"),
    ("prefecture-53", "Préfecture de la région Bretagne", "state"),
    ("prefecture-75", "Préfecture de la région Nouvelle-Aquitaine", "state"),
    ("prefecture-76", "Préfecture de la région Occitanie", "state"),
    ("prefecture-84", "Préfecture de la région Auvergne-Rhône-Alpes", "state"),
    ("prefecture-93", "Préfecture de la région Provence-Alpes-Côte d'Azur", "state"),
    ("prefecture-94", "Préfecture de la région Corse", "state"),
)


# The Régions the registry's seed listed on 2026-12-02 (official code, name), shown beside the
# region codes a service keeps (funding's allocations). A frozen snapshot as above: Région names
# change by law, rarely (2016 last); a change is a new constant, in a release.
REGION_NAMES_20261202: dict[str, str] = {
    "01": "Guadeloupe",
    "02": "Martinique",
    "03": "Guyane",
    "04": "La Réunion",
    "06": "Mayotte",
    "11": "Île-de-France",
    "24": "Centre-Val de Loire",
    "27": "Bourgogne-Franche-Comté",
    "28": "Normandie",
    "32": "Hauts-de-France",
    "44": "Grand Est",
    "52": "Pays de la Loire",
    "53": "Bretagne",
    "75": "Nouvelle-Aquitaine",
    "76": "Occitanie",
    "84": "Auvergne-Rhône-Alpes",
    "93": "Provence-Alpes-Côte d'Azur",
    "94": "Corse",
}


def create_organisations_copy(rows: Iterable[tuple[str, str, str]]) -> None:
    """A migration's step: create the `organisations` copy and fill it with `rows` (code, name,
    kind), a snapshot frozen with the migration that calls this."""
    import datetime as dt

    import sqlalchemy as sa
    from alembic import op

    organisations = op.create_table(
        "organisations",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_organisations")),
    )
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    op.bulk_insert(
        organisations,
        [
            {"code": code, "name": name, "kind": kind, "checked_at": now}
            for code, name, kind in rows
        ],
    )


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
    """Keep the registry's answer for an organisation (`GET /api/v1/organisations/{code}`).

    Read first, write only what changed: concurrent writes naming the same organisations (every
    contract names its préfet and its Région) must not queue on, nor deadlock over, the rows of
    this copy. `checked_at` is when the copy last changed.
    """
    code, name, kind = doc["code"], doc["name"], doc.get("kind", "")
    held = (
        await session.execute(select(table.c.name, table.c.kind).where(table.c.code == code))
    ).first()
    if held is None:
        insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
        # Two requests may name a new organisation at once: the first row stands.
        await session.execute(
            insert(table)
            .values(code=code, name=name, kind=kind, checked_at=clock.now_to_second())
            .on_conflict_do_nothing(index_elements=[table.c.code])
        )
    elif tuple(held) != (name, kind):
        await session.execute(
            update(table)
            .where(table.c.code == code)
            .values(name=name, kind=kind, checked_at=clock.now_to_second())
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
