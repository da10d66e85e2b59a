"""HTTP for territories: parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse

from registry.access import Writer
from registry.pages import PAGES
from registry.schemas import (
    CommuneRead,
    Coverage,
    GovernanceWrite,
    MemberWrite,
    OutlineFeature,
    OutlineFeatureCollection,
    TerritoryCreate,
    TerritoryRead,
    TerritoryStatus,
    TerritoryUpdate,
)
from registry.schemas.paths import CodePath, SirenPath
from registry.territories import contacts, service
from tdi_kit.app import problem_responses
from tdi_kit.auth import OPTIONAL_BEARER, CallerDep
from tdi_kit.conditional import IfMatch, none_match
from tdi_kit.db import SessionDep
from tdi_kit.documents import document_response
from tdi_kit.identifiers import DepartmentCode, Insee, RegionCode, Siren
from tdi_kit.pagination import CSV_RESPONSE, ListParamsDep, Page, documents_answer, next_link
from tdi_kit.rowreader import RowsDep

router = APIRouter(tags=["territories"])


class GeoJSONResponse(JSONResponse):
    """GeoJSON as stored, already encoded. A JSONResponse to FastAPI, so that the document
    gives its schema under its own media type (another class is documented as a string)."""

    media_type = "application/geo+json"

    def render(self, content: Any) -> bytes:
        return content.encode() if isinstance(content, str) else super().render(content)


NOT_FOUND = problem_responses(404)
# Every write: auth, the territory, its state, If-Match, the body limit.
WRITE_PROBLEMS = problem_responses(401, 403, 404, 409, 412, 413, 428)
CSV_COLUMNS = [
    "code",
    "name",
    "phase",
    "phase_starts_on",
    "phase_ends_on",
    "status",
    "region_code",
    "region_name",
    "region_source",
    "regions",
    "departments",
    "members",
    "commune_count",
    "updated_at",
]


@router.get(
    "/territories",
    response_model=Page[TerritoryRead],
    responses=CSV_RESPONSE,
    openapi_extra=OPTIONAL_BEARER,
)
async def list_territories(
    request: Request,
    rows: RowsDep,
    params: ListParamsDep,
    caller: CallerDep,
    phase: Annotated[
        str | None,
        Query(
            pattern=r"^(1|2|current)$",
            description="Programme phase: `1` (2018-2022), `2` (2023-2027), or `current`, the "
            "phase under way today. Absent: both phases, the whole register.",
        ),
    ] = None,
    status: Annotated[
        TerritoryStatus | None,
        Query(description="`active`, `ended` (its phase is over) or `archived`."),
    ] = None,
    region: Annotated[
        RegionCode | None, Query(description="The official Région's code (`region_code`).")
    ] = None,
    touches_region: Annotated[
        RegionCode | None, Query(description="A Région the territory touches (`regions`).")
    ] = None,
    department: Annotated[DepartmentCode | None, Query()] = None,
    member: Annotated[Siren | None, Query(description="SIREN of a member groupement.")] = None,
    commune: Annotated[Insee | None, Query(description="INSEE code of a covered commune.")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Words in the code, name or members' names.")
    ] = None,
) -> Any:
    """Territories of both phases with their members and governance (contact e-mails only with a
    token), unless filtered; sort on `code`, `name`, `phase`."""
    filters = {
        "phase": phase,
        "status": status,
        "region": region,
        "touches_region": touches_region,
        "department": department,
        "member": member,
        "commune": commune,
        "q": q,
    }
    if params.format == "csv":  # every row; the CSV has no contacts column
        page = await service.list_documents(rows, params=params, filters=filters)
        return documents_answer(
            request,
            params,
            [row[0] for row in page.rows],
            page.next_cursor,
            page.total,
            filename="territories",
            columns=CSV_COLUMNS,
            row=_csv_row,
            headers=contacts.VARY,
        )
    full = contacts.sees_contacts(request, caller)
    body, etag, next_cursor = await service.page_json(
        rows, params=params, filters=filters, full=full
    )
    # The kept ETag, as the conditional middleware would hash it; then it is ours to answer
    # If-None-Match, with the headers its 304 keeps.
    headers = {"ETag": etag, **contacts.VARY}
    if none_match(request.headers.get("if-none-match"), etag):
        response = Response(status_code=304, headers=headers)
    else:
        response = Response(body, media_type="application/json", headers=headers)
    next_link(request, response, next_cursor)
    return response


@router.get(
    "/territories/{code}",
    response_model=TerritoryRead,
    responses={304: {"description": "Not modified (If-None-Match)."}, **NOT_FOUND},
    openapi_extra=OPTIONAL_BEARER,
)
async def get_territory(code: CodePath, request: Request, rows: RowsDep, caller: CallerDep) -> Any:
    """One territory by its official code, with members, regions, departments and governance
    (the contacts' e-mails only with a token, unless the registry publishes them)."""
    body, etag = await service.get_document(rows, code=code)
    body, etag = contacts.for_caller(body, etag, full=contacts.sees_contacts(request, caller))
    if none_match(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag, **contacts.VARY})
    return document_response(body, etag, 200, **contacts.VARY)


@router.post(
    "/territories",
    status_code=status.HTTP_201_CREATED,
    response_model=TerritoryRead,
    responses=problem_responses(401, 403, 409, 413),
)
async def create_territory(payload: TerritoryCreate, session: SessionDep, caller: Writer) -> Any:
    """Create a territory (scope `registry:write`); Idempotency-Key makes a retry safe."""
    territory = await service.create(session, payload=payload, actor_org=caller.org)
    return document_response(
        territory.document, territory.etag, 201, Location=f"/api/v1/territories/{territory.code}"
    )


