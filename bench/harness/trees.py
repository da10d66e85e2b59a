"""Two trees of one service compared in process: the same answers, and CPU µs per request.

A bench module (`bench.envelope_reads`, `bench.contracts_reads`) gives its service, how to load
a database and how to measure one tree (`--measure URL OUT`: its figures printed as the last line
of JSON, its answers written to OUT). `main` then, per backend (a SQLite file; a database created
on POSTGRES_URL's server), loads the database once and runs, in turn and in fresh processes, the
service's `src` of OLD_REV (from `git archive`) and of the working tree, ROUNDS times each; it
says whether the two trees answered the same (status, ETag, bytes) and prints the best figures.
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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent.parent
ROUNDS = 2


def main(
    module: str,
    service: str,
    seed: Callable[[str], Awaitable[None]],
    measure: Callable[[str], Awaitable[dict[str, Any]]],
) -> None:
    """`python -m <module> OLD_REV [POSTGRES_URL]`, or `--measure URL OUT` in a child process."""
    if sys.argv[1] == "--measure":
        answers = asyncio.run(measure(sys.argv[2]))
        Path(sys.argv[3]).write_text(json.dumps(answers, sort_keys=True))
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        backends = {"sqlite": f"sqlite+aiosqlite:///{work / (service + '.db')}"}
        if len(sys.argv) <= 2:
            _compare(module, service, seed, sys.argv[1], backends, work)
            return
        base = sys.argv[2]
        name = f"{module.rsplit('.', 1)[-1]}_{os.getpid()}"
        admin = base.replace("postgresql+asyncpg://", "postgresql://")
        subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
        backends["postgresql"] = base.rsplit("/", 1)[0] + f"/{name}"
        try:
            _compare(module, service, seed, sys.argv[1], backends, work)
        finally:
            subprocess.run(["psql", admin, "-qc", f"DROP DATABASE {name}"], check=True)


def _compare(
    module: str,
    service: str,
    seed: Callable[[str], Awaitable[None]],
    old_rev: str,
    backends: dict[str, str],
    work: Path,
) -> None:
    old = work / "old"
    old.mkdir()
    src = f"services/{service}/src"
    archive = subprocess.run(
        ["git", "archive", old_rev, src, "kit/src"], cwd=REPO, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    # Each tree with its own kit, ahead of the one the virtualenv installs.
    trees = {"old": old, "new": REPO}
    for backend, url in backends.items():
        asyncio.run(seed(url))
        runs: dict[str, list[dict[str, list[int]]]] = {"old": [], "new": []}
        for _ in range(ROUNDS):
            for tree, root in trees.items():
                path = [root / src, root / "kit/src", REPO]
                env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, path))}
                out = str(work / f"{backend}-{tree}.json")
                done = subprocess.run(
                    [sys.executable, "-m", module, "--measure", url, out],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                )
                runs[tree].append(json.loads(done.stdout.strip().splitlines()[-1]))
        before = json.loads((work / f"{backend}-old.json").read_text())
        after = json.loads((work / f"{backend}-new.json").read_text())
        differ = [path for path in before if before[path] != after.get(path)]
        print(f"{backend}: {len(before)} answers and ETags identical: {not differ}")
        for path in differ[:10]:
            print(f"  differs: {path}")
        print("| read | before CPU µs | after CPU µs | before wall µs | after wall µs |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name in runs["old"][0]:
            b = min(r[name] for r in runs["old"])
            a = min(r[name] for r in runs["new"])
            print(f"| {name} | {b[0]:,} | {a[0]:,} | {b[1]:,} | {a[1]:,} |")


async def seed(name: str, url: str) -> None:
    """The service `name` migrated and seeded on `url`, as `python -m bench` seeds it."""
    from bench.gateway import _services
    from tdi_kit import migrations

    service = next(s for s in _services() if s.name == name)
    await migrations.migrate_and_seed(url, service.migrations, service.seed)


async def answer(client: Any, path: str) -> list[object]:
    """A GET's status, ETag and bytes (its request id aside), as a tree's answers record it."""
    r = await client.get(path)
    return [r.status_code, r.headers.get("etag"), re.sub(r'"request_id":"[0-9a-f]+"', "", r.text)]


async def timed(
    client: Any, paths: dict[str, str | tuple[str, dict[str, str]]], times: int, warm_up: int
) -> None:
    """CPU and wall-clock µs per GET of each path (or (path, headers): a token, say) after a
    warm-up, printed as the last line."""
    figures: dict[str, list[int]] = {}
    for name, asked in paths.items():
        path, headers = (asked, {}) if isinstance(asked, str) else asked
        for _ in range(warm_up):
            (await client.get(path, headers=headers)).raise_for_status()
        await _settle()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(times):
            (await client.get(path, headers=headers)).raise_for_status()
        figures[name] = [
            round((time.process_time() - cpu) / times * 1e6),
            round((time.perf_counter() - wall) / times * 1e6),
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
