"""References owned by the registry (territories, organisations, EPCIs), checked at write time,
and the funding service's allocations, asked when an operator's right depends on them.

The contracts service never reads the registry's or funding's tables: it asks their API. When
an owner cannot answer, the client raises 503 and the request's transaction stores nothing.
Answers are remembered for the request, so a contract naming Bpifrance ten times asks once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.contracts import organisations
from tdi_kit.clients import ServiceClient
from tdi_kit.db import SessionDep
from tdi_kit.errors import Unprocessable

# Organisations whose tokens may write everywhere; others (operators, partners) are limited to
# the plan lines they finance and the indicators of those actions.
FULL_WRITE_KINDS = {"state", "region"}
# An allocation that moved money: committed, or cancelled after part of it was paid.
FINANCING_STATUSES = {"committed", "partly_disbursed", "fully_disbursed"}


@dataclass(frozen=True)
class TerritoryFacts:
    code: str
    name: str
    phase: int
    status: str
    regions: list[tuple[str, str]]
    members: frozenset[str]


@dataclass
class References:
    client: ServiceClient
    # None: the seed loaders, which never ask whether an operator finances an action.
    funding: ServiceClient | None = None
    # Where the registry's answers are remembered (organisation names for the documents).
    session: AsyncSession | None = None
    _cache: dict[str, Any] = field(default_factory=dict)

    async def _get(self, path: str) -> Any | None:
        if path not in self._cache:
            self._cache[path] = await self.client.get(path)
        return self._cache[path]

    async def allocates_to(self, operator_code: str, action_id: uuid.UUID) -> bool:
        """Whether the funding service records an allocation of this operator to the action
        that moved money. Asked anonymously: a proposal (private) is not financing yet, and
        committed allocations are public. No funding client: fail closed."""
        if self.funding is None:
            return False
        key = f"allocations:{operator_code}:{action_id}"
        if key not in self._cache:
            page = await self.funding.get(
                "/api/v1/allocations",
                action=str(action_id),
                operator=operator_code,
                limit=1000,
            )
            items = [] if page is None else page.get("items", [])
            self._cache[key] = any(
                a.get("status") in FINANCING_STATUSES or a.get("disbursed_cents", 0) > 0
                for a in items
            )
        return bool(self._cache[key])

    async def territory(self, code: str, *, location: str, field: str) -> TerritoryFacts:
        """The territory as the registry has it; 422 naming `field` if it does not exist."""
        doc = await self._get(f"/api/v1/territories/{code}")
        if doc is None:
            raise Unprocessable.field(location, field, f"no territory with code {code}")
        if doc.get("status") == "archived":
            raise Unprocessable.field(location, field, f"territory {code} is archived")
        return TerritoryFacts(
            code=doc["code"],
            name=doc["name"],
            phase=int(doc["phase"]),
            status=doc.get("status", "active"),
            regions=[(r["code"], r["name"]) for r in doc.get("regions", [])],
            members=frozenset(m["siren"] for m in doc.get("members", [])),
        )

    async def organisation(self, code: str) -> dict[str, Any] | None:
        return await self._get(f"/api/v1/organisations/{code}")

    async def require_organisation(
        self, code: str, *, location: str, field: str, kinds: set[str] | None = None
    ) -> dict[str, Any]:
        doc = await self.organisation(code)
        if doc is None:
            raise Unprocessable.field(location, field, f"no organisation with code {code}")
        if kinds is not None and doc.get("kind") not in kinds:
            raise Unprocessable.field(
                location,
                field,
                f"organisation {code} is a {doc.get('kind')}, not a {' or '.join(sorted(kinds))}",
            )
        if self.session is not None:
            await organisations.remember(self.session, doc)
        return doc

    async def writes_everywhere(self, org: str) -> bool:
        """Whether a token of this organisation is the State's or a Région's."""
        doc = await self.organisation(org)
        return doc is not None and doc.get("kind") in FULL_WRITE_KINDS


async def _references(request: Request, session: SessionDep) -> References:
    return References(
        request.app.state.registry, funding=request.app.state.funding, session=session
    )


RefsDep = Annotated[References, Depends(_references)]
