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

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TIMES, ROUNDS = 300, 2
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
            r = await c.get(path)
            body = re.sub(r'"request_id":"[0-9a-f]+"', "", r.text)
            answers[path] = [r.status_code, r.headers.get("etag"), body]
            if r.headers.get("etag"):  # and the same 304 to a conditional read
                again = await c.get(path, headers={"If-None-Match": r.headers["etag"]})
                answers[f"{path} (If-None-Match)"] = [again.status_code, again.text]
        figures: dict[str, list[int]] = {}
        for name, path in paths.items():
            for _ in range(30):
                (await c.get(path)).raise_for_status()
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(TIMES):
                (await c.get(path)).raise_for_status()
            figures[name] = [
                round((time.process_time() - cpu) / TIMES * 1e6),
                round((time.perf_counter() - wall) / TIMES * 1e6),
            ]
        print(json.dumps(figures))
    return answers


def _compare(old_rev: str, backends: dict[str, str], work: Path) -> None:
    old = work / "old"
    old.mkdir()
    archive = subprocess.run(
        ["git", "archive", old_rev, "services/contracts/src"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    trees = {"old": old / "services/contracts/src", "new": REPO / "services/contracts/src"}
    for backend, url in backends.items():
        asyncio.run(_seed(url))
        runs: dict[str, list[dict[str, list[int]]]] = {"old": [], "new": []}
        for _ in range(ROUNDS):
            for tree, src in trees.items():
                env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{REPO}"}
                done = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "bench.contracts_reads",
                        "--measure",
                        url,
                        str(work / f"{backend}-{tree}.json"),
                    ],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                )
                runs[tree].append(json.loads(done.stdout.strip().splitlines()[-1]))
        old_answers = json.loads((work / f"{backend}-old.json").read_text())
        new_answers = json.loads((work / f"{backend}-new.json").read_text())
        differ = [path for path in old_answers if old_answers[path] != new_answers.get(path)]
        print(f"{backend}: {len(old_answers)} answers, identical (bytes, ETags): {not differ}")
        for path in differ[:10]:
            print(f"  differs: {path}")
        print("| read | before CPU µs | after CPU µs | before wall µs | after wall µs |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name in runs["old"][0]:
            b = min(r[name] for r in runs["old"])
            a = min(r[name] for r in runs["new"])
            print(f"| {name} | {b[0]:,} | {a[0]:,} | {b[1]:,} | {a[1]:,} |")


def main() -> None:
    if sys.argv[1] == "--measure":
        answers = asyncio.run(_measure(sys.argv[2]))
        Path(sys.argv[3]).write_text(json.dumps(answers, sort_keys=True))
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        backends = {"sqlite": f"sqlite+aiosqlite:///{work / 'contracts.db'}"}
        if len(sys.argv) > 2:
            base = sys.argv[2]
            name = f"contracts_reads_{os.getpid()}"
            admin = base.replace("postgresql+asyncpg://", "postgresql://")
            subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
            backends["postgresql"] = base.rsplit("/", 1)[0] + f"/{name}"
            try:
                _compare(sys.argv[1], backends, work)
            finally:
                subprocess.run(["psql", admin, "-qc", f"DROP DATABASE {name}"], check=True)
        else:
            _compare(sys.argv[1], backends, work)


if __name__ == "__main__":
    main()
