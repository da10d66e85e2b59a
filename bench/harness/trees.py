"""One service's reads, one tree against another: CPU µs per request in process.

A bench module built on this (`bench.envelope_reads`, `bench.registry_reads`) gives its
service's name, how to seed it and how to measure it; `compare` then seeds the service once
per backend (a SQLite file; a database created on POSTGRES_URL's server) and runs, in turn and
in fresh processes, the service's app of OLD_REV (its `services/<name>/src`, from `git
archive`) and of the working tree. Each process prints its figures (CPU and wall-clock µs per
request, after a warm-up) and records every answer it checked with its ETag; `compare` says
whether the two trees answered the same bytes (request ids aside).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ROUNDS = 2


async def seed(name: str, url: str) -> None:
    """The service `name` migrated and seeded on `url`, as `python -m bench` seeds it."""
    from bench.gateway import _services
    from tdi_kit import migrations
    from tdi_kit.db import create_engine, create_sessionmaker

    service = next(s for s in _services() if s.name == name)
    engine = create_engine(url)
    await migrations.upgrade(engine, service.migrations)
    async with create_sessionmaker(engine)() as session:
        await service.seed(session, say=lambda _line: None)
        await session.commit()
    await engine.dispose()


async def record(client: Any, paths: Iterable[str]) -> dict[str, list[object]]:
    """Each path's status, ETag and body (its request id left out)."""
    answers: dict[str, list[object]] = {}
    for path in paths:
        r = await client.get(path)
        body = re.sub(r'"request_id":"[0-9a-f]+"', "", r.text)
        answers[path] = [r.status_code, r.headers.get("etag"), body]
    return answers


async def timed(client: Any, paths: Mapping[str, str], times: int) -> dict[str, list[int]]:
    """CPU and wall-clock µs per request of each path, after 20 requests of warm-up."""
    figures: dict[str, list[int]] = {}
    for name, path in paths.items():
        for _ in range(20):
            (await client.get(path)).raise_for_status()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(times):
            (await client.get(path)).raise_for_status()
        figures[name] = [
            round((time.process_time() - cpu) / times * 1e6),
            round((time.perf_counter() - wall) / times * 1e6),
        ]
    return figures


Measure = Callable[[str], Awaitable[dict[str, list[object]]]]


def main(module: str, service: str, measure: Measure) -> None:
    """`module OLD_REV [POSTGRES_URL]`, or in a child process `module --measure URL OUT`
    (`measure` prints its figures as its last line of JSON and returns the answers)."""
    if sys.argv[1] == "--measure":
        answers = asyncio.run(measure(sys.argv[2]))
        Path(sys.argv[3]).write_text(json.dumps(answers, sort_keys=True))
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        backends = {"sqlite": f"sqlite+aiosqlite:///{work / f'{service}.db'}"}
        if len(sys.argv) <= 2:
            _compare(module, service, sys.argv[1], backends, work)
            return
        base = sys.argv[2]
        name = f"{module.rsplit('.', 1)[-1]}_{os.getpid()}"
        admin = base.replace("postgresql+asyncpg://", "postgresql://")
        subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
        backends["postgresql"] = base.rsplit("/", 1)[0] + f"/{name}"
        try:
            _compare(module, service, sys.argv[1], backends, work)
        finally:
            subprocess.run(["psql", admin, "-qc", f"DROP DATABASE {name}"], check=True)


def _compare(module: str, service: str, old_rev: str, backends: dict[str, str], work: Path) -> None:
    old = work / "old"
    old.mkdir()
    src = f"services/{service}/src"
    archive = subprocess.run(
        ["git", "archive", old_rev, src], cwd=REPO, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    # The working tree as it is now: editing it while the bench runs changes no figure.
    shutil.copytree(REPO / src, work / "new" / src)
    trees = {"old": old / src, "new": work / "new" / src}
    for backend, url in backends.items():
        asyncio.run(seed(service, url))
        runs: dict[str, list[dict[str, list[int]]]] = {"old": [], "new": []}
        for _ in range(ROUNDS):
            for tree, path in trees.items():
                env = {**os.environ, "PYTHONPATH": f"{path}{os.pathsep}{REPO}"}
                out = str(work / f"{backend}-{tree}.json")
                done = subprocess.run(
                    [sys.executable, "-m", module, "--measure", url, out],
                    env=env,
                    capture_output=True,
                    text=True,
                )
                if done.returncode:
                    sys.exit(f"{tree} tree on {backend} failed:\n{done.stderr[-4000:]}")
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
