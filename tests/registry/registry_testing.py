"""What the registry's tests share besides fixtures: the seed files, and reading lists whole."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx

from registry.seed.loader import DATA
from tdi_kit.seeding import Counts

API = "/api/v1"


@dataclass(frozen=True)
class FreshRegistry:
    """A registry database of its own, migrated and seeded twice, for tests that write freely."""

    url: str
    first_load: dict[str, Counts]
    second_load: dict[str, Counts]


@cache
def seed_rows(name: str) -> tuple[dict[str, str], ...]:
    """The rows of one of the shipped seed files, as the loader reads them."""
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(f))


@cache
def seed_summary() -> dict[str, int]:
    return json.loads((DATA / "summary.json").read_text(encoding="utf-8"))


async def read_all(
    client: httpx.AsyncClient, path: str, **params: Any
) -> tuple[list[dict[str, Any]], int]:
    """Every item of a list endpoint, following `next_cursor`; and the number of pages read.

    Fails on a repeated item, so that a gap or an overlap between pages cannot go unnoticed.
    """
    items: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = await client.get(path, params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        pages += 1
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            assert "link" not in r.headers
            return items, pages
        assert r.headers["link"].endswith('rel="next"')
        assert len(body["items"]) == int(params.get("limit", 50))


async def current_etag(client: httpx.AsyncClient, code: str) -> str:
    r = await client.get(f"{API}/territories/{code}")
    assert r.status_code == 200, r.text
    return r.headers["etag"]
