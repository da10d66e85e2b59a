"""List pages read as the read by key is: through the driver, with their total, one statement
whatever the page size (the registry's territories, on the committed seed)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import bindparam, event, select
from suite_testing import all_pages

from registry.models import ProgrammePhase, Territory
from tdi_kit.app import ServiceApp
from tdi_kit.db import create_engine, create_sessionmaker
from tdi_kit.pagination import ListParams, _kept, _key_places, paginate, parse_sort, read_page
from tdi_kit.rowreader import DriverRowReader, RowReader

SEED_TERRITORIES = 331  # 148 of phase 1, 183 of phase 2


@pytest.mark.parametrize(
    ("filters", "total"),
    [({}, SEED_TERRITORIES), ({"phase": "1"}, 148), ({"phase": "2"}, 183)],
)
async def test_every_page_answers_the_total_of_its_filters(
    client: httpx.AsyncClient, filters: dict[str, str], total: int
) -> None:
    pages = await all_pages(client, "/api/v1/territories", limit=100, **filters)
    assert {p["total"] for p in pages} == {total}
    codes = [t["code"] for p in pages for t in p["items"]]
    assert len(codes) == len(set(codes)) == total
    assert codes == sorted(codes)


async def test_a_filter_that_matches_nothing_answers_a_total_of_zero(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/api/v1/territories", params={"q": "aucun territoire ne porte ce nom"})
    assert r.json() == {"items": [], "next_cursor": None, "total": 0}


async def test_a_sorted_and_filtered_page_keeps_its_total_along_the_cursor(
    client: httpx.AsyncClient,
) -> None:
    pages = await all_pages(client, "/api/v1/territories", limit=40, phase="2", sort="-name")
    assert len(pages) == 5 and {p["total"] for p in pages} == {183}
    assert sum(len(p["items"]) for p in pages) == 183


class CountingReader:
    """The app's reader, counting the statements it runs."""

    def __init__(self, inner: RowReader) -> None:
        self.inner = inner
        self.statements = 0

    async def one(self, stmt: Any, **params: Any) -> Any:
        self.statements += 1
        return await self.inner.one(stmt, **params)

    async def all(self, stmt: Any, **params: Any) -> Any:
        self.statements += 1
        return await self.inner.all(stmt, **params)

    async def close(self) -> None:
        return None


async def test_a_list_page_is_one_statement_whatever_its_size_and_no_session(
    client: httpx.AsyncClient, registry_app: ServiceApp
) -> None:
    session_statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        session_statements.append(statement)

    original = registry_app.state.rows
    counting = CountingReader(original)
    registry_app.state.rows = counting
    engine = registry_app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for size in (10, 100, 500):
            for query in ({}, {"phase": "2", "sort": "-name"}, {"phase": "current"}):
                counting.statements = 0
                r = await client.get("/api/v1/territories", params={"limit": size, **query})
                assert r.status_code == 200 and r.json()["total"] >= len(r.json()["items"])
                # The register's data version, then the page (tdi_kit/dataversions.py); `current`
                # first reads the phases' dates: one statement more, at every size.
                assert counting.statements == (3 if query.get("phase") == "current" else 2)
                # Asked again while the register has not changed: the version alone (and the
                # phases' dates, which say which phase is current today).
                counting.statements = 0
                again = await client.get("/api/v1/territories", params={"limit": size, **query})
                assert again.content == r.content
                assert counting.statements == (2 if query.get("phase") == "current" else 1)
        assert session_statements == []
    finally:
        event.remove(engine, "before_cursor_execute", count)
        registry_app.state.rows = original


async def test_the_driver_reader_types_rows_as_a_session_does(registry_url: str) -> None:
    engine = create_engine(registry_url)
    reader = DriverRowReader(engine, pool_size=2)
    try:
        statements = [
            select(
                Territory.code,
                Territory.phase,
                Territory.phase1_overlaps,
                Territory.created_at,
                Territory.updated_at,
            ).where(Territory.phase == phase)
            for phase in (1, 2)
        ] + [
            select(ProgrammePhase.phase, ProgrammePhase.starts_on, ProgrammePhase.ends_on),
            # An IN list: compiled per call, its values expanded.
            select(Territory.code).where(Territory.code.in_(["ti-2708", "8402", "ti-0000"])),
        ]
        async with create_sessionmaker(engine)() as session:
            for stmt in statements * 2:  # the second time from the reader's compiled cache
                expected = [tuple(r) for r in (await session.execute(stmt.order_by(None))).all()]
                got = await reader.all(stmt)
                assert sorted(got, key=repr) == sorted(expected, key=repr), stmt
                assert [type(v) for v in got[0]] == [type(v) for v in expected[0]]
    finally:
        await reader.close()
        await engine.dispose()


