"""The driver-level reader that serves the hottest reads, on the committed seed database."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from registry.territories.queries import DOCUMENT_BY_CODE
from tdi_kit.db import create_engine
from tdi_kit.rowreader import DriverRowReader


async def test_the_driver_reader_reads_a_row_or_none(registry_url: str) -> None:
    engine = create_engine(registry_url)
    reader = DriverRowReader(engine, pool_size=4)
    try:
        row = await reader.one(DOCUMENT_BY_CODE, code="ti-2708")
        assert row is not None and '"Nord Franche-Comté"' in row[0] and row[1].startswith('"')
        assert await reader.one(DOCUMENT_BY_CODE, code="ti-0000") is None
    finally:
        await reader.close()
        await engine.dispose()


async def test_concurrent_first_reads_open_one_pool(
    registry_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(registry_url)
    reader = DriverRowReader(engine, pool_size=4)
    opened = []
    create_pool = asyncpg.create_pool

    async def counting_create_pool(*args: Any, **kwargs: Any) -> Any:
        opened.append(args)
        return await create_pool(*args, **kwargs)

    monkeypatch.setattr(asyncpg, "create_pool", counting_create_pool)
    try:
        rows = await asyncio.gather(
            *(reader.one(DOCUMENT_BY_CODE, code="ti-2708") for _ in range(20))
        )
        assert all(r is not None for r in rows)
        if engine.dialect.name == "postgresql":
            assert len(opened) == 1, "concurrent first reads must not each open a pool"
            assert reader._pool.get_size() <= 4
    finally:
        await reader.close()
        await engine.dispose()


async def test_compiled_sql_follows_the_statement_not_its_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A collected statement's `id()` is reused by the next object allocated there; a cache keyed
    by `id()` would then answer a new statement with the old one's SQL. Every `id()` is made to
    collide here, as a reused one does by chance."""
    import sqlite3

    from sqlalchemy import bindparam, column, select, table

    from tdi_kit import rowreader

    path = tmp_path / "reader.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE t (a TEXT, b TEXT)")
        connection.execute("INSERT INTO t VALUES ('left', 'right')")
    t = table("t", column("a"), column("b"))
    monkeypatch.setattr(rowreader, "id", lambda _obj: 1, raising=False)
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    reader = DriverRowReader(engine)
    try:
        by_a = select(t.c.a).where(t.c.a == bindparam("v"))
        assert await reader.one(by_a, v="left") == ("left",)
        by_b = select(t.c.b).where(t.c.b == bindparam("v"))
        assert await reader.one(by_b, v="right") == ("right",)
        assert await reader.one(by_a, v="left") == ("left",)
    finally:
        await reader.close()
        await engine.dispose()


def test_the_kits_uuids_are_read_as_the_standard_librarys_in_one_call() -> None:
    """SQLite's 32 hex digits and asyncpg's UUID class become `uuid.UUID` itself (which orjson
    writes, and cursors encode), equal and alike to one parsed from text, through one function
    the reader runs for every `tdi_kit.db.Uuid` column."""
    import pickle
    import uuid

    import orjson
    from asyncpg.pgproto.pgproto import UUID as AsyncpgUUID
    from sqlalchemy.dialects import postgresql, sqlite

    from tdi_kit import rowreader
    from tdi_kit.db import Uuid

    for dialect in (sqlite.dialect(), postgresql.dialect()):
        assert rowreader._result_processor(Uuid(), dialect) is rowreader._uuid
    value = uuid.uuid4()
    for stored in (value.hex, AsyncpgUUID(value.bytes), value, str(value)):
        made = rowreader._uuid(stored)
        assert type(made) is uuid.UUID and made == value and hash(made) == hash(value)
        assert str(made) == str(value) and orjson.dumps(made) == orjson.dumps(value)
        assert made.version == 4 and made.is_safe == value.is_safe
        assert pickle.loads(pickle.dumps(made)) == value
