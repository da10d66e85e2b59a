"""Our copy of what the registry calls an organisation, refreshed whenever a write names it.

Documents show a name beside each organisation code (signatories, owners, financers). The name
is the registry's: the reference check of every write asks the registry for the organisation
anyway, and its answer refreshes this copy; the documents rendered by that write carry it. A
rename in the registry reaches a record's document the next time a write re-renders it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.models import Action, Contract, Organisation
from tdi_kit.clock import now_to_second


async def remember(session: AsyncSession, doc: dict[str, Any]) -> None:
    """Keep the registry's answer for an organisation (`GET /organisations/{code}`)."""
    code, name, kind = doc["code"], doc["name"], doc.get("kind", "")
    found = await session.get(Organisation, code)
    if found is None:
        try:
            # In a savepoint: when another request remembers it first, its row wins.
            async with session.begin_nested():
                session.add(Organisation(code=code, name=name, kind=kind))
                await session.flush()
            return
        except IntegrityError:
            found = await session.get(Organisation, code, populate_existing=True)
            if found is None:
                raise
    if (found.name, found.kind) != (name, kind):
        found.name, found.kind = name, kind
    found.checked_at = now_to_second()


def codes_of(contract: Contract | None, actions: Iterable[Action]) -> set[str]:
    """Every organisation code a contract's and its actions' documents show."""
    found: list[str | None] = []
    if contract is not None:
        found.extend(s.organisation_code for s in contract.signatories)
    for action in actions:
        found.append(action.owner_organisation_code)
        found.extend(line.financer_code for line in action.plan_lines)
    return {code for code in found if code}


async def names(session: AsyncSession, codes: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    rows = await session.execute(
        select(Organisation.code, Organisation.name).where(Organisation.code.in_(wanted))
    )
    return {code: name for code, name in rows.all()}  # noqa: C416 (rows, not pairs, to mypy)
