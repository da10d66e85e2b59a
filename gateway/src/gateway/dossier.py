"""A territory's full dossier: what the registry, contracts and funding each know of it.

Every service is asked once for the whole territory, concurrently, within one budget: the
registry for the territory (members, governance), contracts for its contracts with their
fiches-actions and its fiches-actions in no contract (`/territories/{code}/contracts`, one
call), funding for its allocations. The gateway then nests allocations under their actions:
never one call per contract or per action.

The territory is required (it is what the dossier is of: 404 if the registry knows no such
code). Contracts and funding are optional: when one fails the dossier is answered partial.

Balances per operator and per year are the sums of the territory's allocations:
committed = disbursed + undisbursed for each allocation (funding's own identity, checked
against its /balances endpoint in tests/gateway/test_gateway_aggregates.py), so funding is
asked once. Like every aggregate, they leave demo allocations out unless `include_demo=true`
(the demo records themselves stay listed, each marked `is_demo`).

Each service is asked with the caller's own token (or none), so each applies its own rules of
who sees what: an anonymous dossier holds no private record (a proposed allocation) and no
personal contact of the governance; an operator's holds its own proposals and no one else's.
The balances count committed money only, so they are the same for every caller; the answer
carries `Vary: Authorization` and an ETag of what this caller is sent.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field, WithJsonSchema

from gateway.aggregates import (
    AGGREGATE_RESPONSES,
    Call,
    Partial,
    extended,
    part_problem,
    required,
    service_schema,
)
from tdi_kit.errors import NotFound, Problem
from tdi_kit.identifiers import TerritoryCode

router = APIRouter(tags=["aggregates"])
CodePath = Annotated[TerritoryCode, Path()]

ALLOCATIONS = {
    "anyOf": [
        {"type": "array", "items": {"x-tdi-ref": "funding:AllocationRead"}},
        {"type": "null"},
    ],
    "description": "The allocations funding the action; null when funding is missing.",
}
ACTION = extended("contracts:ActionRead", allocations=ALLOCATIONS)
CONTRACT = extended("contracts:ContractRead", actions={"type": "array", "items": ACTION})


class Balance(BaseModel):
    """Money of the territory's allocations for one operator or one year (euro cents)."""

    operator_code: str | None = None
    operator_name: str | None = Field(
        default=None, description="By operator: its name, as funding's allocations give it."
    )
    year: int | None = None
    committed_cents: int
    disbursed_cents: int
    undisbursed_cents: int = Field(description="committed - disbursed.")
    allocation_count: int


class Balances(BaseModel):
    """Recorded allocations only; the money the public record reports is on the envelopes."""

    include_demo: bool = Field(description="Whether demo allocations are counted.")
    demo_left_out: int = Field(description="Demo allocations listed but not counted here.")
    by_operator: list[Balance]
    by_year: list[Balance]
    totals: Balance


class Dossier(Partial):
    """A territory with its contracts, their fiches-actions and the money that funds them."""

    # The ignores: `service_schema` builds these field types at import time (an `Annotated`
    # that pydantic reads); mypy only accepts types it can spell statically.
    territory: service_schema("registry:TerritoryRead")  # type: ignore[valid-type]
    contracts: Annotated[
        list[dict[str, Any]] | None,
        WithJsonSchema({"anyOf": [{"type": "array", "items": CONTRACT}, {"type": "null"}]}),
    ] = Field(description="Each contract with its actions, each action with its allocations.")
    actions_without_contract: Annotated[
        list[dict[str, Any]] | None,
        WithJsonSchema({"anyOf": [{"type": "array", "items": ACTION}, {"type": "null"}]}),
    ] = Field(description="Fiches-actions of the territory not (yet) in a contract.")
    allocations_without_action: service_schema(  # type: ignore[valid-type]
        "funding:AllocationRead", many=True, nullable=True
    ) = Field(description="Allocations to the territory that fund no particular action.")
    balances: Balances | None = Field(description="Null when funding is missing.")


