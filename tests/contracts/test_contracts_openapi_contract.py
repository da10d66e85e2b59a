"""Schemathesis against the contracts service's own OpenAPI document, served over real HTTP.

The service runs on a database of its own (migrated, with the acts on record and the demo data)
so that the writes schemathesis makes at random disturb no other test; it checks references
with a registry app of its own on the seeded registry database. Any 5xx, or any answer whose
status, content type or body the document does not describe, fails the test.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from contracts.main import MIGRATIONS, create_app
from contracts.seed.demo import load_demo
from contracts.seed.loader import load
from contracts.settings import ContractsSettings
from registry.main import create_app as create_registry_app
from registry.settings import RegistrySettings
from tdi_kit import migrations, testing
from tdi_kit.db import create_engine, create_sessionmaker
from tdi_kit.testing import LiveServer, bearer

ADMIN = bearer("admin", sub="schemathesis")
# Every check runs. A request valid by the schema may still be refused by a rule the schema
# cannot state: a cursor the API did not give out (400), a write without the current If-Match
# (428, 412), a territory or organisation the registry does not know, a plan over its budget
# (422), a contract whose state forbids the change (409). Those answers are documented.
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2XX", "3XX", 400, 401, 403, 404, 409, 412, 422, 428]
            }
        }
    }
)
# (mode, examples, with the identifiers of real records in the path)
RUNS = [
    (GenerationMode.POSITIVE, 5, False),
    (GenerationMode.NEGATIVE, 3, False),
    (GenerationMode.POSITIVE, 4, True),
]


@pytest.fixture(scope="module")
async def schema_database() -> AsyncIterator[str]:
    async with testing.test_database("contracts_schema") as url:
        engine = create_engine(url)
        await migrations.upgrade(engine, MIGRATIONS)
        async with create_sessionmaker(engine)() as session:
            await load(session, say=lambda _line: None)
            await load_demo(session, say=lambda _line: None)
            await session.commit()
        await engine.dispose()
        yield url


@pytest.fixture(scope="module")
def live_contracts(schema_database: str, registry_url: str) -> Iterator[str]:
    quiet = {"environment": "test", "log_json": False, "log_level": "WARNING"}
    # Apps of their own: their engines open connections in the live server's event loop.
    registry = create_registry_app(RegistrySettings(database_url=registry_url, **quiet))
    app = create_app(
        ContractsSettings(database_url=schema_database, **quiet),
        registry_transport=httpx.ASGITransport(app=registry),
    )
    with LiveServer(app) as server:
        yield server.url


def test_the_document_names_the_problems_of_each_write(live_contracts: str) -> None:
    document = httpx.get(f"{live_contracts}/openapi.json", timeout=10).json()
    patch = document["paths"]["/api/v1/actions/{action_id}/plan-lines/{line_id}"]["patch"]
    assert {"200", "401", "403", "404", "409", "412", "413", "422", "428", "503"} <= set(
        patch["responses"]
    )
    problem = patch["responses"]["412"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/ProblemRead"}
    assert "/api/v1/actions/{action_id}" in document["paths"]


def real_identifiers(base_url: str) -> dict[str, str]:
    """Path parameters naming records that exist: a draft made here, a signed demo contract."""
    body = {
        "territory_code": "ti-2702",
        "kind": "contrat",
        "title": "Brouillon pour schemathesis",
        "actions": [
            {
                "code": "FA-01",
                "title": "Fiche",
                "priority": "innovation",
                "budget_cents": 1000,
                "plan_lines": [{"financer_code": "bpifrance", "amount_cents": 10}],
                "indicators": [{"label": "Emplois"}],
                "milestones": [{"label": "Lancement"}],
            }
        ],
        "signatories": [{"role": "prefet", "organisation_code": "prefecture-27"}],
    }
    draft = httpx.post(f"{base_url}/api/v1/contracts", json=body, headers=ADMIN, timeout=30)
    assert draft.status_code == 201, draft.text
    contract = draft.json()
    action = contract["actions"][0]
    return {
        "contract_id": contract["id"],
        "signatory_id": contract["signatories"][0]["id"],
        "action_id": action["id"],
        "line_id": action["plan_lines"][0]["id"],
        "indicator_id": action["indicators"][0]["id"],
        "milestone_id": action["milestones"][0]["id"],
        "number": "1",
        "version": "1",
        "code": contract["territory_code"],
    }


def test_every_operation_answers_within_its_schema(live_contracts: str) -> None:
    schema = schemathesis.openapi.from_url(f"{live_contracts}/openapi.json", config=CONFIG)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    real = real_identifiers(live_contracts)
    failures = []
    for operation in operations:
        for mode, examples, on_real_records in RUNS:
            names = re.findall(r"{(\w+)}", operation.path)
            if on_real_records and not names:
                continue
            fixed = {n: real[n] for n in names} if on_real_records else None

            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
            @settings(
                max_examples=examples,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def answers_within_schema(case: schemathesis.Case) -> None:
                case.call_and_validate(base_url=live_contracts, headers=ADMIN, timeout=30)

            try:
                answers_within_schema()
            except Exception as exc:  # gather every operation's failure, then report them all
                where = " on real records" if on_real_records else ""
                failures.append(f"{operation.label} ({mode.value}{where}): {exc}")
    assert not failures, "\n\n".join(failures)
