"""The groupements' and the communes' lists read their pages through statements kept per shape
of their filters (`tdi_kit.rowlists.KeptStatements`): every page, total and cursor is the one a
statement built for the request reads."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from registry.geography import queries
from registry.geography import service as geography
from tdi_kit.pagination import ListParams, read_page
from tdi_kit.rowlists import RowList
from tdi_kit.rowreader import InSession

GROUPEMENT_FILTERS: list[dict[str, Any]] = [
    {},
    {"kind": "epci"},
    {"nature": "CA", "region": "84"},
    {"department": "2A"},
    {"kind": "epci", "department": "69", "nature": "MET69"},
    {"q": "pays"},
]
COMMUNE_FILTERS: list[dict[str, Any]] = [
    {},
    {"department": "90"},
    {"epci": "200069052"},
    {"department": "2A", "epci": "200040764"},
    {"q": "saint"},
]


async def _pages(
    lister: RowList, read: Any, *, sort: str | None, limit: int
) -> list[tuple[list[tuple[Any, ...]], str | None, int]]:
    pages = []
    cursor = None
    while True:
        params = ListParams(limit=limit, cursor=cursor, sort=sort, format=None)
        page = await read(params)
        pages.append((page.rows, page.next_cursor, page.total))
        if (cursor := page.next_cursor) is None or len(pages) == 4:
            return pages


@pytest.mark.parametrize("sort", [None, "-population", "name"])
async def test_kept_geography_lists_read_the_pages_a_built_statement_reads(
    session: AsyncSession, sort: str | None
) -> None:
    rows = InSession(session)
    lists = [
        (geography.GROUPEMENTS, geography.groupements, queries.groupements, GROUPEMENT_FILTERS),
        (geography.COMMUNES, geography.communes, queries.communes, COMMUNE_FILTERS),
    ]
    for lister, service_read, build, filter_sets in lists:
        names = ("kind", "nature", "region", "department", "q")
        if lister is geography.COMMUNES:
            names = ("department", "epci", "q")
        for given in filter_sets:
            filters = {name: given.get(name) for name in names}
            limit = 3 if given else 50

            async def kept(params: ListParams) -> Any:
                return await service_read(rows, params=params, **filters)  # type: ignore[arg-type]  # noqa: B023

            async def built(params: ListParams) -> Any:
                stmt = build(**filters)  # noqa: B023
                return await read_page(rows, stmt, sort=lister.sort(params), params=params)  # noqa: B023

            answered = await _pages(lister, kept, sort=sort, limit=limit)
            assert answered == await _pages(lister, built, sort=sort, limit=limit), given
            assert answered[0][2] > 0, given