@router.patch("/territories/{code}", response_model=TerritoryRead, responses=WRITE_PROBLEMS)
async def update_territory(
    code: CodePath,
    payload: TerritoryUpdate,
    session: SessionDep,
    caller: Writer,
    if_match: IfMatch = None,
) -> Any:
    """Rename a territory or change its status; needs If-Match."""
    territory = await service.update(
        session, code=code, payload=payload, if_match=if_match, actor_org=caller.org
    )
    return document_response(territory.document, territory.etag)


@router.post("/territories/{code}/archive", response_model=TerritoryRead, responses=WRITE_PROBLEMS)
async def archive_territory(
    code: CodePath, session: SessionDep, caller: Writer, if_match: IfMatch = None
) -> Any:
    """Archive a territory: it stays readable, and read-only until restored; needs If-Match."""
    territory = await service.archive(session, code=code, if_match=if_match, actor_org=caller.org)
    return document_response(territory.document, territory.etag)


@router.put(
    "/territories/{code}/members/{siren}", response_model=TerritoryRead, responses=WRITE_PROBLEMS
)
async def add_territory_member(
    code: CodePath,
    siren: SirenPath,
    session: SessionDep,
    caller: Writer,
    if_match: IfMatch = None,
    payload: MemberWrite | None = None,
) -> Any:
    """Add a groupement to a territory (409 if another territory of the phase holds it)."""
    territory = await service.put_member(
        session,
        code=code,
        siren=siren,
        payload=payload or MemberWrite(),
        if_match=if_match,
        actor_org=caller.org,
    )
    return document_response(territory.document, territory.etag)


@router.delete(
    "/territories/{code}/members/{siren}", response_model=TerritoryRead, responses=WRITE_PROBLEMS
)
async def remove_territory_member(
    code: CodePath, siren: SirenPath, session: SessionDep, caller: Writer, if_match: IfMatch = None
) -> Any:
    """Remove a groupement from a territory; needs If-Match."""
    territory = await service.remove_member(
        session, code=code, siren=siren, if_match=if_match, actor_org=caller.org
    )
    return document_response(territory.document, territory.etag)


@router.put(
    "/territories/{code}/governance", response_model=TerritoryRead, responses=WRITE_PROBLEMS
)
async def set_territory_governance(
    code: CodePath,
    payload: GovernanceWrite,
    session: SessionDep,
    caller: Writer,
    if_match: IfMatch = None,
) -> Any:
    """Replace the binôme, the chef de projet and the operators' referents; needs If-Match."""
    territory = await service.set_governance(
        session, code=code, payload=payload, if_match=if_match, actor_org=caller.org
    )
    return document_response(territory.document, territory.etag)


@router.get(
    "/territories/{code}/communes",
    response_model=Page[CommuneRead],
    responses={**CSV_RESPONSE, **NOT_FOUND},
)
async def list_territory_communes(
    code: CodePath, request: Request, rows: RowsDep, params: ListParamsDep
) -> Any:
    """Communes covered: phase 1 by its official list, phase 2 through its members."""

    async def build() -> Any:
        page = await service.communes_of(rows, code=code, params=params)
        # Both phases' lists answer alike (`service.COMMUNES`): the first one shapes the answer.
        return service.COMMUNES[1].answer(request, params, page, filename=f"communes-{code}")

    return await PAGES.answer(rows, request, params, build)


@router.get(
    "/territories/{code}/outline",
    response_model=OutlineFeature,
    response_class=GeoJSONResponse,
    responses=NOT_FOUND,
)
async def get_territory_outline(code: CodePath, session: SessionDep) -> Response:
    """The phase-2 outline as a GeoJSON Feature (WGS 84)."""
    territory, geometry = await service.outline(session, code=code)
    return GeoJSONResponse(_feature(territory, geometry))


@router.get(
    "/territory-outlines",
    response_model=OutlineFeatureCollection,
    response_class=GeoJSONResponse,
)
async def get_territory_outlines(
    session: SessionDep, region: Annotated[RegionCode | None, Query()] = None
) -> Response:
    """Every phase-2 outline as one GeoJSON FeatureCollection, optionally for one official
    Région."""
    features = ",".join(_feature(t, g) for t, g in await service.outlines(session, region=region))
    return GeoJSONResponse('{"type":"FeatureCollection","features":[' + features + "]}")


@router.get(
    "/communes/{insee}/territories", response_model=Coverage, tags=["communes"], responses=NOT_FOUND
)
async def get_commune_territories(insee: Annotated[Insee, Path()], session: SessionDep) -> Coverage:
    """The territories (one per phase at most) covering a commune."""
    return Coverage(items=await service.covering_commune(session, insee=insee))


@router.get(
    "/groupements/{siren}/territories",
    response_model=Coverage,
    tags=["groupements"],
    responses=NOT_FOUND,
)
async def get_groupement_territories(siren: SirenPath, session: SessionDep) -> Coverage:
    """The territories (one per phase at most) a groupement belongs to."""
    return Coverage(items=await service.covering_groupement(session, siren=siren))


def _feature(territory: Any, geometry: str) -> str:
    properties = orjson.dumps(
        {"code": territory.code, "name": territory.name, "status": territory.status}
    ).decode()
    return (
        '{"type":"Feature","id":'
        + orjson.dumps(territory.code).decode()
        + ',"properties":'
        + properties
        + ',"geometry":'
        + geometry
        + "}"
    )


def _csv_row(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        **doc,
        "regions": [r["code"] for r in doc["regions"]],
        "departments": [d["code"] for d in doc["departments"]],
        "members": [m["siren"] for m in doc["members"]],
    }
