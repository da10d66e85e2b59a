"""What the contracts service's OpenAPI document must say. That every operation answers within
it is checked by schemathesis in tests/test_openapi_contracts.py, for every service."""

from __future__ import annotations

from contracts.main import create_app
from contracts.settings import ContractsSettings

DOCUMENT = create_app(
    ContractsSettings(database_url="sqlite+aiosqlite:///:memory:", environment="test")
).openapi()


def test_the_document_names_the_problems_of_each_write() -> None:
    patch = DOCUMENT["paths"]["/api/v1/actions/{action_id}/plan-lines/{line_id}"]["patch"]
    assert {"200", "401", "403", "404", "409", "412", "413", "422", "428", "503"} <= set(
        patch["responses"]
    )
    problem = patch["responses"]["412"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/ProblemRead"}
    assert "/api/v1/actions/{action_id}" in DOCUMENT["paths"]
