"""References owned by the registry (territories, organisations, EPCIs), checked at write time.

The contracts service never reads the registry's tables: it asks the registry's API. When the
registry cannot answer, the client raises 503 and the request's transaction stores nothing.
Answers are remembered for the request, so a contract naming Bpifrance ten times asks once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tdi_kit.clients import ServiceClient
from tdi_kit.errors import Unprocessable

# Organisations whose tokens may write everywhere; others (operators, partners) are limited to
# the plan lines they finance and the indicators of those actions.
FULL_WRITE_KINDS = {"state", "region"}


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
    _cache: dict[str, Any] = field(default_factory=dict)

    async def _get(self, path: str) -> Any | None:
        if path not in self._cache:
            self._cache[path] = await self.client.get(path)
        return self._cache[path]

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
        return doc

    async def writes_everywhere(self, org: str) -> bool:
        """Whether a token of this organisation is the State's or a Région's."""
        doc = await self.organisation(org)
        return doc is not None and doc.get("kind") in FULL_WRITE_KINDS
