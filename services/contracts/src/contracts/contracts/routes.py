"""HTTP for contracts, their signatories and their lifecycle."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import Field
from starlette.responses import Response

from contracts.contracts import service
from contracts.contracts.writes import CreationDep, WriteDep
from contracts.models import Contract
from contracts.pages import PAGES
from contracts.schemas import (
    CREATE,
    LIST,
    READ_ONE,
    UPDATE,
    Axis,
    ContractDetail,
    ContractKind,
    ContractRead,
    ContractStatus,
    ContractUpdate,
    ContractWrite,
    Priority,
    SignatoryWrite,
    SignatureWrite,
    TerritoryPlan,
    Theme,
)
from contracts.schemas.paths import ContractId, DemoFilter, SignatoryId, TerritoryCodePath
from tdi_kit.app import problem_responses
from tdi_kit.db import SessionDep
from tdi_kit.documents import conditional_document
from tdi_kit.documents import document_response as _document
from tdi_kit.identifiers import OrganisationCode, RegionCode, TerritoryCode
from tdi_kit.listing import ListingDep
from tdi_kit.pagination import Page
from tdi_kit.rowreader import RowsDep

router = APIRouter(tags=["contracts"])
CSV_COLUMNS = [
    "id",
    "territory_code",
    "territory_name",
    "phase",
    "regions",
    "kind",
    "title",
    "status",
    "signed_on",
    "signature_place",
    "start_year",
    "end_year",
    "signatories",
    "action_count",
    "budget_cents",
    "planned_cents",
    "amendment_count",
    "is_demo",
    "sources",
    "version",
    "updated_at",
]


# The acts on record are those a public source published: many signed acts never were. Every
# list of acts says so, so that a count of them is never read as the number signed.
COVERAGE = (
    "partial: the acts on record are those published by a public source (or entered by their "
    "signatories), not all those signed; their count is not the number of acts signed."
)


class ContractPage(Page[ContractRead]):
    coverage: str = Field(description="What the list covers: the acts published, not all signed.")


async def _answer(
    session: SessionDep, contract: Contract, status_code: int = 200, **headers: str
) -> Response:
    body = await service.detail_of(session, contract)
    return _document(body, contract.etag, status_code, **headers)


async def _contract_filters(
    territory: Annotated[TerritoryCode | None, Query(description="Territory code.")] = None,
    region: Annotated[RegionCode | None, Query(description="Region code.")] = None,
    phase: Annotated[int | None, Query(ge=1, le=2, description="Programme phase.")] = None,
    status: Annotated[ContractStatus | None, Query()] = None,
    kind: Annotated[ContractKind | None, Query()] = None,
    axis: Annotated[Axis | None, Query(description="Having an action on this axis.")] = None,
    priority: Annotated[
        Priority | None, Query(description="Having an action of this priority.")
    ] = None,
    theme: Annotated[Theme | None, Query(description="Having an action on it.")] = None,
    financer: Annotated[
        OrganisationCode | None,
        Query(description="Having an action this organisation co-finances."),
    ] = None,
    is_demo: DemoFilter = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Words in the title, territory, enjeux.")
    ] = None,
) -> dict[str, Any]:
    """The list's filters, named as `queries.filtered` takes them."""
    # Called with nothing but its parameters: locals() is exactly the filters, by name.
    return dict(locals())


@router.get("/contracts", response_model=ContractPage, responses=LIST)
async def list_contracts(
    # The filters first: the operation lists its query parameters in this order.
    filters: Annotated[dict[str, Any], Depends(_contract_filters)],
    listing: ListingDep,
    rows: RowsDep,
) -> Any:
    """Protocoles and contracts with their signatories (not their actions): those on record,
    a partial list (`coverage`); sort on `territory_code`, `title`, `signed_on`, `status`,
    `kind`, `phase`, `updated_at`."""

    async def build() -> Any:
        page = await service.list_documents(rows, params=listing.params, filters=filters)
        return listing.documents(
            page,
            filename="contracts",
            columns=CSV_COLUMNS,
            row=_csv_row,
            extra={"coverage": COVERAGE},
        )

    return await PAGES.answer(rows, listing.request, listing.params, build)