@router.get(
    "/territories/{code}/dossier",
    response_model=Dossier,
    responses=AGGREGATE_RESPONSES,
    summary="A territory's full dossier",
)
async def get_territory_dossier(
    code: CodePath,
    request: Request,
    include_demo: Annotated[
        bool, Query(description="Count demo allocations in the balances too.")
    ] = False,
) -> Any:
    """The territory, its contracts with their actions and each action's allocations, and its
    balances per operator and per year (demo allocations only with `include_demo=true`);
    partial (not failed) when contracts or funding fail."""
    call = Call(request, include_demo=include_demo)
    services = call.services
    # The calls go out in this order: the slowest part first, so that it starts earliest.
    results = await call.parts(
        {
            "allocations": call.every(services.funding, "/api/v1/allocations", territory=code),
            "plan": call.one(services.contracts, f"/api/v1/territories/{code}/contracts"),
            "territory": call.one(services.registry, f"/api/v1/territories/{code}"),
        }
    )
    if (kept := call.kept()) is not None:  # every part as when this answer was built
        return kept
    territory = required(results["territory"])
    if territory is None:
        raise NotFound("territory", code)
    problems = []
    instance = request.url.path
    plan = results["plan"]
    if not isinstance(plan, Problem) and not _is_plan(plan):
        plan = services.contracts.bad_answer("answered a territory's contracts without them")
    if isinstance(plan, Problem):
        problems.append(part_problem("contracts", plan, instance))
        plan = None
    allocations = results["allocations"]
    if isinstance(allocations, Problem):
        problems.append(part_problem("funding", allocations, instance))
        allocations = None
    document = {
        "territory": territory,
        **assemble(plan, allocations),
        "balances": (
            balances(allocations, include_demo=include_demo) if allocations is not None else None
        ),
        "partial": bool(problems),
        "problems": problems,
    }
    return call.answer(document)


def _is_plan(plan: Any) -> bool:
    return (
        isinstance(plan, dict)
        and isinstance(plan.get("contracts"), list)
        and isinstance(plan.get("actions_without_contract"), list)
        and all(
            isinstance(c, dict) and isinstance(c.get("actions"), list) for c in plan["contracts"]
        )
    )


def assemble(
    plan: dict[str, Any] | None, allocations: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """Allocations under their actions (contracts sends actions under their contracts)."""
    by_action: dict[str, list[dict[str, Any]]] = defaultdict(list)
    loose_allocations = []
    for allocation in allocations or []:
        action_id = allocation.get("action_id")
        if action_id:
            by_action[str(action_id)].append(allocation)
        else:
            loose_allocations.append(allocation)
    if plan is None:
        return {
            "contracts": None,
            "actions_without_contract": None,
            # Without the actions, every allocation is listed here, none is lost.
            "allocations_without_action": allocations,
        }
    known_actions = set()

    def funded(action: dict[str, Any]) -> dict[str, Any]:
        action_id = str(action.get("id"))
        known_actions.add(action_id)
        return {
            **action,
            "allocations": by_action.get(action_id, []) if allocations is not None else None,
        }

    contracts = [{**c, "actions": [funded(a) for a in c["actions"]]} for c in plan["contracts"]]
    loose_actions = [funded(a) for a in plan["actions_without_contract"]]
    # An allocation naming an action the contracts service did not list (removed since, say)
    # stays visible among the loose ones.
    for action_id, found in by_action.items():
        if action_id not in known_actions:
            loose_allocations.extend(found)
    return {
        "contracts": contracts,
        "actions_without_contract": loose_actions,
        "allocations_without_action": loose_allocations if allocations is not None else None,
    }


def balances(allocations: list[dict[str, Any]], *, include_demo: bool = False) -> dict[str, Any]:
    operators: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    operator_names: dict[str, str | None] = {}
    years: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    totals = [0, 0, 0]
    demo_left_out = 0
    for allocation in allocations:
        if allocation.get("is_demo") and not include_demo:
            demo_left_out += 1
            continue
        # A proposal (or a proposal cancelled) moved no money: like funding's ledger, the
        # balances leave it out, so that they do not depend on who asks.
        if allocation.get("committed_at") is None:
            continue
        operator_names[allocation.get("operator_code") or ""] = allocation.get("operator_name")
        disbursed = int(allocation.get("disbursed_cents") or 0)
        undisbursed = int(allocation.get("undisbursed_cents") or 0)
        for sums in (
            operators[allocation.get("operator_code") or ""],
            years[int(allocation.get("year") or 0)],
            totals,
        ):
            sums[0] += disbursed + undisbursed
            sums[1] += disbursed
            sums[2] += 1

    def balance(sums: list[int], **key: Any) -> dict[str, Any]:
        committed, disbursed, count = sums
        return {
            **key,
            "committed_cents": committed,
            "disbursed_cents": disbursed,
            "undisbursed_cents": committed - disbursed,
            "allocation_count": count,
        }

    return {
        "include_demo": include_demo,
        "demo_left_out": demo_left_out,
        "by_operator": [
            balance(operators[o], operator_code=o, operator_name=operator_names.get(o))
            for o in sorted(operators)
        ],
        "by_year": [balance(years[y], year=y) for y in sorted(years)],
        "totals": balance(totals),
    }
