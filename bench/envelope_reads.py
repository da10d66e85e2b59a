"""Funding's envelope reads, one tree against another: CPU µs per request in process.

    .venv/bin/python -m bench.envelope_reads OLD_REV [POSTGRES_URL]

Funding migrated and seeded once per backend (a SQLite file; a database created on
POSTGRES_URL's server), then, in turn and in fresh processes, funding's app of OLD_REV (its
`services/funding/src` and `kit/src`, from `git archive`) and of the working tree, called through
`httpx.ASGITransport` in a loop: CPU time of the process (`time.process_time`) and wall-clock
time per request, after a warm-up. Each process also records every envelope's and tranche's
answer with its ETag; the script says whether the two trees answered the same bytes (request
ids aside). Not a section of `python -m bench`: it compares two trees.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TIMES, ROUNDS = 200, 2


async def _seed(url: str) -> None:
    from bench.gateway import _services
    from tdi_kit import migrations
    from tdi_kit.db import create_engine, create_sessionmaker

    funding = next(s for s in _services() if s.name == "funding")
    engine = create_engine(url)
    await migrations.upgrade(engine, funding.migrations)
    async with create_sessionmaker(engine)() as session:
        await funding.seed(session, say=lambda _line: None)
        await session.commit()
    await engine.dispose()


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


async def timed(c: Any, paths: dict[str, str]) -> None:
    """Print [CPU µs, wall µs] per request of each path, after a warm-up."""
    figures: dict[str, list[int]] = {}
    for name, path in paths.items():
        for _ in range(20):
            (await c.get(path)).raise_for_status()
        await _settle()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(TIMES):
            (await c.get(path)).raise_for_status()
        figures[name] = [
            round((time.process_time() - cpu) / TIMES * 1e6),
            round((time.perf_counter() - wall) / TIMES * 1e6),
        ]
    print(json.dumps(figures))


async def _settle() -> None:
    """Wait for the threads that compress large answers at brotli's best, once per ETag
    (`tdi_kit.compression`): seconds of CPU for the large answers compared before, which
    `time.process_time` would count against whichever reads are measured next."""
    while True:
        cpu = time.process_time()
        await asyncio.sleep(0.2)
        if time.process_time() - cpu < 0.005:
            return


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
            r = await c.get(path)
            body = re.sub(r'"request_id":"[0-9a-f]+"', "", r.text)
            answers[path] = [r.status_code, r.headers.get("etag"), body]
        await timed(c, paths)
    return answers


def _compare(
    old_rev: str,
    backends: dict[str, str],
    work: Path,
    *,
    module: str = "bench.envelope_reads",
    seed: Callable[[str], Coroutine[Any, Any, None]] = _seed,
) -> None:
    """`module --measure` in fresh processes, old tree and new, on each backend seeded by
    `seed` (this module's reads, or another module's that shares the comparison)."""
    old = work / "old"
    old.mkdir()
    archive = subprocess.run(
        ["git", "archive", old_rev, "services/funding/src", "kit/src"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    # Each tree with its own kit, ahead of the one the virtualenv installs.
    trees = {"old": old, "new": REPO}
    for backend, url in backends.items():
        asyncio.run(seed(url))
        runs: dict[str, list[dict[str, list[int]]]] = {"old": [], "new": []}
        for _ in range(ROUNDS):
            for tree, src in trees.items():
                path = [src / "services/funding/src", src / "kit/src", REPO]
                env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, path))}
                done = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        module,
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
        same = (work / f"{backend}-old.json").read_text() == (
            work / f"{backend}-new.json"
        ).read_text()
        print(f"{backend}: answers and ETags identical: {same}")
        print("| read | before CPU µs | after CPU µs | before wall µs | after wall µs |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name in runs["old"][0]:
            b = min(r[name] for r in runs["old"])
            a = min(r[name] for r in runs["new"])
            print(f"| {name} | {b[0]:,} | {a[0]:,} | {b[1]:,} | {a[1]:,} |")


def main(
    *,
    module: str = "bench.envelope_reads",
    seed: Callable[[str], Coroutine[Any, Any, None]] = _seed,
    measure: Callable[[str], Coroutine[Any, Any, dict[str, list[object]]]] = _measure,
) -> None:
    """The command line of a comparison of two trees (`module`'s docstring)."""
    if sys.argv[1] == "--measure":
        answers = asyncio.run(measure(sys.argv[2]))
        Path(sys.argv[3]).write_text(json.dumps(answers, sort_keys=True))
        return
    compare = functools.partial(_compare, module=module, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        backends = {"sqlite": f"sqlite+aiosqlite:///{work / 'funding.db'}"}
        if len(sys.argv) > 2:
            base = sys.argv[2]
            name = f"{module.rsplit('.', 1)[-1]}_{os.getpid()}"
            admin = base.replace("postgresql+asyncpg://", "postgresql://")
            subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
            backends["postgresql"] = base.rsplit("/", 1)[0] + f"/{name}"
            try:
                compare(sys.argv[1], backends, work)
            finally:
                subprocess.run(["psql", admin, "-qc", f"DROP DATABASE {name}"], check=True)
        else:
            compare(sys.argv[1], backends, work)


if __name__ == "__main__":
    main()
