"""organisation names: our copy of the registry's names, shown beside operator and funder codes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:15:00

Envelopes show their operator's name (`operator_name`) and each funder's (`funders[].funder_label`)
beside the codes. The registry owns those names: `organisations` keeps our copy, refreshed
whenever a write names an organisation (its reference check reads the registry's answer anyway).
Funding renders its answers when they are read, so no stored document needs rewriting.

Filled here with the organisations the registry's seed lists on this day (a snapshot frozen with
the migration: a later rename reaches this copy through the next write naming it).
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The registry's seed (services/registry/src/registry/seed/data/organisations.csv) on this day.
REGISTRY_ORGANISATIONS = [
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
]


def upgrade() -> None:
    organisations = op.create_table(
        "organisations",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_organisations")),
    )
    now = datetime.now(UTC).replace(microsecond=0)
    op.bulk_insert(
        organisations,
        [
            {"code": code, "name": name, "kind": kind, "checked_at": now}
            for code, name, kind in REGISTRY_ORGANISATIONS
        ],
    )


def downgrade() -> None:
    op.drop_table("organisations")
