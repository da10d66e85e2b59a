"""Our copy of what the registry calls an organisation, refreshed whenever a write names it.

Documents show a name beside each organisation code (signatories, owners, financers). The name
is the registry's: the reference check of every write asks the registry for the organisation
anyway, and its answer refreshes this copy; the documents rendered by that write carry it. A
rename in the registry reaches a record's document the next time a write re-renders it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.models import Action, Contract, organisations
from tdi_kit import copies


async def remember(session: AsyncSession, doc: dict[str, Any]) -> None:
    """Keep the registry's answer for an organisation (`GET /organisations/{code}`)."""
    await copies.remember_organisation(session, organisations, doc)


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
    return await copies.organisation_names(session, organisations, codes)
