"""Schemathesis against each service's own OpenAPI document, served over real HTTP.

Each service runs on a database of its own (migrated and seeded as a deployment does it), so that
the writes schemathesis makes at random disturb no other test; funding and contracts check their
references with a registry app of their own on the run's seeded registry database. Any 5xx, or
any answer whose status, content type or body the document does not describe, fails the test.
Each service's own file (`tests/<service>/test_<service>_openapi_document.py`) checks what its
document must say; this one checks that every operation answers within it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks

from contracts.main import MIGRATIONS as CONTRACTS_MIGRATIONS
from contracts.main import create_app as create_contracts
from contracts.seed.demo import load_demo as load_contracts_demo
from contracts.seed.loader import load as load_contracts
from contracts.settings import ContractsSettings
from funding.main import MIGRATIONS as FUNDING_MIGRATIONS
from funding.main import create_app as create_funding
from funding.seed.loader import load as load_funding
from funding.settings import FundingSettings
from registry.main import MIGRATIONS as REGISTRY_MIGRATIONS
from registry.main import create_app as create_registry
from registry.seed.loader import load as load_registry
from registry.settings import RegistrySettings
from tdi_kit import migrations, testing
from tdi_kit.app import ServiceApp
from tdi_kit.testing import LiveServer, bearer

ADMIN = bearer("admin", sub="schemathesis")
QUIET: dict[str, Any] = {"environment": "test", "log_json": False, "log_level": "WARNING"}
# Answers a request valid by the schema may still get, by a rule the schema cannot state: a
# cursor the API did not give out (400), a write without the current If-Match (428, 412), an
# unknown record (404), a state or a natural key that forbids the change (409), a reference the
# owner does not know or a programme rule (422). Each service's document lists them.
REFUSALS = ["2XX", "3XX", 400, 401, 403, 404, 409, 412, 422, 428]

# (generation mode, examples per operation, with the identifiers of real records in the path)
Run = tuple[GenerationMode, int, bool]


@dataclass(frozen=True)
class Target:
    service: str
    migrations: str
    seeds: tuple[Callable[..., Awaitable[Any]], ...]
    # Builds the app on its database, with the registry app it checks references with.
    build: Callable[[str, ServiceApp], ServiceApp]
    runs: tuple[Run, ...]
    operations: int  # at least this many in the document: a merge that lost some fails here
    refusals: tuple[int, ...] = ()  # besides REFUSALS
    excluded_checks: tuple[Any, ...] = ()
    # Records made on the live service whose identifiers fill the path (runs "on real records").
    real_identifiers: Callable[[str], dict[str, str]] | None = None


def _registry(url: str, _registry_app: ServiceApp) -> ServiceApp:
    return create_registry(RegistrySettings(database_url=url, **QUIET))


def _funding(url: str, registry_app: ServiceApp) -> ServiceApp:
    return create_funding(
        # Contracts is not running here: an action's existence is not asked.
        FundingSettings(database_url=url, check_actions=False, **QUIET),
        registry_transport=httpx.ASGITransport(app=registry_app),
    )


def _contracts(url: str, registry_app: ServiceApp) -> ServiceApp:
    return create_contracts(
        ContractsSettings(database_url=url, **QUIET),
        registry_transport=httpx.ASGITransport(app=registry_app),
    )


def _contract_records(base_url: str) -> dict[str, str]:
    """A draft contract made here, so that every path names a contract, action, plan line,
    indicator, milestone or signatory that exists."""
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


TARGETS = [
    Target(
        "registry",
        REGISTRY_MIGRATIONS,
        (load_registry,),
        _registry,
        runs=((GenerationMode.POSITIVE, 20, False),),
        operations=15,
    ),
    Target(
        "funding",
        FUNDING_MIGRATIONS,
        (load_funding,),
        _funding,
        runs=((GenerationMode.POSITIVE, 15, False),),
        operations=20,
        refusals=(415,),  # a push that is not JSON
        # Every call carries an admin token, which undoes schemathesis' "missing Authorization"
        # negative cases, and unknown query parameters are ignored by design: "invalid data was
        # accepted" is no finding here.
        excluded_checks=(checks.negative_data_rejection,),
    ),
    Target(
        "contracts",
        CONTRACTS_MIGRATIONS,
        (load_contracts, load_contracts_demo),
        _contracts,
        runs=(
            (GenerationMode.POSITIVE, 5, False),
            (GenerationMode.NEGATIVE, 3, False),
            (GenerationMode.POSITIVE, 4, True),
        ),
        operations=25,
        real_identifiers=_contract_records,
    ),
]


@pytest.fixture(scope="module", params=TARGETS, ids=lambda t: t.service)
async def live(
    request: pytest.FixtureRequest, registry_url: str
) -> AsyncIterator[tuple[Target, str]]:
    """The target service over real HTTP, on a database of its own."""
    target: Target = request.param
    async with testing.test_database(f"{target.service}_schema") as url:
        await migrations.migrate_and_seed(url, target.migrations, *target.seeds)
        # Apps of their own: their engines open connections in the live server's event loop.
        registry = create_registry(RegistrySettings(database_url=registry_url, **QUIET))
        with LiveServer(target.build(url, registry)) as server:
            yield target, server.url


def test_every_operation_answers_within_its_schema(live: tuple[Target, str]) -> None:
    target, base_url = live
    document = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
    config = schemathesis.Config.from_dict(
        {
            "checks": {
                "positive_data_acceptance": {"expected-statuses": [*REFUSALS, *target.refusals]}
            }
        }
    )
    schema = schemathesis.openapi.from_dict(document, config=config)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= target.operations
    real = target.real_identifiers(base_url) if target.real_identifiers else {}
    failures = []
    for operation in operations:
        names = re.findall(r"{(\w+)}", operation.path)
        for mode, examples, on_real_records in target.runs:
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
                if case.query and "wait" in case.query:
                    # The events feed's long poll: an empty page would wait up to 30 s.
                    case.query["wait"] = 0
                case.call_and_validate(
                    base_url=base_url,
                    headers=ADMIN,
                    timeout=30,
                    excluded_checks=list(target.excluded_checks),
                )

            try:
                answers_within_schema()
            except Exception as exc:  # gather every operation's failure, then report them all
                where = " on real records" if on_real_records else ""
                failures.append(f"{operation.label} ({mode.value}{where}): {exc}")
    assert not failures, "\n\n".join(failures)
