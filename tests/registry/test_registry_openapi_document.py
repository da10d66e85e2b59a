"""What the registry's OpenAPI document must say. That every operation answers within it is
checked by schemathesis in tests/test_openapi_contracts.py, for every service."""

from __future__ import annotations

from registry.main import create_app
from registry.settings import RegistrySettings

# The document is built without a database: it does not depend on one.
DOCUMENT = create_app(
    RegistrySettings(
        database_url="sqlite+aiosqlite:///:memory:", environment="test", log_json=False
    )
).openapi()


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
