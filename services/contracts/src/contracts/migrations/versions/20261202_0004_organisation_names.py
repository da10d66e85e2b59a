"""organisation names: our copy of the registry's names, for documents to show beside codes


Documents show an organisation's name beside its code (a signatory's, an owner's, a financer's).
The registry owns those names: `organisations` keeps our copy, refreshed whenever a write names
an organisation (its reference check reads the registry's answer anyway).

Filled here with the organisations the registry's seed lists on this day (a snapshot frozen
with the migration: a later rename reaches this copy through the next write naming it), and the
stored documents already written get the names their codes have in it: each signatory gets
`organisation_name`, each action's owner `organisation_name`, each plan line
`financer_organisation_name` (null where the code is not in the copy), with a new ETag. Past
versions in the history keep the documents they recorded.

Reversible: the downgrade drops the table and the names from the stored documents.
"""

import hashlib
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

from tdi_kit.copies import REGISTRY_ORGANISATIONS_20261202, create_organisations_copy

revision, down_revision = "0004", "0003"
branch_labels = depends_on = None

# The registry's seed (services/registry/src/registry/seed/data/organisations.csv) on this day.
REGISTRY_ORGANISATIONS = REGISTRY_ORGANISATIONS_20261202
CONTRACTS = sa.table(
    "contracts", sa.column("id", sa.Uuid), sa.column("document"), sa.column("etag")
)
ACTIONS = sa.table("actions", sa.column("id", sa.Uuid), sa.column("document"), sa.column("etag"))


def _etag(body: bytes) -> str:
    # tdi_kit.conditional.etag_for, frozen with the migration.
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _contract(document: dict[str, Any], names: dict[str, str] | None) -> None:
    for signatory in document.get("signatories", []):
        if names is None:
            signatory.pop("organisation_name", None)
        else:
            signatory["organisation_name"] = names.get(signatory.get("organisation_code") or "")


def _action(document: dict[str, Any], names: dict[str, str] | None) -> None:
    owner = document.get("owner")
    if owner is not None:
        if names is None:
            owner.pop("organisation_name", None)
        else:
            owner["organisation_name"] = names.get(owner.get("organisation_code") or "")
    for line in document.get("plan_lines", []):
        if names is None:
            line.pop("financer_organisation_name", None)
        else:
            line["financer_organisation_name"] = names.get(line.get("financer_code") or "")


def _rewrite(
    table: sa.TableClause,
    patch: Callable[[dict[str, Any], dict[str, str] | None], None],
    names: dict[str, str] | None,
) -> None:
    connection = op.get_bind()
    for record_id, document in connection.execute(sa.select(table.c.id, table.c.document)).all():
        body = json.loads(document or "{}")
        if not body:
            continue
        patch(body, names)
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        connection.execute(
            table.update()
            .where(table.c.id == record_id)
            .values(document=text, etag=_etag(text.encode()))
        )


def upgrade() -> None:
    create_organisations_copy(REGISTRY_ORGANISATIONS)
    names = {code: name for code, name, _ in REGISTRY_ORGANISATIONS}
    _rewrite(CONTRACTS, _contract, names)
    _rewrite(ACTIONS, _action, names)


def downgrade() -> None:
    _rewrite(CONTRACTS, _contract, None)
    _rewrite(ACTIONS, _action, None)
    op.drop_table("organisations")
