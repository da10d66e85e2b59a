"""`tdi`: run the Territoires d'industrie suite locally and operate it.

tdi up                 migrate, seed and start every service on the embedded default
tdi serve SERVICE      run one service under uvicorn (JSON logs, metrics across workers)
tdi migrate            apply every service's migrations (to the configured databases)
tdi seed               load the official lists (idempotent; says what it changed)
tdi purge-idempotency  delete the stored Idempotency-Key answers past their retention
tdi token ...          mint a signed token for local use
tdi import KIND FILE   push an operator's allocations or disbursements to funding
tdi backup             back up each service's database (a file and its manifest per service)
tdi restore FILE...    restore backups into new, empty databases, checked against the manifests
tdi webhooks           run the webhooks dispatcher alone (REGISTRY_WEBHOOKS_DISPATCHER=external)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tdi_cli import backup, webhooks
from tdi_cli.services import Service, by_name
from tdi_kit import migrations
from tdi_kit.auth import mint_token
from tdi_kit.db import create_engine, create_sessionmaker
from tdi_kit.idempotency import purge_expired
from tdi_kit.observability import log_config, prepare_multiprocess
from tdi_kit.settings import DEV_JWT_SECRET, ServiceSettings


def batch_engine(settings: ServiceSettings) -> AsyncEngine:
    """A job's engine: two connections at most (it uses one), statements unbounded."""
    return create_engine(
        settings.database_url,
        pool_size=1,
        max_overflow=1,
        connect_timeout=settings.database_connect_timeout_seconds,
        statement_cache_size=settings.database_statement_cache_size,
        application_name=f"{settings.database_application_name}-job",
    )


async def _prepare(service: Service, *, seed: bool = False, demo: bool = False) -> None:
    """Migrate the service's database to head, then (with `seed`) load what it ships: the
    kit's one recipe for a fresh database, as the tests and the deployment jobs follow it."""
    if not service.migrations:
        return  # the gateway: no database of its own
    settings = service.settings()
    assert isinstance(settings, ServiceSettings)
    loaders = [("seed", service.seed)] if seed else []
    if seed and demo:
        loaders.append(("demo data", service.demo))
    engine = batch_engine(settings)
    try:
        # Started beside its database (compose, a Job), the job waits for it, within bounds;
        # every replica or job may run this at once: the migration lock lets one work at a time.
        await migrations.wait_for_database(engine, within=settings.database_wait_seconds)
        await migrations.migrate_and_seed(
            engine,
            service.migrations,
            *[
                _announced(f"{service.name}: loading the {what}", load)
                for what, load in loaders
                if load
            ],
            say=print,
            app_role=settings.database_app_role,
        )
    finally:
        await engine.dispose()
    print(f"{service.name}: migrations at head ({_safe_url(settings.database_url)})")