@router.post(
    "/contracts",
    status_code=status.HTTP_201_CREATED,
    response_model=ContractDetail,
    responses=CREATE,
)
async def create_contract(payload: ContractWrite, write: CreationDep) -> Any:
    """Create a draft protocole or contract, with its signatories and actions if given."""
    contract = await service.create(write, payload=payload)
    return await _answer(write.session, contract, 201, Location=f"/api/v1/contracts/{contract.id}")


@router.get("/contracts/{contract_id}", response_model=ContractDetail, responses=READ_ONE)
async def get_contract(contract_id: ContractId, request: Request, rows: RowsDep) -> Any:
    """One contract with its signatories and fiches-actions."""
    body, etag = await service.get_detail(rows, contract_id=contract_id)
    return conditional_document(request, body, etag)


@router.get(
    "/territories/{code}/contracts",
    response_model=TerritoryPlan,
    responses=problem_responses(304),
    tags=["contracts"],
)
async def get_territory_plan(code: TerritoryCodePath, rows: RowsDep) -> Any:
    """A territory's contracts with their signatories and fiches-actions, and its fiches-actions
    in no contract, in one answer (what a dossier shows; empty lists for a territory with
    none)."""
    return Response(await service.territory_plan(rows, code=code), media_type="application/json")


@router.patch("/contracts/{contract_id}", response_model=ContractDetail, responses=UPDATE)
async def update_contract(
    contract_id: ContractId,
    payload: ContractUpdate,
    write: WriteDep,
) -> Any:
    """Change a draft's title, enjeux, period or place (a signed one: through an amendment)."""
    contract = await service.update(write, contract_id=contract_id, payload=payload)
    return await _answer(write.session, contract)


@router.post(
    "/contracts/{contract_id}/signatories",
    status_code=status.HTTP_201_CREATED,
    response_model=ContractDetail,
    responses=CREATE,
)
async def add_signatory(
    contract_id: ContractId,
    payload: SignatoryWrite,
    write: WriteDep,
) -> Any:
    """Add a signatory to a draft; answers the contract."""
    contract = await service.add_signatory(write, contract_id=contract_id, payload=payload)
    return await _answer(write.session, contract, 201)


@router.delete(
    "/contracts/{contract_id}/signatories/{signatory_id}",
    response_model=ContractDetail,
    responses=UPDATE,
)
async def remove_signatory(
    contract_id: ContractId,
    signatory_id: SignatoryId,
    write: WriteDep,
) -> Any:
    """Remove a signatory from a draft; answers the contract."""
    contract = await service.remove_signatory(
        write, contract_id=contract_id, signatory_id=signatory_id
    )
    return await _answer(write.session, contract)


@router.post(
    "/contracts/{contract_id}/signatories/{signatory_id}/signature",
    response_model=ContractDetail,
    responses=UPDATE,
)
async def record_signature(
    contract_id: ContractId,
    signatory_id: SignatoryId,
    payload: SignatureWrite,
    write: WriteDep,
) -> Any:
    """Record a signature; the last one required (State, Région, EPCIs) makes it signed."""
    contract = await service.sign(
        write, contract_id=contract_id, signatory_id=signatory_id, payload=payload
    )
    return await _answer(write.session, contract)


def _transition_route(move: str, doc: str) -> None:
    async def endpoint(
        contract_id: ContractId,
        write: WriteDep,
    ) -> Any:
        contract = await service.transition(write, contract_id=contract_id, move=move)
        return await _answer(write.session, contract)

    endpoint.__doc__ = doc
    endpoint.__name__ = f"{move}_contract"
    router.add_api_route(
        f"/contracts/{{contract_id}}/{move}",
        endpoint,
        methods=["POST"],
        response_model=ContractDetail,
        responses=UPDATE,
        name=f"{move}_contract",
    )


_transition_route("start", "A signed contract goes into execution (in progress).")
_transition_route("close", "Close a signed or in-progress contract: it becomes read-only.")
_transition_route("cancel", "Cancel a contract: read-only, and no longer the territory's live one.")


def _csv_row(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        **doc,
        "regions": [r["code"] for r in doc["regions"]],
        "signatories": [
            s["organisation_code"] or s["siren"] or s["name"] for s in doc["signatories"]
        ],
    }
