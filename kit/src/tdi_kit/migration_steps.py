"""What every service's migrations write alike, called from inside a migration script (Alembic's
`op` is bound there): the idempotency table, the served records' columns, the common steps.

Each produces the very schema its callers wrote out before: change one only through a new
migration, never in place (`tests/test_migrations.py` compares every service's models with the
schema its migrations build).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def create_idempotency_keys() -> None:
    """The table `tdi_kit.idempotency` replays answers from, as each first migration made it."""
    from alembic import op

    op.create_table(
        "idempotency_keys",
        sa.Column("principal", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_headers", sa.Text(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("principal", "key", name=op.f("pk_idempotency_keys")),
    )


_ANSWER_COLUMNS = (
    ("status_code", sa.Integer()),
    ("response_headers", sa.Text()),
    ("response_body", sa.LargeBinary()),
)


def idempotency_owner_upgrade() -> None:
    """Keys owned by a digest of issuer, subject and organisation, rows holding only final
    answers with the scopes of the token that got them (every service's migration 0002).

    Rows of the old kind are deleted: keyed on the subject alone, they could be replayed to
    another organisation's caller.
    """
    from alembic import op

    op.execute(sa.text("DELETE FROM idempotency_keys"))
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("scopes", sa.Text(), nullable=False, server_default=""))
        for column, kind in _ANSWER_COLUMNS:
            batch.alter_column(column, existing_type=kind, nullable=False)
    with op.batch_alter_table("idempotency_keys") as batch:
        # The default only filled the (emptied) table; the code always names the scopes.
        batch.alter_column("scopes", existing_type=sa.Text(), server_default=None)


def idempotency_owner_downgrade() -> None:
    from alembic import op

    # Old-style rows are keyed on the subject alone: none of the new ones can be kept.
    op.execute(sa.text("DELETE FROM idempotency_keys"))
    with op.batch_alter_table("idempotency_keys") as batch:
        for column, kind in _ANSWER_COLUMNS:
            batch.alter_column(column, existing_type=kind, nullable=True)
        batch.drop_column("scopes")


def versioned(*, now_by_default: bool = False) -> list[sa.Column[Any]]:
    """A served record's `version`, `created_at` and `updated_at` columns, in that order
    (`now_by_default`: the times default to the database's `now()`, as the registry's first
    tables were made)."""
    default = sa.func.now() if now_by_default else None
    return [
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=default, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=default, nullable=False),
    ]


def stored_document() -> list[sa.Column[Any]]:
    """The `document` and `etag` columns of `tdi_kit.db.StoredDocument`, in that order."""
    return [
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("etag", sa.String(length=40), nullable=False),
    ]


def indexes(table: str, *columns: str) -> None:
    """One index per column, `ix_<table>_<column>`, as a model's `index=True` declares it."""
    from alembic import op

    for column in columns:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def drop_tables(*tables: str) -> None:
    """Drop `tables` in the order given (dependents first), their indexes with them."""
    from alembic import op

    for table in tables:
        op.drop_table(table)


def rename_codes(table: str, owner: str, column: str, renamed: dict[str, str]) -> None:
    """Rename codes in a link table keyed on (`owner`, `column`): each `old` becomes `new`, an
    owner that held both keeping one row (a vocabulary's renamed codes, in every service that
    links records to them)."""
    from alembic import op

    connection = op.get_bind()
    for old, new in renamed.items():
        connection.execute(
            sa.text(
                f"DELETE FROM {table} WHERE {column} = :old AND {owner} IN "
                f"(SELECT {owner} FROM {table} WHERE {column} = :new)"
            ),
            {"old": old, "new": new},
        )
        connection.execute(
            sa.text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old"),
            {"old": old, "new": new},
        )


def foreign_key(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    """`table.column` references `target` (`"departments.code"`), under the naming convention's
    name (`fk_<table>_<column>_<target table>`), as a model's `ForeignKey` declares it."""
    from alembic import op

    name = op.f(f"fk_{table}_{column}_{target.split('.')[0]}")
    return sa.ForeignKeyConstraint([column], [target], name=name)
