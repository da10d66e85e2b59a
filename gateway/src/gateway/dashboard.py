"""The programme's dashboard, national or for one Région: counts and money from every service,
one call each, every count computed by the service's database.

- territories per phase, and for one phase (the current one unless asked) per status and
  official Région (registry's `/programme/counts`; required);
- contracts per status and kind, fiches-actions per axis (phase 1) and priority (phase 2)
  (contracts' `/contracts/counts`; optional);
- money per operator, funder, theme set, year (or period) and envelope, each breakdown summing
  to the totals (funding counts every euro once: nested envelopes, multi-year periods,
  multi-theme envelopes), with the figures the public record reports beside them, never
  added to them (funding's `/balances/breakdowns`: one call, a read of the sums its database
  keeps, whatever the number of allocations; optional).

The three calls run concurrently within one budget. A territory counts once, in its official
Région (ANCT's for phase 2), so that `by_region` adds up to the phase's total (183 for phase 2).
Demo records (contracts, actions, money) are left out unless `include_demo=true`. The gateway
passes the services' counts on as they give them (their schemas document the dashboard's), once
it has checked that their members are there.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from gateway.aggregates import (
    AGGREGATE_RESPONSES,
    Call,
    Partial,
    part_problem,
    required,
    service_schema,
)
from tdi_kit.errors import Problem
from tdi_kit.identifiers import RegionCode

router = APIRouter(tags=["aggregates"])
MONEY_BREAKDOWNS = ("operator", "funder", "theme", "year", "envelope")
# The members of the registry's `TerritoryCounts` the dashboard checks before passing it on.
TERRITORY_MEMBERS = ("phase", "total", "by_phase", "by_status", "by_region")


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
    # The services' counts as they give them, documented by their schemas (see `Money`).
    territories: service_schema("registry:TerritoryCounts")  # type: ignore[valid-type]
    contracts: service_schema(  # type: ignore[valid-type]
        "contracts:ContractCounts", nullable=True
    ) = Field(description="Null when contracts is missing.")
    actions: service_schema(  # type: ignore[valid-type]
        "contracts:ActionCounts", nullable=True
    ) = Field(description="Null when contracts is missing.")
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
    call = Call(request, region=region, phase=phase, include_demo=include_demo)
    services = call.services
    where = {"region": region} if region else {}
    asked = {"phase": str(phase)} if phase else {}
    demo = {"include_demo": "true" if include_demo else "false"}
    results = await call.parts(
        {
            "territories": call.one(
                services.registry, "/api/v1/programme/counts", **where, **asked
            ),
            "counts": call.one(services.contracts, "/api/v1/contracts/counts", **where, **demo),
            "money": call.one(services.funding, "/api/v1/balances/breakdowns", **where, **demo),
        }
    )
    if (kept := call.kept()) is not None:  # every part as when this answer was built
        return kept
    territories = required(results["territories"])
    missing = absent(territories, TERRITORY_MEMBERS)
    if missing:
        raise services.registry.bad_answer(f"answered its territory counts without `{missing}`")
    instance = request.url.path
    problems = []
    counts = results["counts"]
    contracts = actions = None
    if not isinstance(counts, Problem):
        missing = absent(counts, ("contracts", "actions"))
        if missing:
            counts = services.contracts.bad_answer(f"answered its counts without `{missing}`")
    if isinstance(counts, Problem):
        problems.append(part_problem("contracts", counts, instance))
    else:
        contracts, actions = counts["contracts"], counts["actions"]
    money = results["money"]
    if not isinstance(money, Problem) and not isinstance(money, dict):
        money = services.funding.bad_answer("answered its balance breakdowns without them")
    if isinstance(money, Problem):
        problems.append(part_problem("funding", money, instance))
        money = None
    document = {
        "region": region,
        "include_demo": include_demo,
        "territories": territories,
        "contracts": contracts,
        "actions": actions,
        "money": money_of(money) if money is not None else None,
        "partial": bool(problems),
        "problems": problems,
    }
    return call.answer(document)


def absent(answer: Any, names: tuple[str, ...]) -> str | None:
    """The first of `names` a service's answer lacks (the answer itself if no object)."""
    if not isinstance(answer, dict):
        return names[0]
    return next((name for name in names if name not in answer), None)


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
