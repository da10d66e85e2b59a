"""Schemathesis against the registry's own OpenAPI document: no 5xx, no answer off the schema.

The calls go over real HTTP to a registry of its own (migrated and seeded), so that the writes
it makes at random disturb no other test.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from registry_testing import FreshRegistry

from registry.main import create_app
from registry.settings import RegistrySettings
from tdi_kit.testing import LiveServer, bearer

ADMIN = bearer("admin", sub="schemathesis")

# The document is built without a database; the live server below serves the same one (checked
# by the first test). Loading it lazily from the server would need schemathesis' fixture loader,
# which does not run on pytest 9.
DOCUMENT = create_app(
    RegistrySettings(
        database_url="sqlite+aiosqlite:///:memory:", environment="test", log_json=False
    )
).openapi()
# Every check runs. A request valid by the schema may still be refused by a rule the schema
# cannot state: a cursor the API did not give out (400), a write without the current If-Match
# (428, 412), a code whose prefix contradicts its phase or an unknown organisation (422), an
# archived territory or a groupement taken in that phase (409). Those answers are documented.
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2XX", "3XX", 400, 401, 403, 404, 409, 412, 422, 428]
            }
        }
    }
)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


@pytest.fixture(scope="module")
def live_registry(fresh_registry: FreshRegistry) -> Iterator[str]:
    app = create_app(
        RegistrySettings(
            database_url=fresh_registry.url,
            environment="test",
            log_json=False,
            log_level="WARNING",
        )
    )
    with LiveServer(app) as server:
        yield server.url


def test_the_live_registry_serves_the_document_under_test(live_registry: str) -> None:
    served = httpx.get(f"{live_registry}/openapi.json", timeout=10).json()
    assert served == DOCUMENT


def test_the_document_names_the_problems_of_each_operation() -> None:
    def statuses(path: str, method: str) -> set[str]:
        return set(DOCUMENT["paths"][f"/api/v1{path}"][method]["responses"])

    problem = DOCUMENT["paths"]["/api/v1/territories/{code}"]["patch"]["responses"]["412"]
    assert problem["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/ProblemRead"
    }
    for path in ["/territories/{code}", "/groupements/{siren}", "/communes/{insee}"]:
        assert {"200", "400", "404", "422"} <= statuses(path, "get"), path
    assert {"201", "401", "403", "409", "413", "422"} <= statuses("/territories", "post")
    for path, method in [
        ("/territories/{code}", "patch"),
        ("/territories/{code}/archive", "post"),
        ("/territories/{code}/members/{siren}", "put"),
        ("/territories/{code}/members/{siren}", "delete"),
        ("/territories/{code}/governance", "put"),
    ]:
        assert {"200", "401", "403", "404", "409", "412", "413", "422", "428"} <= statuses(
            path, method
        ), (path, method)


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    print_blob=True,
)
def test_every_operation_answers_within_its_schema(
    case: schemathesis.Case, live_registry: str
) -> None:
    case.call_and_validate(base_url=live_registry, headers=ADMIN, timeout=30)
