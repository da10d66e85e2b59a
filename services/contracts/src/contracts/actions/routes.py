"""HTTP for fiches-actions and their plan lines, indicators and milestones."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status
from starlette.responses import Response

from contracts.access import Writer
from contracts.actions import service
from contracts.models import Action
from contracts.references import RefsDep
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
    IndicatorUpdate,
    IndicatorWrite,
    MilestoneUpdate,
    MilestoneWrite,
    PlanLineUpdate,
    PlanLineWrite,
    Priority,
    Theme,
)
from tdi_kit.conditional import IfMatch
from tdi_kit.db import SessionDep
from tdi_kit.documents import conditional_document
from tdi_kit.documents import document_response as _document
from tdi_kit.identifiers import OrganisationCode, RegionCode, TerritoryCode
from tdi_kit.pagination import ListParamsDep, Page, documents_answer

router = APIRouter(tags=["actions"])
ActionId = Annotated[uuid.UUID, Path(description="The action's UUID.")]
ContractId = Annotated[uuid.UUID, Path(description="The contract's UUID.")]
ChildId = Annotated[uuid.UUID, Path()]
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


@router.get("/actions", response_model=Page[ActionRead], responses=LIST)
async def list_actions(
    request: Request,
    session: SessionDep,
    params: ListParamsDep,
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
    is_demo: Annotated[
        bool | None, Query(description="true: demo data only; false: real only.")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Words in the code, title, owner, themes.")
    ] = None,
) -> Any:
    """Fiches-actions; sort on `code`, `title`, `budget_cents`, `status`, `territory_code`,
    `phase`, `updated_at`."""
    filters = {
        "territory": territory,
        "region": region,
        "phase": phase,
        "status": status,
        "axis": axis,
        "priority": priority,
        "theme": theme,
        "financer": financer,
        "contract": contract,
        "is_demo": is_demo,
        "q": q,
    }
    documents, next_cursor = await service.list_documents(session, params=params, filters=filters)
    return documents_answer(
        request,
        params,
        documents,
        next_cursor,
        filename="actions",
        columns=CSV_COLUMNS,
        row=_csv_row,
    )


@router.get("/actions/{action_id}", response_model=ActionRead, responses=READ_ONE)
async def get_action(action_id: ActionId, request: Request, session: SessionDep) -> Any:
    """One fiche-action with its co-financing plan, indicators and milestones."""
    body, etag = await service.get_document(session, action_id=action_id)
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
    session: SessionDep,
    references: RefsDep,
    caller: Writer,
    if_match: IfMatch = None,
) -> Any:
    """Add a fiche-action to a draft contract (a signed one changes through an amendment)."""
    action = await service.create(
        session,
        references=references,
        caller=caller,
        contract_id=contract_id,
        payload=payload,
        if_match=if_match,
    )
    return _response(action, 201, Location=f"/api/v1/actions/{action.id}")


@router.patch("/actions/{action_id}", response_model=ActionRead, responses=UPDATE)
async def update_action(
    action_id: ActionId,
    payload: ActionUpdate,
    session: SessionDep,
    references: RefsDep,
    caller: Writer,
    if_match: IfMatch = None,
) -> Any:
    """Change an action; on a signed contract only `status` (follow-up) without an amendment."""
    action = await service.patch(
        session,
        references=references,
        caller=caller,
        action_id=action_id,
        payload=payload,
        if_match=if_match,
    )
    return _response(action)


@router.delete("/actions/{action_id}", status_code=status.HTTP_204_NO_CONTENT, responses=UPDATE)
async def delete_action(
    action_id: ActionId,
    session: SessionDep,
    references: RefsDep,
    caller: Writer,
    if_match: IfMatch = None,
) -> Response:
    """Remove an action from a draft contract (a signed one: through an amendment)."""
    await service.delete(
        session, references=references, caller=caller, action_id=action_id, if_match=if_match
    )
    return Response(status_code=204)


@router.post(
    "/actions/{action_id}/plan-lines",
    status_code=status.HTTP_201_CREATED,
    response_model=ActionRead,
    responses=CREATE,
)
async def add_plan_line(
    action_id: ActionId,
    payload: PlanLineWrite,
    session: SessionDep,
    references: RefsDep,
    caller: Writer,
    if_match: IfMatch = None,
) -> Any:
    """Add a co-financing line (never beyond the budget); answers the action."""
    action = await service.post_child(
        session,
        references=references,
        caller=caller,
        action_id=action_id,
        payload=payload,
        if_match=if_match,
    )
    return _response(action, 201)


@router.patch(
    "/actions/{action_id}/plan-lines/{line_id}", response_model=ActionRead, responses=UPDATE
)
async def update_plan_line(
    action_id: ActionId,
    line_id: ChildId,
    payload: PlanLineUpdate,
    session: SessionDep,
    references: RefsDep,
    caller: Writer,
    if_match: IfMatch = None,
) -> Any:
    """Change a co-financing line (an operator: only its own); If-Match: the action's ETag."""
    action = await service.patch_child(
        session,
        references=references,
        caller=caller,
        action_id=action_id,
        child_id=line_id,
        payload=payload,
        if_match=if_match,
    )
    return _response(action)


