"""Through the gateway, every service spells the same ideas the same way: timestamps in RFC 3339
UTC with `Z`, CSV booleans `true`/`false`, and one demo filter (`is_demo` on lists)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

from gateway_testing import API, running_gateway

from tdi_kit.testing import bearer

# The ledger says who did what: it is read with a token.
ADMIN = bearer("admin", sub="gateway-spelling")

DEMO_LISTS = [
    "/conventions",
    "/envelopes",
    "/allocations",
    "/ledger",
    "/reported-figures",
    "/contracts",
    "/actions",
]
LISTS = ["/territories", "/organisations", "/programme/milestones", *DEMO_LISTS]
LOOKS_LIKE_A_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:")
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


async def test_timestamps_and_booleans_are_spelt_one_way_in_json_and_csv(
    suite: dict[str, str],
) -> None:
    timestamps = 0
    async with running_gateway(**suite) as (_, client):
        for path in LISTS:
            page = await client.get(API + path, params={"limit": "20"}, headers=ADMIN)
            assert page.status_code == 200, (path, page.text)
            for value in _strings(page.json()):
                if LOOKS_LIKE_A_TIMESTAMP.match(value):
                    timestamps += 1
                    assert RFC3339_UTC.match(value), (path, value)
            exported = await client.get(API + path, params={"format": "csv"}, headers=ADMIN)
            assert exported.status_code == 200, path
            rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
            for row in rows:
                for column, cell in row.items():
                    assert cell not in ("True", "False"), (path, column)
                    if LOOKS_LIKE_A_TIMESTAMP.match(cell or ""):
                        timestamps += 1
                        assert RFC3339_UTC.match(cell), (path, column, cell)
            if "is_demo" in (rows[0] if rows else {}):
                assert {row["is_demo"] for row in rows} <= {"true", "false"}, path
    assert timestamps > 0


async def test_lists_filter_demo_records_with_is_demo_and_no_other_spelling(
    suite: dict[str, str],
) -> None:
    async with running_gateway(**suite) as (_, client):
        for path in DEMO_LISTS:
            real = await client.get(API + path, params={"is_demo": "false"}, headers=ADMIN)
            assert real.status_code == 200, (path, real.text)
            assert all(item["is_demo"] is False for item in real.json()["items"]), path
            for other in ("demo", "include_demo", "exclude_demo"):
                refused = await client.get(API + path, params={other: "true"}, headers=ADMIN)
                assert refused.status_code == 400, (path, other)
                [error] = refused.json()["errors"]
                assert error["field"] == other
                assert "did you mean 'is_demo'" in error["message"], (path, other)
