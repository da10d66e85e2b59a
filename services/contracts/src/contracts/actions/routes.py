"""HTTP for fiches-actions and their plan lines, indicators and milestones."""

from __future__ import annotations

import inspect
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from starlette.responses import Response

from contracts.actions import service
from contracts.actions.children import INDICATOR, MILESTONE, PLAN_LINE, ChildKind
from contracts.contracts.writes import WriteDep
from contracts.models import Action
from contracts.pages import PAGES
from contracts.schemas import (
    CREATE,
    LIST,
    READ_ONE,
    UPDATE,
    ActionRead,
    ActionStatus,
    ActionUpdate,
    ActionWrite,
    Axis,
    Priority,
    Theme,
)
from contracts.schemas.paths import ActionId, ChildId, ContractId, DemoFilter
from tdi_kit.documents import conditional_document
from tdi_kit.documents import document_response as _document
from tdi_kit.identifiers import OrganisationCode, RegionCode, TerritoryCode
from tdi_kit.listing import ListingDep
from tdi_kit.pagination import Page
from tdi_kit.rowreader import RowsDep

router = APIRouter(tags=["actions"])
CSV_COLUMNS = [
    "id",
    "contract_id",
    "territory_code",
    "phase",
    "code",
    "title",
    "axis",
    "priority",
    "themes",
    "owner",
    "status",
    "budget_cents",
    "planned_cents",
    "financers",
    "is_demo",
    "sources",
    "version",
    "updated_at",
]


def _response(action: Action, status_code: int = 200, **headers: str) -> Response:
    return _document(action.document, action.etag, status_code, **headers)


async def _action_filters(
    territory: Annotated[TerritoryCode | None, Query(description="Territory code.")] = None,
    region: Annotated[RegionCode | None, Query(description="Region code.")] = None,
    phase: Annotated[int | None, Query(ge=1, le=2, description="Programme phase.")] = None,
    status: Annotated[ActionStatus | None, Query()] = None,
    axis: Annotated[Axis | None, Query(description="Phase-1 axis.")] = None,
    priority: Annotated[Priority | None, Query(description="Phase-2 priority.")] = None,
    theme: Annotated[Theme | None, Query()] = None,
    financer: Annotated[
        OrganisationCode | None, Query(description="Organisation code of a financer.")
    ] = None,
    contract: Annotated[uuid.UUID | None, Query(description="Actions of one contract.")] = None,
    is_demo: DemoFilter = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Words in the code, title, owner, themes.")
    ] = None,
) -> dict[str, Any]:
    """The list's filters, named as `queries.filtered` takes them."""
    # Called with nothing but its parameters: locals() is exactly the filters, by name.
    return dict(locals())


@router.get("/actions", response_model=Page[ActionRead], responses=LIST)
async def list_actions(
    # The filters first: the operation lists its query parameters in this order.
    filters: Annotated[dict[str, Any], Depends(_action_filters)],
    listing: ListingDep,
    rows: RowsDep,
) -> Any:
    """Fiches-actions; sort on `code`, `title`, `budget_cents`, `status`, `territory_code`,
    `phase`, `updated_at`."""

    async def build() -> Any:
        page = await service.list_documents(rows, params=listing.params, filters=filters)
        return listing.documents(page, filename="actions", columns=CSV_COLUMNS, row=_csv_row)

    return await PAGES.answer(rows, listing.request, listing.params, build)


@router.get("/actions/{action_id}", response_model=ActionRead, responses=READ_ONE)
async def get_action(action_id: ActionId, request: Request, rows: RowsDep) -> Any:
    """One fiche-action with its co-financing plan, indicators and milestones."""
    body, etag = await service.get_document(rows, action_id=action_id)
    return conditional_document(request, body, etag)


@router.post(
    "/contracts/{contract_id}/actions",
    status_code=status.HTTP_201_CREATED,
    response_model=ActionRead,
    responses=CREATE,
)
async def create_action(
    contract_id: ContractId,
    payload: ActionWrite,
    write: WriteDep,
) -> Any:
    """Add a fiche-action to a draft contract (a signed one changes through an amendment)."""
    action = await service.create(write, contract_id=contract_id, payload=payload)
    return _response(action, 201, Location=f"/api/v1/actions/{action.id}")


