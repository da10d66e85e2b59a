"""Contracts' reads, one tree against another: CPU µs per request in process, same bytes.

    .venv/bin/python -m bench.contracts_reads OLD_REV [POSTGRES_URL]

Contracts migrated once per backend (a SQLite file; a database created on POSTGRES_URL's
server) and loaded with the seed, the demo acts and generated ones (`contracts.seed.volume`),
then, in turn and in fresh processes, contracts' app of OLD_REV (its `services/contracts/src`,
from `git archive`) and of the working tree, called through `httpx.ASGITransport` in a loop:
CPU time of the process (`time.process_time`) and wall-clock time per request, after a
warm-up. Each process also records the answer (status, ETag, bytes) to every contract, action,
territory plan and a set of lists; the script says whether the two trees answered the same
bytes (request ids aside). Not a section of `python -m bench`: it compares two trees.
"""

from __future__ import annotations

from bench.harness import trees

TIMES = 300
TERRITORY = "ti-2708"


async def _seed(url: str) -> None:
    from contracts.main import MIGRATIONS
    from contracts.seed.demo import load_demo
    from contracts.seed.loader import load
    from contracts.seed.volume import load_volume
    from tdi_kit import migrations
    from tdi_kit.db import create_engine, create_sessionmaker

    engine = create_engine(url)
    await migrations.upgrade(engine, MIGRATIONS)
    async with create_sessionmaker(engine)() as session:
        await load(session, say=lambda _line: None)
        await load_demo(session, say=lambda _line: None)
        await load_volume(session, contracts=40, actions_per_contract=5)
        await session.commit()
    await engine.dispose()


async def _all_items(c: object, path: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor = None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = (await c.get(path, params=params)).json()  # type: ignore[attr-defined]
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


async def _measure(url: str) -> dict[str, list[object]]:
    import httpx

    from contracts.main import create_app
    from contracts.settings import ContractsSettings

    app = create_app(ContractsSettings(database_url=url, environment="test", log_level="WARNING"))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as c,
    ):
        contracts = await _all_items(c, "/api/v1/contracts")
        actions = await _all_items(c, "/api/v1/actions")
        busiest = max(contracts, key=lambda x: x["action_count"])  # type: ignore[arg-type,return-value]
        action = next(a for a in actions if a["territory_code"] == TERRITORY)
        paths = {
            f"GET /contracts?territory={TERRITORY}": f"/api/v1/contracts?territory={TERRITORY}",
            f"GET /actions?territory={TERRITORY}": f"/api/v1/actions?territory={TERRITORY}",
            "GET /actions/{id}": f"/api/v1/actions/{action['id']}",
            "GET /contracts/{id}": f"/api/v1/contracts/{busiest['id']}",
            f"GET /territories/{TERRITORY}/contracts": f"/api/v1/territories/{TERRITORY}/contracts",
            "GET /actions?limit=100": "/api/v1/actions?limit=100",
            "GET /contracts?limit=100": "/api/v1/contracts?limit=100",
        }
        none = "00000000-0000-0000-0000-000000000000"
        checked = [
            f"/api/v1/actions/{none}",
            f"/api/v1/contracts/{none}",
            "/api/v1/actions/not-a-uuid",
            "/api/v1/territories/nowhere/contracts",
            "/api/v1/territories/ti-9999/contracts",
            "/api/v1/actions?limit=7&sort=-budget_cents",
            "/api/v1/actions?format=csv",
            "/api/v1/contracts?format=csv",
            "/api/v1/actions?phase=2&status=planned&theme=friche",
            "/api/v1/contracts?region=27&kind=contrat",
            "/api/v1/actions?q=plateforme&is_demo=true",
            "/api/v1/actions?territory=ti-2708&limit=1",
            "/api/v1/actions?phase=3",
        ]
        territories = sorted({str(x["territory_code"]) for x in [*contracts, *actions]})
        checked += [f"/api/v1/territories/{code}/contracts" for code in territories]
        checked += [f"/api/v1/contracts/{x['id']}" for x in contracts]
        checked += [f"/api/v1/actions/{x['id']}" for x in actions]
        checked += [f"/api/v1/contracts?territory={code}" for code in territories]
        checked += [f"/api/v1/actions?territory={code}" for code in territories]
        answers: dict[str, list[object]] = {}
        for path in [*paths.values(), *checked]:
            answers[path] = found = await trees.answer(c, path)
            if found[1]:  # and the same 304 to a conditional read
                again = await c.get(path, headers={"If-None-Match": found[1]})
                answers[f"{path} (If-None-Match)"] = [again.status_code, again.text]
        await trees.timed(c, paths, TIMES, warm_up=30)
    return answers


def main() -> None:
    trees.main("bench.contracts_reads", "contracts", _seed, _measure)


if __name__ == "__main__":
    main()
