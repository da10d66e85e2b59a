"""A database with an outbox and one versioned record table, for the events kit's tests."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tdi_kit import testing
from tdi_kit.db import create_engine, create_sessionmaker
from tdi_kit.events import Event, emit, events_table

metadata = MetaData()
outbox = events_table(metadata)
records = Table(
    "records",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("version", Integer, nullable=False),
)

REQUIRE_BROKERS = "TDI_REQUIRE_BROKERS"


@asynccontextmanager
async def outbox_database(name: str, *, pool_size: int = 5) -> AsyncIterator[AsyncEngine]:
    async with testing.test_database(name) as url:
        engine = create_engine(url, pool_size=pool_size, max_overflow=4)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(metadata.create_all)
            yield engine
        finally:
            await engine.dispose()


async def change(session: AsyncSession, record: str, *, type_: str = "record.changed") -> Event:
    """Create or bump `record` (locking its row) and emit its event, in the session's
    transaction."""
    version = await session.scalar(
        select(records.c.version).where(records.c.id == record).with_for_update()
    )
    if version is None:
        version = 1
        await session.execute(records.insert().values(id=record, version=1))
    else:
        version += 1
        await session.execute(update(records).where(records.c.id == record).values(version=version))
    event = Event(
        type=type_,
        subject_kind="record",
        subject_id=record,
        version=version,
        payload={"record": {"id": record, "version": version}},
    )
    await emit(session, event)
    return event


async def commit_changes(engine: AsyncEngine, record: str, count: int) -> list[Event]:
    made = []
    for _ in range(count):
        async with create_sessionmaker(engine)() as session:
            made.append(await change(session, record))
            await session.commit()
    return made


async def rows(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as connection:
        return list((await connection.execute(select(outbox).order_by(outbox.c.seq))).all())


async def count(engine: AsyncEngine, table: Table) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(table)) or 0)


def payload(row: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(row.payload)
    return loaded


def broker_or_skip(port: int, what: str) -> None:
    """Skip, saying why, when the broker does not answer on 127.0.0.1 (fail in CI)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return
    except OSError:
        reason = f"{what} is not reachable on 127.0.0.1:{port}"
        if os.environ.get(REQUIRE_BROKERS) == "1":
            pytest.fail(f"{reason} and {REQUIRE_BROKERS}=1")
        pytest.skip(f"{reason} (set {REQUIRE_BROKERS}=1 to make this a failure)")


async def eventually(check: Callable[[], Awaitable[bool] | bool], *, within: float) -> None:
    """Wait until `check()` holds, polling; fail after `within` seconds."""
    step = 0.02
    for _ in range(int(within / step)):
        result = check()
        if await result if inspect.isawaitable(result) else result:
            return
        await asyncio.sleep(step)
    pytest.fail(f"not within {within} s")