@router.delete(
    "/actions/{action_id}/plan-lines/{line_id}", response_model=ActionRead, responses=UPDATE
)
async def remove_plan_line(
    action_id: ActionId,
    line_id: ChildId,
    session: SessionDep,
    references: RefsDep,
    caller: Writer,
    if_match: IfMatch = None,
) -> Any:
    """Remove a co-financing line; answers the action."""
    action = await service.delete_child(
        session,
        references=references,
        caller=caller,
        action_id=action_id,
        child="plan_line",
        child_id=line_id,
        if_match=if_match,
    )
    return _response(action)


@router.post(
    "/actions/{action_id}/indicators",
    status_code=status.HTTP_201_CREATED,
    response_model=ActionRead,
    responses=CREATE,
)
async def add_indicator(
    action_id: ActionId,
    payload: IndicatorWrite,
    session: SessionDep,
    references: RefsDep,
    caller: Writer,
    if_match: IfMatch = None,
) -> Any:
    """Add an indicator (label, unit, target, actual, as of); answers the action."""
    action = await service.post_child(
        session,
        references=references,
        caller=caller,
        action_id=action_id,
        payload=payload,
        if_match=if_match,
    )
    return _response(action, 201)


@router.patch(
    "/actions/{action_id}/indicators/{indicator_id}", response_model=ActionRead, responses=UPDATE
)
async def update_indicator(
    action_id: ActionId,
    indicator_id: ChildId,
    payload: IndicatorUpdate,
    session: SessionDep,
    references: RefsDep,
    caller: Writer,
    if_match: IfMatch = None,
) -> Any:
    """Report an indicator's actual value (follow-up) or change it; If-Match: the action's ETag."""
    action = await service.patch_child(
        session,
        references=references,
        caller=caller,
        action_id=action_id,
        child_id=indicator_id,
        payload=payload,
        if_match=if_match,
    )
    return _response(action)


@router.delete(
    "/actions/{action_id}/indicators/{indicator_id}", response_model=ActionRead, responses=UPDATE
)
async def remove_indicator(
    action_id: ActionId,
    indicator_id: ChildId,
    session: SessionDep,
    references: RefsDep,
    caller: Writer,
    if_match: IfMatch = None,
) -> Any:
    """Remove an indicator; answers the action."""
    action = await service.delete_child(
        session,
        references=references,
        caller=caller,
        action_id=action_id,
        child="indicator",
        child_id=indicator_id,
        if_match=if_match,
    )
    return _response(action)


@router.post(
    "/actions/{action_id}/milestones",
    status_code=status.HTTP_201_CREATED,
    response_model=ActionRead,
    responses=CREATE,
)
async def add_milestone(
    action_id: ActionId,
    payload: MilestoneWrite,
    session: SessionDep,
    references: RefsDep,
    caller: Writer,
    if_match: IfMatch = None,
) -> Any:
    """Add a milestone (label, due date, done on); answers the action."""
    action = await service.post_child(
        session,
        references=references,
        caller=caller,
        action_id=action_id,
        payload=payload,
        if_match=if_match,
    )
    return _response(action, 201)


@router.patch(
    "/actions/{action_id}/milestones/{milestone_id}", response_model=ActionRead, responses=UPDATE
)
async def update_milestone(
    action_id: ActionId,
    milestone_id: ChildId,
    payload: MilestoneUpdate,
    session: SessionDep,
    references: RefsDep,
    caller: Writer,
    if_match: IfMatch = None,
) -> Any:
    """Mark a milestone done (follow-up) or change it; If-Match: the action's ETag."""
    action = await service.patch_child(
        session,
        references=references,
        caller=caller,
        action_id=action_id,
        child_id=milestone_id,
        payload=payload,
        if_match=if_match,
    )
    return _response(action)


@router.delete(
    "/actions/{action_id}/milestones/{milestone_id}", response_model=ActionRead, responses=UPDATE
)
async def remove_milestone(
    action_id: ActionId,
    milestone_id: ChildId,
    session: SessionDep,
    references: RefsDep,
    caller: Writer,
    if_match: IfMatch = None,
) -> Any:
    """Remove a milestone; answers the action."""
    action = await service.delete_child(
        session,
        references=references,
        caller=caller,
        action_id=action_id,
        child="milestone",
        child_id=milestone_id,
        if_match=if_match,
    )
    return _response(action)


def _csv_row(doc: dict[str, Any]) -> dict[str, Any]:
    owner = doc.get("owner") or {}
    return {
        **doc,
        "owner": owner.get("organisation_code") or owner.get("name") or "",
        "financers": [line["financer_code"] or line["financer_name"] for line in doc["plan_lines"]],
    }
