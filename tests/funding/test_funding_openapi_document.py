"""What the funding service's OpenAPI document must say. That every operation answers within it
is checked by schemathesis in tests/test_openapi_contracts.py, for every service."""

from __future__ import annotations

from funding_cases import settings

from funding.main import create_app

DOCUMENT = create_app(settings("sqlite+aiosqlite:///:memory:")).openapi()


def test_every_write_documents_its_problems() -> None:
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            # The events feed names no record: nothing of it is ever missing.
            missing = set() if path == "/api/v1/events" else {"404"}
            assert {"400", "422"} | missing <= statuses, (path, method)
            if method != "get":
                assert {"401", "403", "409", "413", "503"} <= statuses, (path, method)
