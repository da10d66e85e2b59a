"""`tdi events tail`: follow the suite's merged feed (`/api/v1/events`) in a terminal.

One line per event (`--json`: the event as served, one JSON document a line, for `jq`), read
by long polls on the gateway from a cursor: `--cursor` resumes where a previous run stopped
(it says where on leaving). A service that does not answer is reported on stderr; its events
come once it is back, as the gateway keeps its place in the cursor.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any, TextIO

import httpx
import orjson

FEED = "/api/v1/events"
# Below the gateway's longest wait (30 s), so that a quiet feed still answers.
WAIT_SECONDS = 25
RETRY_SECONDS = 2.0


def add_parser(sub: Any) -> None:
    events = sub.add_parser("events", help="the suite's events (`tdi events tail`)")
    commands = events.add_subparsers(dest="events_command", required=True)
    tail_ = commands.add_parser("tail", help="follow the merged feed, one line per event")
    tail_.add_argument("--type", action="append", help="an event type, or `kind.*` (repeatable)")
    tail_.add_argument("--since", help="events that occurred at or after (RFC 3339)")
    tail_.add_argument("--subject-kind", help="events of records of this kind")
    tail_.add_argument("--subject-id", help="events of this record")
    tail_.add_argument("--cursor", help="resume after this cursor (printed when tail stops)")
    tail_.add_argument(
        "--gateway", help="the gateway's URL (default: TDI_GATEWAY_URL, else 127.0.0.1:8000)"
    )
    tail_.add_argument("--token", help="a bearer token (default: TDI_TOKEN; none: public events)")
    tail_.add_argument("--json", action="store_true", help="each event as served, a JSON a line")
    tail_.add_argument("--count", type=int, help="stop after this many events")
    tail_.set_defaults(func=cmd_tail)


def cmd_tail(args: argparse.Namespace) -> None:
    url = args.gateway or os.environ.get("TDI_GATEWAY_URL") or "http://127.0.0.1:8000"
    token = args.token or os.environ.get("TDI_TOKEN")
    filters: list[tuple[str, str]] = [("type", t) for t in args.type or ()]
    for name in ("since", "subject_kind", "subject_id"):
        if (value := getattr(args, name)) is not None:
            filters.append((name, value))
    # Where the run got to, kept up to date by `tail`: printed however it stops (Ctrl-C).
    reached = {"cursor": args.cursor}
    try:
        asyncio.run(
            tail(
                url,
                filters=filters,
                token=token,
                cursor=args.cursor,
                raw=args.json,
                count=args.count,
                reached=reached,
            )
        )
    except KeyboardInterrupt:
        pass
    finally:
        if reached["cursor"]:
            print(f"resume with --cursor {reached['cursor']}", file=sys.stderr)


def line(event: dict[str, Any]) -> str:
    """`2026-05-01T09:00:00Z funding allocation.committed allocation/a1 v3 by OP1`."""
    subject = event["subject"]
    parts = [
        event["occurred_at"].replace("+00:00", "Z"),
        f"{event['source']:<9}",
        f"{event['type']:<28}",
        f"{subject['kind']}/{subject['id']}",
    ]
    if event.get("version") is not None:
        parts.append(f"v{event['version']}")
    if event.get("actor_org"):
        parts.append(f"by {event['actor_org']}")
    return " ".join(parts)


async def tail(
    url: str,
    *,
    filters: list[tuple[str, str]],
    token: str | None = None,
    cursor: str | None = None,
    raw: bool = False,
    count: int | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    reached: dict[str, str | None] | None = None,
) -> str | None:
    """Print events from `cursor` on until `count` were printed (or forever); the cursor after
    the last one printed, to resume from."""
    out, err = out or sys.stdout, err or sys.stderr
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    printed = 0
    missing: set[str] = set()
    async with httpx.AsyncClient(
        base_url=url.rstrip("/"), headers=headers, transport=transport, timeout=WAIT_SECONDS + 10
    ) as client:
        while count is None or printed < count:
            params = [*filters, ("wait", str(WAIT_SECONDS))]
            if count is not None:
                params.append(("limit", str(min(500, count - printed))))
            if cursor:
                params.append(("cursor", cursor))
            try:
                answer = await client.get(FEED, params=tuple(params))
            except httpx.HTTPError as exc:
                print(f"the gateway does not answer ({type(exc).__name__}); retrying", file=err)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if answer.status_code != 200:
                problem = answer.json() if answer.content else {}
                detail = problem.get("detail") or problem.get("title") or answer.reason_phrase
                if answer.status_code < 500:
                    raise SystemExit(f"the feed refused: {detail}")
                print(f"the feed failed ({answer.status_code}: {detail}); retrying", file=err)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            page = answer.json()
            now_missing = {p["service"] for p in page.get("problems", [])}
            for name in sorted(now_missing - missing):
                print(f"{name} does not answer: its events will follow", file=err)
            missing = now_missing
            for event in page["items"]:
                out.write((orjson.dumps(event).decode() if raw else line(event)) + "\n")
                printed += 1
            out.flush()
            cursor = page["next_cursor"]
            if reached is not None:
                reached["cursor"] = cursor
    return cursor
