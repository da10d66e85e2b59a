"""Shared by every service's tests: which database backend this run uses."""

from __future__ import annotations

import pytest
from tdi_kit.testing import backend


def pytest_report_header() -> str:
    return f"database backend: {backend()} (set TDI_TEST_DATABASE_URL for PostgreSQL)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if backend() == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (TDI_TEST_DATABASE_URL)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)
