"""What every service's tests share besides fixtures: the link through which one in-process app
calls another, and the racing writers of the race tests. (A database is migrated and seeded as a
deployment does it, by the kit's `migrations.migrate_and_seed`.)"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tdi_kit.app import ServiceApp


class Link:
    """An ASGI app that hands each call to the app behind it, set once both exist.

    Funding asks contracts whether an action exists and contracts asks funding for an
    operator's allocations: each app is built with a transport to the other, so one of them
    has to be reachable before it is made. The link also counts the calls it carries, and can
    play the one failure a real app cannot be made to show in process: a service that is down
    (503, as a proxy in front of a stopped one answers).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.app: Any = None
        self.asked = 0
        self.failing = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.asked += 1
            if self.failing:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 503,
                        "headers": [(b"content-type", b"application/problem+json")],
                    }
                )
                await send({"type": "http.response.body", "body": b'{"status":503}'})
                return
        assert self.app is not None, f"the {self.name} app is not linked yet"
        await self.app(scope, receive, send)

    def reset(self) -> None:
        self.asked, self.failing = 0, False


@dataclass(frozen=True)
class Services:
    """The funding and contracts apps of the run, linked to each other and to the registry."""

    funding: ServiceApp
    contracts: ServiceApp
    to_funding: Link
    to_contracts: Link


async def race(n: int, request: Callable[[int], Awaitable[httpx.Response]]) -> list[httpx.Response]:
    """Fire `request(0)` ... `request(n - 1)` at once (the race tests' concurrent writers)."""
    return list(await asyncio.gather(*(request(i) for i in range(n))))


def count_statuses(answers: list[httpx.Response]) -> Counter[int]:
    """How many answers of each status; every refusal must be a problem document."""
    for r in answers:
        if r.status_code >= 400:
            assert r.headers["content-type"].startswith("application/problem+json"), r.text
    return Counter(r.status_code for r in answers)


async def all_pages(
    client: httpx.AsyncClient, path: str, headers: dict[str, str] | None = None, **query: Any
) -> list[dict[str, Any]]:
    """Every page of a list, following `next_cursor` from the first."""
    pages = [(await client.get(path, params=query, headers=headers)).json()]
    while pages[-1]["next_cursor"]:
        query = {**query, "cursor": pages[-1]["next_cursor"]}
        pages.append((await client.get(path, params=query, headers=headers)).json())
    return pages


# The dashboard's counts as the gateway computed them from the services' lists before the
# services counted them (issue 11): the oracle the counts endpoints and the dashboard are held to.


def counts_by_key(values: list[Any]) -> list[dict[str, Any]]:
    counter = Counter(values)
    keys = sorted(counter, key=lambda k: (k is None, str(k)))
    return [{"key": k, "count": counter[k]} for k in keys]


def territory_counts(territories: list[dict[str, Any]], phase: int) -> dict[str, Any]:
    """A territory counts once, in its official Région."""
    counted = [t for t in territories if t["phase"] == phase]
    regions = Counter((t["region_code"], t["region_name"], phase) for t in counted)
    return {
        "phase": phase,
        "total": len(counted),
        "by_phase": counts_by_key([t["phase"] for t in territories]),
        "by_status": counts_by_key([t["status"] for t in counted]),
        "by_region": [
            {"region_code": code, "region_name": name, "phase": p, "count": n}
            for (code, name, p), n in sorted(regions.items(), key=lambda kv: str(kv[0]))
        ],
    }


def contract_and_action_counts(
    contracts: list[dict[str, Any]], actions: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "contracts": {
            "total": len(contracts),
            "by_status": counts_by_key([c["status"] for c in contracts]),
            "by_kind": counts_by_key([c["kind"] for c in contracts]),
        },
        "actions": {
            "total": len(actions),
            "by_axis": counts_by_key([a["axis"] for a in actions if a["phase"] == 1]),
            "by_priority": counts_by_key([a["priority"] for a in actions if a["phase"] == 2]),
            "by_status": counts_by_key([a["status"] for a in actions]),
        },
    }