def _announced(line: str, loader: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def load(session: AsyncSession, *, say: Callable[[str], None]) -> Any:
        say(line)
        return await loader(session, say=say)

    return load


async def _purge_idempotency(service: Service) -> None:
    if service.idempotency is None:
        return
    settings = service.settings()
    assert isinstance(settings, ServiceSettings)
    engine = batch_engine(settings)
    try:
        purged = await purge_expired(
            create_sessionmaker(engine),
            service.idempotency,
            retention=dt.timedelta(hours=settings.idempotency_retention_hours),
        )
    finally:
        await engine.dispose()
    print(
        f"{service.name}: {purged} Idempotency-Key answers older than "
        f"{settings.idempotency_retention_hours:g} h purged"
    )


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_migrate(args: argparse.Namespace) -> None:
    for service in by_name(args.service):
        asyncio.run(_prepare(service))


def cmd_purge_idempotency(args: argparse.Namespace) -> None:
    for service in by_name(args.service):
        asyncio.run(_purge_idempotency(service))


def cmd_seed(args: argparse.Namespace) -> None:
    # The seed needs the schema at head; migrating first makes `tdi seed` enough on its own.
    for service in by_name(args.service):
        asyncio.run(_prepare(service, seed=True, demo=args.demo))


def cmd_token(args: argparse.Namespace) -> None:
    secret = args.secret or os.environ.get("TDI_JWT_SECRET") or DEV_JWT_SECRET
    scopes = [s for part in args.scope for s in part.split()]
    print(
        mint_token(
            secret=secret,
            sub=args.sub or default_subject(args.org),
            org=args.org,
            scopes=scopes,
            ttl_seconds=args.ttl,
        )
    )


def default_subject(org: str | None, *, role: str = "local-user") -> str:
    """Each organisation's local tokens name a subject of their own (`local-user@bpifrance`), so
    that two organisations' tokens never read as one person in the ledger and the logs."""
    return f"{role}@{org}" if org else role


def cmd_import(args: argparse.Namespace) -> None:
    """POST an operator's file to the running funding service's bulk endpoint.

    Through the API rather than into the database: the same rules, scoping, reference checks and
    ledger entries (with the token's subject as actor) as any client. The Idempotency-Key is the
    file's digest, so importing the same file again, after a timeout say, stores nothing twice.
    """
    path = Path(args.file)
    body = path.read_bytes()
    media_type = "text/csv" if path.suffix.lower() == ".csv" else "application/json"
    settings = by_name(["funding"])[0].settings()
    url = (args.url or f"http://{settings.host}:{settings.port}").rstrip("/")
    token = args.token or os.environ.get("TDI_TOKEN")
    if token is None:
        if not args.org:
            raise SystemExit("give --org (an operator's code) or --token (or TDI_TOKEN)")
        secret = os.environ.get("TDI_JWT_SECRET") or DEV_JWT_SECRET
        token = mint_token(
            secret=secret,
            sub=default_subject(args.org, role="tdi-import"),
            org=args.org,
            scopes=["funding:write"],
        )
    key = "tdi-import-" + hashlib.sha256(args.kind.encode() + b"\0" + body).hexdigest()
    try:
        r = httpx.post(
            f"{url}/api/v1/{args.kind}/bulk",
            content=body,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": media_type,
                "Idempotency-Key": key,
            },
            timeout=600,
        )
    except httpx.HTTPError as exc:
        raise SystemExit(f"the funding service at {url} cannot be reached: {exc}") from exc
    if r.status_code == 201:
        replayed = (
            " (already imported: nothing stored again)"
            if "idempotent-replayed" in r.headers
            else ""
        )
        print(f"{r.json()['created']} {args.kind} stored from {path}{replayed}")
        return
    problem = r.json() if r.headers.get("content-type", "").endswith("json") else {}
    print(f"{r.status_code}: {problem.get('detail') or r.text}", file=sys.stderr)
    for row in problem.get("rows", []):
        fields = "; ".join(f"{e['field']}: {e['message']}" for e in row.get("errors", []))
        print(f"  row {row['row']} ({row['status']}): {fields or row['detail']}", file=sys.stderr)
    sys.exit(1)


