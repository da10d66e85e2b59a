"""`tdi backup` and `tdi restore`: one file per service's database, with a manifest that the
restore checks row by row, table by table.

PostgreSQL: `pg_dump --format=custom` (a consistent snapshot, taken while the service runs),
restored by `pg_restore` in one transaction into an EMPTY database, then brought to the code's
head and its grants by the migrations (a backup of an older schema comes back migrated). SQLite:
SQLite's online backup API, restored the same way onto an empty or absent file. Owners and
privileges are not in the file: the restore runs as the schema's owner and the migrations grant
the service's role again (`<SERVICE>_DATABASE_APP_ROLE`).

The manifest (`<file>.json`) names the service, the schema's revision and the number of rows of
every table, read in the very snapshot the dump holds; after a restore the same counts must be
read back, or the restore fails naming the tables that differ (drop that database: it holds
what the file held, which is not what the manifest says).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tdi_kit import migrations
from tdi_kit.db import create_engine

FORMAT = 1


class BackupError(RuntimeError):
    """A backup or restore that cannot go on; its message is the one line `tdi` prints."""


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    """Rows of every table of the schema (the migration history included)."""
    async with engine.connect() as connection:
        return await _counts(connection)


async def _counts(connection: AsyncConnection) -> dict[str, int]:
    tables = await connection.run_sync(lambda c: sorted(inspect(c).get_table_names()))
    quote = connection.dialect.identifier_preparer.quote
    return {
        table: int(await connection.scalar(text(f"SELECT count(*) FROM {quote(table)}")) or 0)
        for table in tables
    }


def backup(service: str, url: str, folder: Path) -> Path:
    """Write `<service>-<UTC time>.{dump,db}` and its manifest in `folder`; return the file."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target, revisions, counts = asyncio.run(_take(url, folder / f"{service}-{stamp}"))
    manifest = {
        "format": FORMAT,
        "service": service,
        "dialect": "postgresql" if target.suffix == ".dump" else "sqlite",
        "taken_at": stamp,
        "revisions": revisions,
        "tables": counts,
    }
    _manifest_path(target).write_text(json.dumps(manifest, indent=2) + "\n")
    return target


async def _take(url: str, stem: Path) -> tuple[Path, list[str], dict[str, int]]:
    engine = create_engine(url)
    try:
        revisions = sorted(await migrations.current_revisions(engine))
        if engine.dialect.name == "postgresql":
            target = stem.with_suffix(".dump")
            return target, revisions, await _dump(engine, make_url(url), target)
        target = stem.with_suffix(".db")
        await asyncio.to_thread(_sqlite_copy, _sqlite_path(url), target)
        return target, revisions, await asyncio.to_thread(_sqlite_counts, target)
    finally:
        await engine.dispose()


def restore(
    service: str, url: str, source: Path, script: str, app_role: str | None
) -> dict[str, int]:
    """Restore `source` into the (empty) database at `url`, migrate it to head, check the rows
    against the manifest; returns the counts read back."""
    manifest = _read_manifest(source, service)
    return asyncio.run(_restore(service, url, source, manifest, script, app_role))


async def _restore(
    service: str,
    url: str,
    source: Path,
    manifest: dict[str, Any],
    script: str,
    app_role: str | None,
) -> dict[str, int]:
    engine = create_engine(url)
    try:
        present = await row_counts(engine)
        if present:
            raise BackupError(
                f"{service}: the target database is not empty ({len(present)} tables); restore "
                "into a new database (docs/operations.md, Backups)"
            )
        dialect = engine.dialect.name
        if dialect != manifest["dialect"]:
            raise BackupError(
                f"{service}: {source.name} is a {manifest['dialect']} backup, "
                f"the target is {dialect}"
            )
        await engine.dispose()
        if dialect == "postgresql":
            command = ["pg_restore", "--no-owner", "--no-privileges", "--single-transaction"]
            await asyncio.to_thread(_run, [*command, "--exit-on-error"], make_url(url), str(source))
        else:
            await asyncio.to_thread(_sqlite_copy, source, _sqlite_path(url))
        restored = await row_counts(engine)
        if restored != manifest["tables"]:
            differ = sorted(
                t
                for t in {*restored, *manifest["tables"]}
                if restored.get(t) != manifest["tables"].get(t)
            )
            raise BackupError(f"{service}: rows read back differ from the manifest in {differ}")
        # A backup of an older schema comes back at the code's head; the service's role gets
        # its grants again (they are not in the file).
        await migrations.upgrade(engine, script, app_role=app_role)
        return restored
    finally:
        await engine.dispose()


async def _dump(engine: AsyncEngine, url: URL, target: Path) -> dict[str, int]:
    """pg_dump and the manifest's counts read in ONE snapshot: a transaction exports it, counts
    its rows, and pg_dump reads the same moment (`--snapshot`), whatever the service writes."""
    async with engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="REPEATABLE READ")
        async with connection.begin():
            snapshot = await connection.scalar(text("SELECT pg_export_snapshot()"))
            counts = await _counts(connection)
            command = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges"]
            await asyncio.to_thread(
                _run, [*command, f"--snapshot={snapshot}", "--file", str(target)], url
            )
    return counts


def _run(command: list[str], url: URL, *trailing: str) -> None:
    """pg_dump / pg_restore on the URL's database; the password goes by PGPASSWORD, never on a
    command line that `ps` shows."""
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL's client tools)")
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    where = ["--host", url.host or "localhost", "--port", str(url.port or 5432)]
    if url.username:
        where += ["--username", url.username]
    args = [*command, *where, f"--dbname={url.database or ''}", *trailing]
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        errors = [line for line in lines if "error" in line] or lines
        raise BackupError(f"{command[0]} failed: {errors[0] if errors else done.returncode}")


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy even while the service writes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def _sqlite_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        tables = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def _manifest_path(backup_file: Path) -> Path:
    return backup_file.with_name(backup_file.name + ".json")


def _read_manifest(source: Path, service: str) -> dict[str, Any]:
    path = _manifest_path(source)
    if not source.is_file() or not path.is_file():
        raise BackupError(f"{service}: {source} and its manifest {path.name} are both needed")
    manifest: dict[str, Any] = json.loads(path.read_text())
    if manifest.get("format") != FORMAT or manifest.get("service") != service:
        raise BackupError(f"{service}: {path.name} is not a backup of {service}")
    return manifest
