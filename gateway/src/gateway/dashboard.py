"""The programme's dashboard, national or for one Région: counts and money from every service.

- territories per phase, and for one phase (the current one unless asked) per status and
  official Région (registry; required);
- contracts per status and kind, fiches-actions per axis (phase 1) and priority (phase 2)
  (contracts; optional);
- money per operator, funder, theme set, year (or period) and envelope, each breakdown summing
  to the totals (funding counts every euro once: nested envelopes, multi-year periods,
  multi-theme envelopes), with the figures the public record reports beside them, never
  added to them (funding's `/balances/breakdowns`: one call, a read of the sums its database
  keeps, whatever the number of allocations; optional).

Every call runs concurrently within one budget. A territory counts once, in its official Région
(ANCT's for phase 2), so that `by_region` adds up to the phase's total (183 for phase 2).
Demo records (contracts, actions, money) are left out unless `include_demo=true`.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from gateway.aggregates import (
    AGGREGATE_RESPONSES,
    Call,
    Partial,
    aggregate_response,
    part_problem,
    required,
    service_schema,
)
from tdi_kit.errors import Problem
from tdi_kit.identifiers import RegionCode

router = APIRouter(tags=["aggregates"])
MONEY_BREAKDOWNS = ("operator", "funder", "theme", "year", "envelope")
# The members each count reads: the lists are read for these alone (`Call.every`).
TERRITORY_FIELDS = ("phase", "status", "region_code", "region_name")
CONTRACT_FIELDS = ("status", "kind")
ACTION_FIELDS = ("phase", "axis", "priority", "status")


class Count(BaseModel):
    key: str | int | None = Field(description="The value counted (a phase, a status, an axis).")
    count: int


class RegionCount(BaseModel):
    region_code: str | None = Field(description="The official Région; null if none is known.")
    region_name: str | None
    phase: int
    count: int


class TerritoryCounts(BaseModel):
    phase: int | None = Field(
        description="The phase counted: the one asked for, else the programme's current phase."
    )
    total: int = Field(description="Territories of the phase counted.")
    by_phase: list[Count] = Field(description="Every phase, the other ones included.")
    by_status: list[Count] = Field(description="Territories of the phase counted, by status.")
    by_region: list[RegionCount] = Field(
        description="Territories of the phase counted, by official Région: adds up to `total`."
    )


class ContractCounts(BaseModel):
    total: int
    by_status: list[Count]
    by_kind: list[Count]


class ActionCounts(BaseModel):
    total: int
    by_axis: list[Count] = Field(description="Phase 1 actions, by axis of the programme.")
    by_priority: list[Count] = Field(description="Phase 2 actions, by priority.")
    by_status: list[Count]


class Money(BaseModel):
    """Funding's balances (euro cents), recorded in its ledger. Each breakdown sums to
    `totals` (by funder: amounts only), or `overlaps` names the items that share money.
    Rows carry names beside codes as funding gives them: `operator_name` (by operator) and
    `funder_label` (by funder), from funding's copy of the registry's names.
    `reported` holds what the public record says (engaged, committed...), never added."""

    # The ignores: these field types are built at import time by `service_schema` (an
    # `Annotated` that pydantic reads); mypy only accepts types it can spell statically.
    by_operator: service_schema("funding:BalanceRead", many=True)  # type: ignore[valid-type]
    by_funder: service_schema("funding:BalanceRead", many=True)  # type: ignore[valid-type]
    by_theme: service_schema("funding:BalanceRead", many=True)  # type: ignore[valid-type]
    by_year: service_schema("funding:BalanceRead", many=True)  # type: ignore[valid-type]
    by_envelope: service_schema("funding:BalanceRead", many=True)  # type: ignore[valid-type]
    totals: service_schema("funding:BalanceRead")  # type: ignore[valid-type]
    overlaps: service_schema("funding:Overlap", many=True)  # type: ignore[valid-type]
    notes: list[str] = Field(description="How funding counted the figures.")
    reported: service_schema(  # type: ignore[valid-type]
        "funding:ReportedFigureRead", many=True
    ) = Field(description="Figures of the public record: reported, not recorded here.")


class Dashboard(Partial):
    """The programme in figures, national or for one Région."""

    region: str | None = Field(description="The Région's code, or null for the whole country.")
    include_demo: bool = Field(description="Whether demo records are counted.")
    territories: TerritoryCounts
    contracts: ContractCounts | None = Field(description="Null when contracts is missing.")
    actions: ActionCounts | None = Field(description="Null when contracts is missing.")
    money: Money | None = Field(description="Null when funding is missing.")


@router.get("/dashboard", response_model=Dashboard, responses=AGGREGATE_RESPONSES)
async def get_dashboard(
    request: Request,
    region: Annotated[RegionCode | None, Query(description="A Région's code: `27`.")] = None,
    phase: Annotated[
        int | None,
        Query(ge=1, le=2, description="The phase whose territories are counted; default current."),
    ] = None,
    include_demo: Annotated[
        bool, Query(description="Count demo contracts, actions and money too.")
    ] = False,
) -> Any:
    """Territories per phase and region, contracts per status, actions per axis, and money
    per operator, funder, theme, year and envelope with the public record's reported figures;
    demo records only with `include_demo=true`; partial when a part fails."""
    call = Call(request)
    services = call.services
    where = {"region": region} if region else {}
    # Lists filter demo records with `is_demo`; aggregates leave them out with `include_demo`.
    real_only = {} if include_demo else {"is_demo": "false"}
    demo = {"include_demo": "true" if include_demo else "false"}
    results = await call.parts(
        {
            "territories": call.every(
                services.registry, "/api/v1/territories", fields=TERRITORY_FIELDS, **where
            ),
            "programme": call.one(services.registry, "/api/v1/programme"),
            "contracts": call.every(
                services.contracts,
                "/api/v1/contracts",
                fields=CONTRACT_FIELDS,
                **where,
                **real_only,
            ),
            "actions": call.every(
                services.contracts,
                "/api/v1/actions",
                fields=ACTION_FIELDS,
                **where,
                **real_only,
            ),
            "money": call.one(services.funding, "/api/v1/balances/breakdowns", **where, **demo),
        }
    )
    territories = required(results["territories"])
    counted = phase or counted_phase(required(results["programme"]), territories)
    instance = request.url.path
    problems = []
    contracts, actions = results["contracts"], results["actions"]
    if isinstance(contracts, Problem) or isinstance(actions, Problem):
        failed = contracts if isinstance(contracts, Problem) else actions
        problems.append(part_problem("contracts", failed, instance))
        contracts = actions = None
    money = results["money"]
    if not isinstance(money, Problem) and not isinstance(money, dict):
        money = services.funding.bad_answer("answered its balance breakdowns without them")
    if isinstance(money, Problem):
        problems.append(part_problem("funding", money, instance))
        money = None
    document = {
        "region": region,
        "include_demo": include_demo,
        "territories": territory_counts(territories, counted),
        "contracts": contract_counts(contracts) if contracts is not None else None,
        "actions": action_counts(actions) if actions is not None else None,
        "money": money_of(money) if money is not None else None,
        "partial": bool(problems),
        "problems": problems,
    }
    return aggregate_response(request, document)


def _counts(counter: Counter[Any]) -> list[dict[str, Any]]:
    return [
        {"key": key, "count": n}
        for key, n in sorted(counter.items(), key=lambda kv: (kv[0] is None, str(kv[0])))
    ]


def counted_phase(programme: dict[str, Any] | None, territories: list[dict[str, Any]]) -> int:
    """The phase under way; between two phases (or with no calendar), the latest one known."""
    programme = programme or {}
    if programme.get("current_phase") is not None:
        return int(programme["current_phase"])
    started: list[int] = [
        p["phase"] for p in programme.get("phases", []) if p.get("status") != "upcoming"
    ]
    return max(started or [t.get("phase") or 0 for t in territories] or [0])


def territory_counts(territories: list[dict[str, Any]], phase: int) -> dict[str, Any]:
    """A territory counts once, in its official Région: the regional counts add up to the total.
    (The registry already filtered on that Région when the dashboard is for one.)"""
    counted = [t for t in territories if t.get("phase") == phase]
    regions = Counter((t.get("region_code"), t.get("region_name"), phase) for t in counted)
    return {
        "phase": phase,
        "total": len(counted),
        "by_phase": _counts(Counter(t.get("phase") for t in territories)),
        "by_status": _counts(Counter(t.get("status") for t in counted)),
        "by_region": [
            {"region_code": code, "region_name": name, "phase": p, "count": n}
            for (code, name, p), n in sorted(regions.items(), key=lambda kv: str(kv[0]))
        ],
    }


def contract_counts(contracts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "total": len(contracts),
        "by_status": _counts(Counter(c.get("status") for c in contracts)),
        "by_kind": _counts(Counter(c.get("kind") for c in contracts)),
    }


def action_counts(actions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "total": len(actions),
        "by_axis": _counts(Counter(a.get("axis") for a in actions if a.get("phase") == 1)),
        "by_priority": _counts(Counter(a.get("priority") for a in actions if a.get("phase") == 2)),
        "by_status": _counts(Counter(a.get("status") for a in actions)),
    }


def money_of(breakdowns: dict[str, Any]) -> dict[str, Any]:
    """Funding's breakdowns (computed by its database, one call) as the dashboard's money."""
    return {
        **{f"by_{by}": breakdowns.get(f"by_{by}", []) for by in MONEY_BREAKDOWNS},
        "totals": breakdowns.get("totals"),
        # None of these breakdowns splits money by Région: nothing counts twice.
        "overlaps": [],
        "notes": breakdowns.get("notes", []),
        "reported": breakdowns.get("reported", []),
    }