def cmd_up(args: argparse.Namespace) -> None:
    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["TDI_DATA_DIR"] = str(data_dir)
    services = by_name(args.service)
    print(f"data folder: {data_dir}")
    for service in services:
        asyncio.run(_prepare(service, seed=not args.no_seed, demo=args.demo))

    busy = [
        f"{s.name} ({s.settings().host}:{s.settings().port})"
        for s in services
        if _port_in_use(s.settings().host, s.settings().port)
    ]
    if busy:
        raise SystemExit(
            f"port already in use for {', '.join(busy)}: is the suite already "
            "running? Stop it, or set <SERVICE>_PORT."
        )

    # Each service finds the others where this run puts them (FUNDING_REGISTRY_URL, ...),
    # whatever ports the settings chose; settings a service does not have are ignored.
    urls = {s.name: f"http://{s.settings().host}:{s.settings().port}" for s in services}
    for service in services:
        for other, url in urls.items():
            if other != service.name:
                os.environ.setdefault(f"{service.name.upper()}_{other.upper()}_URL", url)

    children: list[tuple[Service, subprocess.Popen[bytes], str]] = []
    for service in services:
        settings = service.settings()
        log = (data_dir / f"{service.name}.log").open("ab")
        command = [
            sys.executable,
            "-m",
            "tdi_cli.main",
            "serve",
            service.name,
            "--host",
            settings.host,
            "--port",
            str(settings.port),
            "--timeout-graceful-shutdown",
            "10",
        ]
        # Own session: Ctrl-C reaches tdi alone, which then stops the services in order.
        child = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        children.append((service, child, f"http://{settings.host}:{settings.port}"))

    def stop(*_: object) -> None:
        for _service, child, _url in children:
            if child.poll() is None:
                child.terminate()
        for _service, child, _url in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        print("stopped every process tdi up started.")

    def on_sigterm(*_args: object) -> None:
        stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        for service, child, url in children:
            _wait_ready(service, child, url, data_dir)
            log_path = data_dir / f"{service.name}.log"
            print(f"{service.name:10} {url}/api/v1   docs {url}/docs   logs {log_path}")
        print("ready. Ctrl-C stops everything.")
        while all(child.poll() is None for _s, child, _u in children):
            time.sleep(0.5)
        dead = [s.name for s, child, _u in children if child.poll() is not None]
        print(f"{', '.join(dead)} stopped unexpectedly; see its log. Stopping the others.")
        stop()
        sys.exit(1)
    except KeyboardInterrupt:
        stop()


def cmd_serve(args: argparse.Namespace) -> None:
    """One app under uvicorn, as every container and `tdi up` run it."""
    [service] = by_name([args.service])
    settings = service.settings()
    workers = args.workers
    # Several workers share the metrics through files, emptied here before any worker starts.
    prepare_multiprocess(workers)
    import uvicorn

    uvicorn.run(
        service.app,
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=workers,
        # JSON on stdout from uvicorn's first line (plain text when LOG_JSON is false).
        log_config=log_config(service.name, settings.log_level) if settings.log_json else None,
        log_level=settings.log_level.lower(),
        access_log=False,  # the kit's access log replaces it, with the request id
        timeout_graceful_shutdown=args.timeout_graceful_shutdown,
        # A worker still importing the suite on a busy host must not be taken for a hung one
        # (uvicorn's default, 5 s, kills and restarts it over and over).
        timeout_worker_healthcheck=60,
        # The gateway alone decides whose X-Forwarded-For to believe (trusted_proxies):
        # uvicorn's own default believes any local client.
        proxy_headers=service.name != "gateway",
    )


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _wait_ready(service: Service, child: subprocess.Popen[bytes], url: str, data_dir: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"{service.name} exited; see {data_dir}/{service.name}.log")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{service.name} was not ready within 60 s; see {data_dir}/{service.name}.log")


def cmd_backup(args: argparse.Namespace) -> None:
    for service in by_name(args.service):
        if not service.migrations:
            continue  # the gateway keeps nothing
        settings = service.settings()
        assert isinstance(settings, ServiceSettings)
        try:
            target = backup.backup(service.name, settings.database_url, Path(args.to))
        except backup.BackupError as exc:
            raise SystemExit(str(exc)) from exc
        print(f"{service.name}: {target} (+ {target.name}.json)")


