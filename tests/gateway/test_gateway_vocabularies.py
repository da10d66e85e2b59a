"""`GET /api/v1/vocabularies`: every code of the API has its French label, themes are one
vocabulary for the whole programme, and the seeds speak it."""

from __future__ import annotations

import csv
from importlib import resources
from typing import Any

import pytest
from gateway_testing import running_gateway

from contracts.main import create_app as create_contracts
from contracts.seed import demo as contracts_demo
from contracts.seed import records as contracts_records
from contracts.seed import volume as contracts_volume
from contracts.settings import ContractsSettings
from funding.main import create_app as create_funding
from funding.seed import facts as funding_facts
from funding.settings import FundingSettings
from registry.main import create_app as create_registry
from registry.settings import RegistrySettings
from tdi_kit.testing import LiveServer
from tdi_kit.vocabulary import THEMES, check_theme, vocabularies

MEMORY = "sqlite+aiosqlite:///:memory:"
SERVICE_DOCUMENTS = {
    "registry": lambda: create_registry(RegistrySettings(database_url=MEMORY)).openapi(),
    "funding": lambda: create_funding(FundingSettings(database_url=MEMORY)).openapi(),
    "contracts": lambda: create_contracts(ContractsSettings(database_url=MEMORY)).openapi(),
}


def _enums(node: Any, where: str = "") -> list[tuple[str, list[Any]]]:
    """Every `enum` (and `const`) in an OpenAPI document, with where it is."""
    found: list[tuple[str, list[Any]]] = []
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list):
            found.append((where, node["enum"]))
        if "const" in node:
            found.append((where, [node["const"]]))
        for key, value in node.items():
            found += _enums(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _enums(value, f"{where}/{i}")
    return found


def _labelled() -> list[set[str]]:
    return [set(v.labels()) for v in vocabularies().values()]


@pytest.mark.parametrize("service", sorted(SERVICE_DOCUMENTS))
def test_every_enum_value_of_a_service_openapi_has_a_label(service: str) -> None:
    enums = _enums(SERVICE_DOCUMENTS[service]())
    assert enums, "the walk found no enum: it walks the wrong document"
    unlabelled = [
        (where, values)
        for where, values in enums
        if not any({str(v) for v in values} <= codes for codes in _labelled())
    ]
    assert unlabelled == []


def test_every_term_has_a_label_and_a_description_and_codes_are_unique() -> None:
    for vocabulary in vocabularies().values():
        codes = [t.code for t in vocabulary.terms]
        assert len(codes) == len(set(codes)), vocabulary.name
        for term in vocabulary.terms:
            assert term.label.strip() and term.description.strip(), (vocabulary.name, term)
            if term.replaced_by is not None:
                assert term.replaced_by in vocabulary.codes, (vocabulary.name, term)


def _seed_themes() -> dict[str, set[str]]:
    envelopes = {t for e in funding_facts.ENVELOPES for t in e.fields["themes"]}
    records = [
        *contracts_records.PROJECTS,
        *(a for c in contracts_records.CONTRACTS for a in c.actions),
    ]
    actions = {t for a in records for t in a.themes}
    demo = {t for template in contracts_demo.TEMPLATES for t in template.themes}
    return {
        "funding seed": envelopes,
        "contracts seed": actions,
        "contracts demo": demo,
        "contracts volume": set(contracts_volume.THEMES),
    }


def test_the_seeds_speak_the_programme_theme_vocabulary() -> None:
    for seed, themes in _seed_themes().items():
        assert themes, seed
        assert themes <= set(THEMES), (seed, themes - set(THEMES))
    # Envelopes and actions meet on the same codes.
    seeds = _seed_themes()
    assert {"friche", "foncier", "innovation"} <= set(THEMES)
    assert "friche" in seeds["funding seed"] and "friche" in seeds["contracts seed"]


def test_a_retired_theme_names_its_replacement_and_an_unknown_one_is_refused() -> None:
    assert check_theme("friche") == "friche"
    with pytest.raises(ValueError, match="send 'friche'"):
        check_theme("reconversion-de-friches")
    with pytest.raises(ValueError, match="unknown theme"):
        check_theme("licornes")


def test_the_operators_are_the_registry_operators_with_their_names() -> None:
    data = resources.files("registry.seed").joinpath("data/organisations.csv")
    with data.open(encoding="utf-8") as rows:
        operators = {r["code"]: r["name"] for r in csv.DictReader(rows) if r["kind"] == "operator"}
    assert vocabularies()["operators"].labels() == operators


async def test_the_gateway_serves_every_vocabulary_with_its_etag(
    registry_server: LiveServer,
) -> None:
    async with running_gateway(registry_url=registry_server.url) as (_, client):
        r = await client.get("/api/v1/vocabularies")
        assert r.status_code == 200
        assert r.headers["cache-control"].startswith("public")
        served = {v["name"]: v for v in r.json()["vocabularies"]}
        assert set(served) == set(vocabularies())
        themes = {t["code"]: t for t in served["themes"]["terms"]}
        assert themes["friche"]["label"] == "reconversion de friches"
        assert themes["reconversion-de-friches"]["replaced_by"] == "friche"
        assert {t["code"] for t in served["contract_statuses"]["terms"]} >= {"draft", "signed"}

        again = await client.get(
            "/api/v1/vocabularies", headers={"If-None-Match": r.headers["etag"]}
        )
        assert again.status_code == 304

        one = await client.get("/api/v1/vocabularies/signatory_roles")
        assert one.status_code == 200
        assert one.json()["terms"][0] == {
            "code": "prefet",
            "label": "préfet (État)",
            "description": "Signature requise.",
            "replaced_by": None,
        }
        missing = await client.get("/api/v1/vocabularies/unicorns")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")


async def test_the_merged_openapi_labels_every_enum_and_documents_the_vocabularies(
    suite: dict[str, str],
) -> None:
    async with running_gateway(**suite) as (_, client):
        document = (await client.get("/openapi.json")).json()
    assert "/api/v1/vocabularies" in document["paths"]
    assert "/api/v1/vocabularies/{name}" in document["paths"]
    unlabelled = [
        (where, values)
        for where, values in _enums(document)
        if not any({str(v) for v in values} <= codes for codes in _labelled())
    ]
    assert unlabelled == []
