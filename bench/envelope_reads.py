"""Funding's envelope reads, one tree against another: CPU µs per request in process.

    .venv/bin/python -m bench.envelope_reads OLD_REV [POSTGRES_URL]

Funding migrated and seeded once per backend (a SQLite file; a database created on
POSTGRES_URL's server), then, in turn and in fresh processes, funding's app of OLD_REV (its
`services/funding/src`, from `git archive`) and of the working tree, called through
`httpx.ASGITransport` in a loop: CPU time of the process (`time.process_time`) and wall-clock
time per request, after a warm-up. Each process also records every envelope's and tranche's
answer with its ETag; the script says whether the two trees answered the same bytes (request
ids aside). Not a section of `python -m bench`: it compares two trees.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bench.harness import trees

TIMES = 200


async def _seed(url: str) -> None:
    await trees.seed("funding", url)


@asynccontextmanager
async def funding_client(url: str) -> AsyncIterator[Any]:
    """An httpx client of funding's app on `url`, in process, its lifespan running."""
    import httpx

    from funding.main import create_app
    from funding.settings import FundingSettings

    app = create_app(FundingSettings(database_url=url, environment="test", log_level="WARNING"))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as c,
    ):
        yield c


async def _measure(url: str) -> dict[str, list[object]]:
    async with funding_client(url) as c:
        listed = (await c.get("/api/v1/envelopes", params={"limit": 100})).json()["items"]
        big = max(listed, key=lambda e: len(e["tranches"]) + len(e["funders"]))
        paths = {
            "GET /envelopes?limit=100": "/api/v1/envelopes?limit=100",
            f"GET /envelopes/{big['code']}": f"/api/v1/envelopes/{big['code']}",
            "GET /envelopes/{code}/tranches/{year}": (
                f"/api/v1/envelopes/{big['code']}/tranches/{big['tranches'][0]['year']}"
            ),
        }
        answers: dict[str, list[object]] = {}
        checked = [
            "/api/v1/envelopes?limit=3",
            "/api/v1/envelopes?format=csv",
            "/api/v1/envelopes?year=2024&sort=-name",
            "/api/v1/envelopes/none-such",
            f"/api/v1/envelopes/{big['code']}/tranches/2099",
        ]
        for e in listed:
            checked.append(f"/api/v1/envelopes/{e['code']}")
            checked += [
                f"/api/v1/envelopes/{e['code']}/tranches/{t['year']}" for t in e["tranches"]
            ]
        for path in [*paths.values(), *checked]:
            answers[path] = await trees.answer(c, path)
        await trees.timed(c, paths, TIMES, warm_up=20)
    return answers


def main() -> None:
    trees.main("bench.envelope_reads", "funding", _seed, _measure)


if __name__ == "__main__":
    main()
