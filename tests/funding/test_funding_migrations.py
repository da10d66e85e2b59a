"""The database itself keeps the ledger append-only (the migrations of every service are tested
in tests/test_migrations.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tdi_kit.db import create_engine


async def test_the_database_refuses_to_change_or_remove_a_ledger_entry(funding_url: str) -> None:
    engine = create_engine(funding_url)
    try:
        for statement in (
            "UPDATE ledger_entries SET amount_delta_cents = 0",
            "DELETE FROM ledger_entries",
        ):
            async with engine.connect() as connection:
                with pytest.raises(DBAPIError, match="append-only"):
                    await connection.execute(text(statement))
                await connection.rollback()
    finally:
        await engine.dispose()