def cmd_restore(args: argparse.Namespace) -> None:
    for file in args.file:
        source = Path(file)
        name = source.name.split("-", 1)[0]
        services = [s for s in by_name(None) if s.name == name and s.migrations]
        if not services:
            raise SystemExit(f"{source.name}: not a backup of registry, funding or contracts")
        service = services[0]
        settings = service.settings()
        assert isinstance(settings, ServiceSettings)
        try:
            counts = backup.restore(
                service.name,
                settings.database_url,
                source,
                service.migrations,
                settings.database_app_role,
            )
        except backup.BackupError as exc:
            raise SystemExit(str(exc)) from exc
        rows = sum(counts.values())
        print(f"{service.name}: restored {rows} rows in {len(counts)} tables, as the manifest says")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tdi", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="migrate, seed and start the suite on the embedded default")
    up.add_argument(
        "--data-dir",
        default=os.environ.get("TDI_DATA_DIR", "var"),
        help="where the SQLite databases and logs go (default ./var)",
    )
    up.add_argument("--no-seed", action="store_true", help="start without loading the seed")
    up.add_argument("--demo", action="store_true", help="also load the demo data (marked demo)")
    up.add_argument("--service", action="append", help="only this service (repeatable)")
    up.set_defaults(func=cmd_up)

    serve = sub.add_parser(
        "serve", help="run one service under uvicorn (JSON logs, metrics across workers)"
    )
    serve.add_argument("service", choices=["registry", "funding", "contracts", "gateway"])
    serve.add_argument("--host", help="address to listen on (default: <SERVICE>_HOST)")
    serve.add_argument("--port", type=int, help="port (default: <SERVICE>_PORT)")
    serve.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY", "1")),
        help="worker processes (default: WEB_CONCURRENCY, else 1)",
    )
    serve.add_argument(
        "--timeout-graceful-shutdown",
        type=int,
        default=20,
        help="seconds in-flight requests get to finish after SIGTERM (default 20)",
    )
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply migrations to each service's database")
    migrate.add_argument("--service", action="append", help="only this service (repeatable)")
    migrate.set_defaults(func=cmd_migrate)

    purge = sub.add_parser(
        "purge-idempotency", help="delete stored Idempotency-Key answers past their retention"
    )
    purge.add_argument("--service", action="append", help="only this service (repeatable)")
    purge.set_defaults(func=cmd_purge_idempotency)

    seed = sub.add_parser("seed", help="load the official lists (idempotent)")
    seed.add_argument("--service", action="append", help="only this service (repeatable)")
    seed.add_argument("--demo", action="store_true", help="also load the demo data (marked demo)")
    seed.set_defaults(func=cmd_seed)

    token = sub.add_parser("token", help="print a signed bearer token for local use")
    token.add_argument(
        "--sub", help="subject, who is calling (default: local-user@ORG, or local-user)"
    )
    token.add_argument("--org", help="organisation code, for an operator's token (bpifrance)")
    token.add_argument(
        "--scope",
        action="append",
        default=[],
        help="scope to grant, repeatable: registry:write, funding:write, admin",
    )
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    token.add_argument("--secret", help="signing secret (default: TDI_JWT_SECRET or the dev one)")
    token.set_defaults(func=cmd_token)

    load = sub.add_parser(
        "import", help="push an operator's allocations or disbursements (CSV or JSON) to funding"
    )
    load.add_argument("kind", choices=["allocations", "disbursements"])
    load.add_argument("file", help="a .csv file (header of field names) or a .json array")
    load.add_argument("--org", help="operator code; a local token is minted for it")
    load.add_argument("--token", help="a bearer token (default: TDI_TOKEN, else one for --org)")
    load.add_argument("--url", help="the funding service (default: its configured host and port)")
    load.set_defaults(func=cmd_import)

    save = sub.add_parser("backup", help="back up each service's database (PostgreSQL: pg_dump)")
    save.add_argument("--service", action="append", help="only this service (repeatable)")
    save.add_argument("--to", default="backups", help="the folder (default ./backups)")
    save.set_defaults(func=cmd_backup)

    back = sub.add_parser(
        "restore", help="restore backups into new, empty databases (each named by its file)"
    )
    back.add_argument("file", nargs="+", help="a backup file written by `tdi backup`")
    back.set_defaults(func=cmd_restore)

    webhooks.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
