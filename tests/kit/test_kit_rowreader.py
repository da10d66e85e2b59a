"""The driver-level reader that serves the hottest reads, on the committed seed database."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import Column, MetaData, String, Table, insert, select

from registry.territories.queries import DOCUMENT_BY_CODE
from tdi_kit.db import Uuid, create_engine, create_sessionmaker
from tdi_kit.pagination import ListParams, _page_statement, parse_sort, read_page
from tdi_kit.rowreader import DriverRowReader, SessionRowReader
from tdi_kit.testing import test_database


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


async def test_a_page_types_its_sort_keys_only_where_the_cursor_reads_them() -> None:
    """A page's statement ends on its sort keys (`CURSOR_KEYS`): the driver's reader turns them
    into Python values in its last two rows alone (the cursor's, and the one past it), and the
    pages, totals and cursors are those of the session's fully typed rows."""
    metadata = MetaData()
    things = Table(
        "things",
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("code", String(8), nullable=False),
        Column("seen", Uuid, nullable=False),
    )
    ids = sorted(uuid.uuid4() for _ in range(7))
    async with test_database("cursor_keys") as url:
        engine = create_engine(url)
        reader = DriverRowReader(engine, pool_size=2)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(metadata.create_all)
                await connection.execute(
                    insert(things),
                    [{"id": i, "code": f"c{n % 3}", "seen": i} for n, i in enumerate(ids)],
                )
            sort = parse_sort(
                "-code", allowed={"code": things.c.code}, default="code", unique=("id", things.c.id)
            )
            stmt = select(things.c.seen, things.c.code)
            params = ListParams(limit=3, cursor=None, sort="-code", format=None)
            rows = await reader.all(
                _page_statement(stmt, sort=sort, params=params, items=list(stmt.selected_columns))
            )
            assert len(rows) == 4
            # An item's columns are typed in every row; the keys (code, id) in the last two.
            assert all(type(row[0]) is uuid.UUID for row in rows)
            assert [type(row[-1]) is uuid.UUID for row in rows] == [False, False, True, True]
            # Keys the item itself selects (here both) are read from its columns: nothing is
            # added after the total, and every row's item columns are typed.
            own = select(things.c.code, things.c.id)
            page = _page_statement(own, sort=sort, params=params, items=list(own.selected_columns))
            rows = await reader.all(page)
            assert len(rows) == 4 and all(len(row) == 3 for row in rows)
            assert all(type(row[1]) is uuid.UUID for row in rows)
            for kept in (False, True):
                pages: dict[str, list[Any]] = {"driver": [], "session": []}
                for name, rows_ in (
                    ("driver", reader),
                    ("session", SessionRowReader(create_sessionmaker(engine))),
                ):
                    cursor = None
                    while True:
                        params = ListParams(limit=3, cursor=cursor, sort="-code", format=None)
                        page = await read_page(
                            rows_, stmt, sort=sort, params=params, values={} if kept else None
                        )
                        pages[name].append((page.rows, page.next_cursor, page.total))
                        if (cursor := page.next_cursor) is None:
                            break
                assert pages["driver"] == pages["session"] and len(pages["driver"]) == 3
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
