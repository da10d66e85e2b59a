"""The gateway's own share of the dossier and the dashboard: this tree against another, side by
side over the same services.

    .venv/bin/python scripts/gateway_aggregates_cpu.py sqlite [--base main] [--requests 200]
        [--profile]
    TDI_TEST_DATABASE_URL=postgresql+asyncpg://... .venv/bin/python \
        scripts/gateway_aggregates_cpu.py postgresql

The suite of `bench.gateway` (three services and the gateway, one uvicorn process each, seeded,
the bench programme for ti-2708), plus a second gateway running `--base`'s gateway code (git
archive of gateway/src, first on its PYTHONPATH) in front of the same services. First every
aggregate answer (with variants, identity, gzip and br) is asked from both gateways and
compared: status, ETag and body bytes. Then, one connection, sequential requests, interleaved
round by round: each part straight from its service, then the aggregate through each gateway;
printed: p50 of each, each aggregate's p50 over its slowest part's, and each gateway process's
CPU (user + system, from /proc) per aggregate request. `--base-dashboard-lists`: the base's
dashboard asked the lists it counted (a base before issue 11's counts endpoints): they are
timed too, and its ratio is over the slowest of them. `--profile`: py-spy samples this tree's
gateway while wrk loads each aggregate (8 connections); raw profiles kept under /tmp.
Writes no doc.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.aggregates import DASHBOARD, _parts  # noqa: E402
from bench.gateway import DOSSIER, RATE_LIMIT, _cpu_seconds, suite  # noqa: E402
from bench.harness.load import Scenario, Server, pick_generator, serve  # noqa: E402
from bench.harness.runner import Context  # noqa: E402
from bench.harness.sampling import sample_under_load  # noqa: E402

# Answers compared byte for byte between the two gateways.
COMPARED = [
    DOSSIER,
    DOSSIER + "?include_demo=true",
    "/api/v1/territories/ti-0101/dossier",
    "/api/v1/territories/9999/dossier",
    DASHBOARD,
    DASHBOARD + "?region=27",
    DASHBOARD + "?phase=1&include_demo=true",
    DASHBOARD + "?region=11&phase=2",
]


async def _timed(client: httpx.AsyncClient, url: str) -> float:
    started = time.perf_counter()
    r = await client.get(url)
    elapsed = time.perf_counter() - started
    if r.status_code != 200:
        raise RuntimeError(f"{url} answered {r.status_code}")
    return elapsed


def _seen(r: httpx.Response) -> tuple[object, ...]:
    """Status, ETag and bytes; a problem's without its request id (one per request)."""
    body: object = r.content
    if r.headers.get("content-type") == "application/problem+json":
        body = {k: v for k, v in r.json().items() if k != "request_id"}
    return (r.status_code, r.headers.get("etag"), body)


def _callers() -> dict[str, dict[str, str]]:
    """Anonymous, and an operator's token (the suite's development secret): the services may
    answer a caller with a token otherwise."""
    from tdi_kit.auth import mint_token
    from tdi_kit.settings import DEV_JWT_SECRET

    scopes = ["funding:write", "contracts:write"]
    token = mint_token(secret=DEV_JWT_SECRET, sub="bench", org="bpifrance", scopes=scopes)
    return {"anonymous": {}, "operator": {"Authorization": f"Bearer {token}"}}


async def _compare(new: str, old: str) -> int:
    differences = 0
    async with httpx.AsyncClient(timeout=60) as client:
        for caller, authorization in _callers().items():
            for path in COMPARED:
                for encoding in ("identity", "gzip", "br"):
                    headers = {"Accept-Encoding": encoding, **authorization}
                    a = await client.get(new + path, headers=headers)
                    b = await client.get(old + path, headers=headers)
                    same = _seen(a) == _seen(b)
                    differences += not same
                    print(
                        f"  {'same' if same else 'DIFFERENT'}: {path} [{encoding}, {caller}] "
                        f"{a.status_code} {len(a.content)} bytes, ETag {a.headers.get('etag')}"
                    )
    return differences


def _listed_parts(servers: dict[str, Server]) -> dict[str, str]:
    """The five calls the dashboard made before the services counted (issue 11)."""
    registry, contracts = servers["registry"].url, servers["contracts"].url
    return {
        "registry: every territory": f"{registry}/api/v1/territories?limit=1000",
        "registry: the programme": f"{registry}/api/v1/programme",
        "contracts: every contract": f"{contracts}/api/v1/contracts?is_demo=false&limit=1000",
        "contracts: every action": f"{contracts}/api/v1/actions?is_demo=false&limit=1000",
    }


