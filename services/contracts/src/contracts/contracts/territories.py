"""Our copy of what the registry says of a territory, refreshed whenever a write names it."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.models import Territory, TerritoryRegion
from contracts.references import TerritoryFacts
from tdi_kit.clock import now_to_second


async def remember(session: AsyncSession, facts: TerritoryFacts) -> Territory:
    territory = await session.get(Territory, facts.code)
    if territory is None:
        territory = await _insert(session, facts)
    territory.name = facts.name
    territory.phase = facts.phase
    territory.checked_at = now_to_second()
    current = {(r.region_code, r.region_name) for r in territory.regions}
    if current != set(facts.regions):
        territory.regions.clear()
        await session.flush()
        territory.regions.extend(
            TerritoryRegion(region_code=code, region_name=name) for code, name in facts.regions
        )
    await session.flush()
    return territory


async def _insert(session: AsyncSession, facts: TerritoryFacts) -> Territory:
    territory = Territory(
        code=facts.code, name=facts.name, phase=facts.phase, checked_at=now_to_second(), regions=[]
    )
    try:
        # In a savepoint: when another request names the territory first, its row wins and
        # this request goes on with it instead of failing.
        async with session.begin_nested():
            session.add(territory)
            await session.flush()
    except IntegrityError:
        found = await session.get(Territory, facts.code, populate_existing=True)
        if found is None:
            raise
        return found
    return territory
