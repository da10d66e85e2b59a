"""Stored Idempotency-Key answers are kept `IDEMPOTENCY_RETENTION_HOURS`, then purged: by each
process every `IDEMPOTENCY_PURGE_INTERVAL_SECONDS`, or by `tdi purge-idempotency`."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, insert, select

from registry.main import MIGRATIONS
from registry.models import idempotency_keys
from tdi_cli.main import main as tdi
from tdi_kit import migrations, testing
from tdi_kit.db import create_engine, create_sessionmaker
from tdi_kit.idempotency import purge_expired, purge_periodically

NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)


def _answer(key: str, created_at: dt.datetime) -> dict[str, object]:
    return {
        "principal": "p" * 64,
        "key": key,
        "request_hash": "h" * 64,
        "scopes": "registry:write",
        "status_code": 201,
        "response_headers": "[]",
        "response_body": b"{}",
        "created_at": created_at,
    }


@pytest.fixture
async def database() -> AsyncIterator[str]:
    async with testing.test_database("purge") as url:
        await migrations.migrate_and_seed(url, MIGRATIONS)
        engine = create_engine(url)
        async with engine.begin() as connection:
            await connection.execute(
                insert(idempotency_keys),
                [
                    _answer("two-days-old", NOW - dt.timedelta(days=2)),
                    _answer("a-day-and-a-minute-old", NOW - dt.timedelta(hours=24, minutes=1)),
                    _answer("an-hour-old", NOW - dt.timedelta(hours=1)),
                    _answer("just-now", NOW),
                ],
            )
        await engine.dispose()
        yield url


async def _keys(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.scalars(select(idempotency_keys.c.key)))
    finally:
        await engine.dispose()


async def test_answers_past_their_retention_are_purged_and_the_others_kept(
    database: str,
) -> None:
    engine = create_engine(database)
    try:
        sessions = create_sessionmaker(engine)
        purged = await purge_expired(
            sessions, idempotency_keys, retention=dt.timedelta(hours=24), now=NOW
        )
        assert purged == 2
        # Again, from another replica say: nothing left to do, nothing wrong.
        assert (
            await purge_expired(
                sessions, idempotency_keys, retention=dt.timedelta(hours=24), now=NOW
            )
            == 0
        )
    finally:
        await engine.dispose()
    assert await _keys(database) == {"an-hour-old", "just-now"}


async def test_tdi_purge_idempotency_uses_the_retention_setting(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database)
    # Against the real clock: the two answers of a day or more before NOW are past half an hour
    # whatever the day the test runs (NOW is a fixed date; the others may be in the future).
    monkeypatch.setenv("REGISTRY_IDEMPOTENCY_RETENTION_HOURS", "0.5")
    await asyncio.to_thread(tdi, ["purge-idempotency", "--service", "registry"])
    out = capsys.readouterr().out
    assert "registry: " in out and "older than 0.5 h purged" in out
    remaining = await _keys(database)
    assert {"two-days-old", "a-day-and-a-minute-old"}.isdisjoint(remaining)


async def test_the_periodic_purge_runs_every_interval_and_survives_a_failure() -> None:
    ran: list[int] = []
    slept: list[float] = []

    async def purge() -> int:
        ran.append(1)
        if len(ran) == 1:
            raise OSError("the database is away")
        return 3

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) > 3:
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await purge_periodically(purge, interval=60, sleep=sleep)
    assert slept == [60, 60, 60, 60]
    assert len(ran) == 3


async def test_the_count_of_stored_answers_is_what_the_purge_leaves(database: str) -> None:
    engine = create_engine(database)
    try:
        await purge_expired(
            create_sessionmaker(engine),
            idempotency_keys,
            retention=dt.timedelta(days=3),
            now=NOW,
        )
        async with engine.connect() as connection:
            assert await connection.scalar(select(func.count()).select_from(idempotency_keys)) == 4
    finally:
        await engine.dispose()
