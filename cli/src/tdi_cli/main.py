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
tdi events tail        follow the suite's events (the gateway's merged feed), one line each
tdi webhooks           run the webhooks dispatcher alone (REGISTRY_WEBHOOKS_DISPATCHER=external)

The database jobs are `tdi_cli.jobs`; `up` and `serve`, `tdi_cli.serving`; this module parses
the command line and holds the token and import commands.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

import httpx

from tdi_cli import events, webhooks
from tdi_cli.jobs import cmd_backup, cmd_migrate, cmd_purge_idempotency, cmd_restore, cmd_seed
from tdi_cli.services import by_name
from tdi_cli.serving import cmd_serve, cmd_up
from tdi_kit.auth import mint_token
from tdi_kit.settings import DEV_JWT_SECRET


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

    events.add_parser(sub)
    webhooks.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