async def test_read_page_answers_rows_cursor_and_total(registry_url: str) -> None:
    engine = create_engine(registry_url)
    reader = DriverRowReader(engine, pool_size=2)
    sort = parse_sort(
        "-name", allowed={"name": Territory.name}, default="code", unique=("code", Territory.code)
    )
    stmt = select(Territory.code, Territory.phase).where(Territory.phase == 1)
    try:
        seen: list[str] = []
        cursor = None
        while True:
            params = ListParams(limit=50, cursor=cursor, sort="-name", format=None)
            page = await read_page(reader, stmt, sort=sort, params=params)
            assert page.total == 148 and all(len(row) == 2 for row in page.rows)
            seen += [code for code, _ in page.rows]
            if (cursor := page.next_cursor) is None:
                break
        assert len(seen) == len(set(seen)) == 148
        every = await read_page(
            reader, stmt, sort=sort, params=ListParams(50, None, "-name", "csv")
        )
        assert [code for code, _ in every.rows] == seen and every.total == 148
    finally:
        await reader.close()
        await engine.dispose()


async def test_a_sort_key_the_statement_selects_is_read_from_its_own_column(
    registry_url: str,
) -> None:
    """A page's statement adds only the sort keys its item lacks: the driver types each value
    once per row (a UUID or a timestamp twice was most of a page's typing), and the cursor is
    made from the item's own column, kept or not."""
    engine = create_engine(registry_url)
    reader = DriverRowReader(engine, pool_size=2)
    sort = parse_sort(
        "-name", allowed={"name": Territory.name}, default="code", unique=("code", Territory.code)
    )
    stmt = select(Territory.code, Territory.phase).where(Territory.phase == bindparam("phase"))
    phase_1 = select(Territory.code, Territory.phase).where(Territory.phase == 1)
    try:
        for cursor in (False, True):
            page = _kept(stmt, "page", sort, cursor)
            # The code once (an item's column and the unique key), the name added after the total.
            names = [getattr(c, "name", None) for c in page.selected_columns]
            assert len(names) == 4 and names[:2] == ["code", "phase"] and names[3] == "name"
        assert _key_places(list(stmt.selected_columns), sort, 2) == [3, 0]
        # A session's page of records (`paginate`): its row holds the record, every key added.
        assert _key_places((), sort, 1) == [2, 3]
        seen: list[str] = []
        cursor_text = None
        while True:
            params = ListParams(limit=50, cursor=cursor_text, sort="-name", format=None)
            kept = await read_page(reader, stmt, sort=sort, params=params, values={"phase": 1})
            built = await read_page(reader, phase_1, sort=sort, params=params)
            assert kept == built and all(len(row) == 2 for row in kept.rows)
            seen += [code for code, _ in kept.rows]
            if (cursor_text := kept.next_cursor) is None:
                break
        assert len(seen) == len(set(seen)) == 148
    finally:
        await reader.close()
        await engine.dispose()


async def test_a_session_page_of_records_follows_its_cursor(registry_url: str) -> None:
    """`paginate` pages records (a select of the entity, whose columns it lists): the cursor is
    made from the keys added after the total, never from the record."""
    engine = create_engine(registry_url)
    sort = parse_sort(
        "-name", allowed={"name": Territory.name}, default="code", unique=("code", Territory.code)
    )
    try:
        async with create_sessionmaker(engine)() as session:
            stmt = select(Territory).where(Territory.phase == 2)
            seen: list[str] = []
            cursor = None
            while True:
                params = ListParams(limit=50, cursor=cursor, sort="-name", format=None)
                records, cursor, total = await paginate(session, stmt, sort=sort, params=params)
                assert total == 183 and all(isinstance(r, Territory) for r in records)
                seen += [r.code for r in records]
                if cursor is None:
                    break
        assert len(seen) == len(set(seen)) == 183
    finally:
        await engine.dispose()