async def _aggregate(
    name: str,
    urls: dict[str, str],
    gateways: dict[str, Server],
    n: int,
    base_parts: dict[str, str] | None = None,
) -> None:
    """`base_parts`: the parts of the base's aggregate where they are others (with the parts of
    `urls` its other services answer: those named by a service not in them)."""
    own = [k for k in urls if not k.startswith("the ")]
    base_label = list(gateways)[1]
    theirs = own
    if base_parts:
        services = {k.split(":")[0] for k in base_parts}
        theirs = [*base_parts, *(k for k in own if k.split(":")[0] not in services)]
        urls = {**base_parts, **urls}
    whole = next(k for k in urls if k.startswith("the "))
    path = urls.pop(whole).split("/", 3)[3]
    for label, server in gateways.items():
        urls[f"{name} through the gateway ({label})"] = f"{server.url}/{path}"
    times: dict[str, list[float]] = {k: [] for k in urls}
    cpu: dict[str, float] = dict.fromkeys(gateways, 0.0)
    async with httpx.AsyncClient(timeout=60) as client:
        for url in urls.values():  # warm-up
            for _ in range(5):
                await _timed(client, url)
        for _ in range(n):
            for key, url in urls.items():
                label = next((g for g in gateways if key.endswith(f"({g})")), None)
                if label is None:
                    times[key].append(await _timed(client, url))
                    continue
                before = _cpu_seconds(gateways[label].pid)
                times[key].append(await _timed(client, url))
                cpu[label] += _cpu_seconds(gateways[label].pid) - before
    p50 = {k: statistics.median(v) * 1000 for k, v in times.items()}
    for k, v in p50.items():
        print(f"  {k:55s} p50 {v:7.2f} ms")
    for label in gateways:
        slowest = max(theirs if label == base_label else own, key=lambda k: p50[k])
        key = f"{name} through the gateway ({label})"
        print(
            f"  {name} ({label}): {p50[key] / p50[slowest]:.2f} x its slowest part ({slowest}); "
            f"gateway CPU {cpu[label] / n * 1e6:,.0f} us per request"
        )


def _base_source(base: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", base, "gateway/src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "gateway" / "src"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("backend", choices=("sqlite", "postgresql"))
    parser.add_argument("--base", default="main", help="the git revision compared with")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--base-dashboard-lists", action="store_true")
    args = parser.parse_args()
    loadgen, _ = pick_generator()
    with tempfile.TemporaryDirectory() as workdir:
        ctx = Context(
            duration=5,
            warmup=0.5,
            connections=8,
            repeat=1,
            backends=[args.backend],
            postgres_url=os.environ.get("TDI_TEST_DATABASE_URL"),
            profile=args.profile,
            workdir=Path(workdir),
            loadgen=loadgen,
        )
        old_src = _base_source(args.base, Path(workdir))
        async with suite(ctx, args.backend) as servers:
            env = {
                "GATEWAY_LOG_LEVEL": "WARNING",
                "GATEWAY_RATE_LIMIT": RATE_LIMIT,
                "PYTHONPATH": os.pathsep.join([str(old_src), str(REPO)]),
                **{f"GATEWAY_{n.upper()}_URL": servers[n].url for n in ("registry", "funding")},
                "GATEWAY_CONTRACTS_URL": servers["contracts"].url,
            }
            async with serve(
                "gateway.main:create_app",
                factory=True,
                name="gateway-base",
                workdir=ctx.workdir,
                env=env,
            ) as base:
                gateways = {"this tree": servers["gateway"], args.base: base}
                print(f"answers of this tree's gateway and of {args.base}'s:")
                differences = await _compare(servers["gateway"].url, base.url)
                print(f"  {differences} different")
                parts = _parts(servers)
                listed = _listed_parts(servers) if args.base_dashboard_lists else None
                await _aggregate("dossier", parts["dossier"], gateways, args.requests)
                await _aggregate("dashboard", parts["dashboard"], gateways, args.requests, listed)
            if args.profile:
                gateway = servers["gateway"]
                for name, path in (("dossier", DOSSIER), ("dashboard", DASHBOARD)):
                    scenario = Scenario(name=name, url=gateway.url + path, headers={})
                    profile = await sample_under_load(ctx, gateway, scenario, seconds=10)
                    if profile is None:
                        continue
                    print(f"profile of the gateway, {name}: {profile.samples} samples")
                    print(f"  GIL held {profile.gil_held:.0%}")
                    for leaf, share in profile.top_leaves(15):
                        print(f"  {share:6.1%}  {leaf}")
                    raw = ctx.workdir / f"gateway-{name}.raw"
                    shutil.copyfile(raw, f"/tmp/gw-profile-{args.backend}-{name}.raw")


if __name__ == "__main__":
    asyncio.run(main())
