"""Funding's allocation reads, one tree against another: CPU µs per request in process.

    .venv/bin/python -m bench.allocation_reads OLD_REV [POSTGRES_URL]

As `bench.envelope_reads` (`bench.harness.trees` compares the two): funding migrated and seeded
once per backend, its facts and demo plus 1,000 generated allocations over 60 territories (×10
today's data, `bench.lists.prepare_funding`); then each tree's app in fresh processes, through
`httpx.ASGITransport` in a loop. Measured: a 100-allocation page, one territory's allocations,
one allocation by id, the ledger's first 100 movements (as an admin). Every answer compared
(bytes and ETags) covers anonymous, operator, examiner, admin callers and a token that names no
organisation, so that the never-committed allocations and the movements each may see are in
it, with filters, sorts, cursors and the CSV export.
"""

from __future__ import annotations

import re

from bench.envelope_reads import funding_client
from bench.harness import trees
from tdi_kit.auth import mint_token
from tdi_kit.settings import DEV_JWT_SECRET

TERRITORY = "ti-2708"
GENERATED = 1_000


def _bearer(*scopes: str, org: str | None = None) -> dict[str, str]:
    token = mint_token(
        secret=DEV_JWT_SECRET, sub="bench", scopes=list(scopes), org=org, ttl_seconds=7200
    )
    return {"Authorization": f"Bearer {token}"}


CALLERS = {
    "anonymous": {},
    "admin": _bearer("admin"),
    "bpifrance": _bearer("funding:write", org="bpifrance"),
    "bdt": _bearer("funding:write", org="banque-des-territoires"),
    "anct": _bearer("funding:write", org="anct"),
    "no organisation": _bearer("funding:write"),
}


async def _seed(url: str) -> None:
    from bench.lists import prepare_funding

    territories = [TERRITORY, *(f"ti-{n:04d}" for n in range(1000, 1059))]
    await prepare_funding(url, GENERATED, territories)


async def _measure(url: str) -> dict[str, list[object]]:
    async with funding_client(url) as c:
        admin = CALLERS["admin"]
        every = (await c.get("/api/v1/allocations?limit=1000", headers=admin)).json()["items"]
        # Read by id: the seed's and demo's allocations and a few generated ones (every one of
        # them is in the lists compared).
        ids = [a["id"] for a in every if not (a["reference"] or "").startswith("bench-")]
        ids += [a["id"] for a in every[::50]]
        one = (await c.get("/api/v1/allocations?limit=1")).json()["items"][0]["id"]
        paths = {
            "GET /allocations?limit=100": "/api/v1/allocations?limit=100",
            f"GET /allocations?territory={TERRITORY}": (
                f"/api/v1/allocations?territory={TERRITORY}&limit=100"
            ),
            "GET /allocations/{id}": f"/api/v1/allocations/{one}",
            # The ledger needs a token; an admin reads every movement.
            "GET /ledger?limit=100 (admin)": ("/api/v1/ledger?limit=100", admin),
        }
        checked = [
            "/api/v1/allocations?limit=1000",
            "/api/v1/allocations?limit=7&sort=-amount_cents",
            "/api/v1/allocations?limit=1000&sort=territory_code,-year",
            "/api/v1/allocations?format=csv",
            "/api/v1/allocations?status=proposed&limit=1000",
            "/api/v1/allocations?status=cancelled&limit=1000",
            f"/api/v1/allocations?territory={TERRITORY}&limit=1000",
            "/api/v1/allocations?region=27&limit=3",
            "/api/v1/allocations?is_demo=false&limit=1000",
            *(f"/api/v1/allocations/{i}" for i in ids),
            "/api/v1/ledger?limit=1000",
            "/api/v1/ledger?limit=7&sort=-at",
            "/api/v1/ledger?format=csv",
            "/api/v1/ledger?kind=commitment&limit=1000",
            f"/api/v1/ledger?territory={TERRITORY}&limit=1000",
            "/api/v1/ledger?operator=bpifrance&is_demo=true&limit=7",
            "/api/v1/ledger?year=2024&sort=at&limit=7",
        ]
        answers: dict[str, list[object]] = {}
        for who, headers in CALLERS.items():
            for path in [*(p if isinstance(p, str) else p[0] for p in paths.values()), *checked]:
                r = await c.get(path, headers=headers)
                body = re.sub(r'"request_id":"[0-9a-f]+"', "", r.text)
                answers[f"{who} {path}"] = [r.status_code, r.headers.get("etag"), body]
                # The next page, through the cursor the answer gave.
                cursor = r.json().get("next_cursor") if "limit=7" in path else None
                if cursor:
                    r = await c.get(f"{path}&cursor={cursor}", headers=headers)
                    answers[f"{who} {path} next"] = [r.status_code, r.headers.get("etag"), r.text]
        await trees.timed(c, paths, 200, warm_up=20)
    return answers


def main() -> None:
    trees.main("bench.allocation_reads", "funding", _seed, _measure)


if __name__ == "__main__":
    main()
