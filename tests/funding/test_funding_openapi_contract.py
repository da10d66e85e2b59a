"""Schemathesis against the funding service's own OpenAPI document: no 5xx, no answer off the
schema. The calls go over real HTTP to a funding service of its own (migrated and seeded), which
checks its references with a live registry."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import schemathesis
from funding_cases import migrated_and_seeded, settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis import checks

from funding.main import create_app
from registry.main import create_app as create_registry
from registry.settings import RegistrySettings
from tdi_kit import testing
from tdi_kit.testing import LiveServer, bearer

ADMIN = bearer("admin", sub="schemathesis")
DOCUMENT = create_app(settings("sqlite+aiosqlite:///:memory:")).openapi()
# A request valid by the schema may still be refused by a rule the schema cannot state: an
# unknown envelope (404), money that is not there (409), a stale or missing If-Match (412, 428),
# the envelope's award rules or an unknown territory (422), a push that is not JSON (415).
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2XX", "3XX", 400, 401, 403, 404, 409, 412, 415, 422, 428]
            }
        }
    }
)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


@pytest.fixture(scope="module")
async def contract_database() -> AsyncIterator[str]:
    async with testing.test_database("funding_contract") as url:
        await migrated_and_seeded(url)
        yield url


@pytest.fixture(scope="module")
def live_funding(contract_database: str, registry_url: str) -> Iterator[str]:
    registry = create_registry(
        RegistrySettings(database_url=registry_url, environment="test", log_level="WARNING")
    )
    with LiveServer(registry) as registry_server:
        app = create_app(
            settings(
                contract_database,
                registry_url=registry_server.url,
                check_actions=False,
                log_level="WARNING",
            )
        )
        with LiveServer(app) as server:
            yield server.url


def test_the_live_service_serves_the_document_under_test(live_funding: str) -> None:
    assert httpx.get(f"{live_funding}/openapi.json", timeout=10).json() == DOCUMENT


def test_every_write_documents_its_problems() -> None:
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"400", "404", "422"} <= statuses, (path, method)
            if method != "get":
                assert {"401", "403", "409", "413", "503"} <= statuses, (path, method)


@schema.parametrize()
@hypothesis_settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    print_blob=True,
)
def test_every_operation_answers_within_its_schema(
    case: schemathesis.Case, live_funding: str
) -> None:
    # Every call carries an admin token, which undoes schemathesis' "missing Authorization"
    # negative cases, and unknown query parameters are ignored by design: "invalid data was
    # accepted" is no finding here. Server errors and schema conformance are checked in full.
    case.call_and_validate(
        base_url=live_funding,
        headers=ADMIN,
        timeout=30,
        excluded_checks=[checks.negative_data_rejection],
    )