@router.patch("/actions/{action_id}", response_model=ActionRead, responses=UPDATE)
async def update_action(
    action_id: ActionId,
    payload: ActionUpdate,
    write: WriteDep,
) -> Any:
    """Change an action; on a signed contract only `status` (follow-up) without an amendment."""
    action = await service.patch(write, action_id=action_id, payload=payload)
    return _response(action)


@router.delete("/actions/{action_id}", status_code=status.HTTP_204_NO_CONTENT, responses=UPDATE)
async def delete_action(
    action_id: ActionId,
    write: WriteDep,
) -> Response:
    """Remove an action from a draft contract (a signed one: through an amendment)."""
    await service.delete(write, action_id=action_id)
    return Response(status_code=204)


# Plan lines, indicators, milestones: the same three routes each, from the table of kinds.

# (path segment, path parameter, and the add / update / remove operations' docs) of each kind.
CHILD_ROUTES = {
    PLAN_LINE: (
        "plan-lines",
        "line_id",
        "Add a co-financing line (never beyond the budget); answers the action.",
        "Change a co-financing line (an operator: only its own); If-Match: the action's ETag.",
        "Remove a co-financing line; answers the action.",
    ),
    INDICATOR: (
        "indicators",
        "indicator_id",
        "Add an indicator (label, unit, target, actual, as of); answers the action.",
        "Report an indicator's actual value (follow-up) or change it; If-Match: the action's ETag.",
        "Remove an indicator; answers the action.",
    ),
    MILESTONE: (
        "milestones",
        "milestone_id",
        "Add a milestone (label, due date, done on); answers the action.",
        "Mark a milestone done (follow-up) or change it; If-Match: the action's ETag.",
        "Remove a milestone; answers the action.",
    ),
}


def _child_routes(kind: ChildKind) -> None:
    """POST .../<segment>, PATCH and DELETE .../<segment>/{<id>}, as three operations."""
    segment, id_param, *docs = CHILD_ROUTES[kind]
    many = f"/actions/{{action_id}}/{segment}"
    one = f"{many}/{{{id_param}}}"
    P = inspect.Parameter
    action_param = P("action_id", P.KEYWORD_ONLY, annotation=ActionId)
    id_param_ = P(id_param, P.KEYWORD_ONLY, annotation=ChildId)
    deps = [P("write", P.KEYWORD_ONLY, annotation=WriteDep)]

    def payload(schema: Any) -> inspect.Parameter:
        return P("payload", P.KEYWORD_ONLY, annotation=schema)

    operations = [
        ("add", "POST", many, [action_param, payload(kind.write)]),
        ("update", "PATCH", one, [action_param, id_param_, payload(kind.update)]),
        ("remove", "DELETE", one, [action_param, id_param_]),
    ]
    for (verb, method, path, params), doc in zip(operations, docs, strict=True):
        created = verb == "add"

        async def endpoint(*, _verb: str = verb, **values: Any) -> Response:
            action = await service.change_child(
                values["write"],
                kind=kind,
                verb=_verb,
                action_id=values["action_id"],
                child_id=values.get(id_param),
                payload=values.get("payload"),
            )
            return _response(action, 201 if _verb == "add" else 200)

        # FastAPI reads the parameters (and so the OpenAPI operation) from the signature.
        endpoint.__signature__ = inspect.Signature([*params, *deps])  # type: ignore[attr-defined]
        endpoint.__name__ = name = f"{verb}_{kind.target}"
        endpoint.__doc__ = doc
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            name=name,
            status_code=status.HTTP_201_CREATED if created else None,
            response_model=ActionRead,
            responses=CREATE if created else UPDATE,
        )


for _kind in CHILD_ROUTES:
    _child_routes(_kind)


def _csv_row(doc: dict[str, Any]) -> dict[str, Any]:
    owner = doc.get("owner") or {}
    return {
        **doc,
        "owner": owner.get("organisation_code") or owner.get("name") or "",
        "financers": [line["financer_code"] or line["financer_name"] for line in doc["plan_lines"]],
    }
