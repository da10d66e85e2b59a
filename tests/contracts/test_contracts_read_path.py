"""Contracts' reads through the driver answer what the session path answered, byte for byte.

A database of its own, loaded with the seed, the demo acts and generated ones (committed, so
that the driver's own connections see them), read through `DriverRowReader` as the app reads
it; the reference is the session path these reads replaced: the stored documents read by key
through the ORM, a territory's plan from its two ordered SELECTs, a list's statement built per
request (no kept statement).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.actions import queries as action_queries
from contracts.actions import service as actions
from contracts.contracts import queries as contract_queries
from contracts.contracts import service as contracts
from contracts.contracts.documents import detail
from contracts.main import MIGRATIONS
from contracts.models import Action, Contract
from contracts.seed.demo import load_demo
from contracts.seed.loader import load
from contracts.seed.volume import load_volume
from tdi_kit import migrations
from tdi_kit.db import create_engine, create_sessionmaker
from tdi_kit.errors import NotFound
from tdi_kit.pagination import ListParams, read_page
from tdi_kit.rowreader import DriverRowReader
from tdi_kit.testing import test_database


@pytest.fixture(scope="module")
async def loaded() -> AsyncIterator[str]:
    async with test_database("contracts_reads") as url:
        engine = create_engine(url)
        try:
            await migrations.upgrade(engine, MIGRATIONS)
            async with create_sessionmaker(engine)() as session:
                await load(session, say=lambda _line: None)
                await load_demo(session, say=lambda _line: None)
                await load_volume(session, contracts=12, actions_per_contract=4)
                await session.commit()
        finally:
            await engine.dispose()
        yield url


async def _old_plan(session: AsyncSession, code: str) -> str:
    """The session path's answer: the contracts by kind and id, the actions by code and id."""
    by_contract: dict[Any, list[str]] = {}
    stmt = (
        select(Action.contract_id, Action.document)
        .where(Action.territory_code == code)
        .order_by(Action.code, Action.id)
    )
    for contract_id, document in await session.execute(stmt):
        by_contract.setdefault(contract_id, []).append(document)
    stmt = (
        select(Contract.id, Contract.document)
        .where(Contract.territory_code == code)
        .order_by(Contract.kind, Contract.id)
    )
    plans = [detail(doc, by_contract.get(id_, ())) for id_, doc in await session.execute(stmt)]
    return (
        f'{{"territory_code":{orjson.dumps(code).decode()},"contracts":[{",".join(plans)}],'
        f'"actions_without_contract":[{",".join(by_contract.get(None, ()))}]}}'
    )


async def test_reads_by_key_and_plans_answer_the_session_paths_bytes(loaded: str) -> None:
    engine = create_engine(loaded)
    reader = DriverRowReader(engine, pool_size=2)
    try:
        async with create_sessionmaker(engine)() as session:
            all_actions = (await session.execute(select(Action))).scalars().all()
            all_contracts = (await session.execute(select(Contract))).scalars().all()
            assert len(all_contracts) > 12 and len(all_actions) > 48
            for action in all_actions:
                assert await actions.get_document(reader, action_id=action.id) == (
                    action.document,
                    action.etag,
                )
            for contract in all_contracts:
                own = await action_queries.documents_of_contract(session, contract.id)
                assert await contracts.get_detail(reader, contract_id=contract.id) == (
                    detail(contract.document, own),
                    contract.etag,
                )
            codes = {c.territory_code for c in all_contracts} | {
                a.territory_code for a in all_actions
            }
            for code in [*sorted(codes), "ti-9999"]:
                assert await contracts.territory_plan(reader, code=code) == await _old_plan(
                    session, code
                )
        with pytest.raises(NotFound):
            await actions.get_document(reader, action_id=uuid.uuid4())
        with pytest.raises(NotFound):
            await contracts.get_detail(reader, contract_id=uuid.uuid4())
    finally:
        await reader.close()
        await engine.dispose()


FILTERS: list[dict[str, Any]] = [
    {},
    {"territory": "ti-2708"},
    {"territory": "ti-0101"},
    {"phase": 2, "status": "planned"},
    {"region": "27"},
    {"theme": "friche"},
    {"is_demo": True, "phase": 1},
    {"financer": "bpifrance"},
    {"q": "plateforme"},
]


@pytest.mark.parametrize("sort", [None, "-budget_cents", "title"])
async def test_kept_lists_read_the_pages_a_built_statement_reads(loaded: str, sort: str) -> None:
    engine = create_engine(loaded)
    reader = DriverRowReader(engine, pool_size=2)
    lists = [
        (actions, "actions", select(*action_queries.LISTED), action_queries.filtered),
        (contracts, "contracts", select(Contract.document), contract_queries.filtered),
    ]
    try:
        for module, name, columns, filtered in lists:
            for filters in FILTERS:
                if name == "contracts" and sort is not None:
                    sort_ = {"-budget_cents": "-signed_on", "title": "title"}[sort]
                else:
                    sort_ = sort  # type: ignore[assignment]
                kept: list[Any] = []
                built: list[Any] = []
                for pages, values in ((kept, True), (built, False)):
                    cursor = None
                    while True:
                        params = ListParams(limit=7, cursor=cursor, sort=sort_, format=None)
                        if values:
                            page = await module.list_documents(
                                reader, params=params, filters=dict(filters)
                            )
                        else:
                            page = await read_page(
                                reader,
                                filtered(columns, **filters),
                                sort=module.sort_for(params),
                                params=params,
                            )
                        pages.append((page.rows, page.total))
                        if (cursor := page.next_cursor) is None:
                            break
                assert kept == built, (name, filters)
    finally:
        await reader.close()
        await engine.dispose()
