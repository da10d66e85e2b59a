"""References to records other services own, checked with their owner when they are written.

The registry owns organisations and territories; the contracts service owns fiches-actions. An
owner that cannot be reached makes the write fail with 503 (the kit's client raises it) before
anything is stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import ColumnElement, ScalarSelect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from funding.models import organisations
from tdi_kit import copies
from tdi_kit.clients import ServiceClient
from tdi_kit.db import SessionDep
from tdi_kit.errors import Unprocessable


@dataclass(frozen=True)
class Territory:
    code: str
    region_codes: tuple[str, ...]


@dataclass
class Owners:
    """The owners of what funding records name; each answer is remembered for one request, so
    that a bulk push asks once per territory, not once per row."""

    registry: ServiceClient
    contracts: ServiceClient | None  # None: actions are stored unchecked (check_actions off)
    _organisations: dict[str, bool] = field(default_factory=dict)
    _territories: dict[str, Territory | None] = field(default_factory=dict)
    _actions: dict[uuid.UUID, bool] = field(default_factory=dict)
    # Where the registry's answers are remembered (organisation names shown beside codes).
    session: AsyncSession | None = None

    async def organisation_exists(self, code: str) -> bool:
        if code not in self._organisations:
            found = await self.registry.get(f"/api/v1/organisations/{code}")
            self._organisations[code] = found is not None
            if found is not None and self.session is not None:
                await copies.remember_organisation(self.session, organisations, found)
        return self._organisations[code]

    async def territory(self, code: str) -> Territory | None:
        if code not in self._territories:
            found = await self.registry.get(f"/api/v1/territories/{code}")
            self._territories[code] = (
                None
                if found is None
                else Territory(code, tuple(sorted(r["code"] for r in found.get("regions", []))))
            )
        return self._territories[code]

    async def action_exists(self, action_id: uuid.UUID) -> bool:
        if self.contracts is None:
            return True
        if action_id not in self._actions:
            self._actions[action_id] = await self.contracts.exists(f"/api/v1/actions/{action_id}")
        return self._actions[action_id]

    async def check_organisation(self, code: str, *, field_name: str) -> None:
        if not await self.organisation_exists(code):
            raise Unprocessable.field(
                "body", field_name, f"the registry knows no organisation {code!r}"
            )


def organisation_name(
    code: ColumnElement[str] | InstrumentedAttribute[str],
) -> ScalarSelect[str]:
    """The copy's name of the organisation `code` names, as a subquery of the statement that
    selects `code`: a read through the driver gets its names with no query more."""
    return (
        select(organisations.c.name)
        .where(organisations.c.code == code)
        .correlate_except(organisations)
        .scalar_subquery()
    )


async def organisation_names(session: AsyncSession, codes: Iterable[str | None]) -> dict[str, str]:
    """The registry's names of these organisations, as our copy holds them."""
    return await copies.organisation_names(session, organisations, codes)


async def _owners(request: Request, session: SessionDep) -> Owners:
    state = request.app.state
    return Owners(
        registry=state.registry,
        contracts=state.contracts if state.settings.check_actions else None,
        session=session,
    )


OwnersDep = Annotated[Owners, Depends(_owners)]
