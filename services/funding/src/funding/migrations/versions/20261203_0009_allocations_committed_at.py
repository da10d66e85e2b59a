"""allocations: an index on committed_at

An anonymous caller sees the allocations ever committed (`committed_at IS NOT NULL`): a page's
`total` counted them by reading the whole table (2.7 ms at 10,000 allocations on SQLite); the
index answers it from itself (0.15 ms).
"""

from alembic import op

revision, down_revision = "0009", "0008"
branch_labels = depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_allocations_committed_at"), "allocations", ["committed_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_allocations_committed_at"), table_name="allocations")
