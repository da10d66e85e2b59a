"""Demo allocations and disbursements: invented, plausible, and marked as demo everywhere.

No allocation of the programme is public beyond aggregates, so nothing here is a fact: every
row has `is_demo` true (in the API, the CSV exports and the ledger), its beneficiary and title
say « démo », and its reference starts with `demo-`. They are loaded only on request
(`tdi seed --demo`, `tdi up --demo`), on the real envelopes of the seed, within their rules.
Loading twice adds nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from funding.allocations import changes
from funding.allocations import service as allocations
from funding.disbursements import service as disbursements_service
from funding.ledger.entries import Actor
from funding.models import Allocation
from funding.references import Territory
from funding.schemas import AllocationCreate, Cancellation, DisbursementRow
from tdi_kit.auth import Caller
from tdi_kit.documents import etag_of
from tdi_kit.seeding import Counts

K = 100_000  # one thousand euros, in cents
DEMO = Actor("demo")
CALLER = Caller(sub="demo", org=None, scopes=frozenset({"admin"}))

# Territories of the registry's seed and their regions (copied: demo data needs no registry).
REGIONS = {
    "2707": ("27",),
    "2708": ("27", "84"),
    "3204": ("32",),
    "8401": ("84",),
    "7509": ("75",),
    "ti-2708": ("27",),
    "ti-3205": ("32",),
    "ti-8402": ("84",),
    "ti-5301": ("53",),
    "ti-7602": ("76",),
}


@dataclass(frozen=True)
class DemoRow:
    reference: str
    envelope_code: str
    year: int
    territory_code: str
    title: str
    beneficiary: str
    amount_cents: int
    eligible_spending_cents: int | None
    decision_date: dt.date
    status: str  # proposed, committed, or cancelled (committed first)
    disbursed_cents: tuple[int, ...] = ()


ROWS = [
    DemoRow(
        "demo-001",
        "bdt-fonds-propres-2019-2022",
        2020,
        "2707",
        "[démo] Foncière d'un parc d'activités industrielles",
        "Société foncière démo Nord Franche-Comté",
        3_500 * K,
        None,
        dt.date(2020, 6, 15),
        "committed",
        (1_500 * K, 2_000 * K),
    ),
    DemoRow(
        "demo-002",
        "bdt-fonds-propres-2019-2022",
        2021,
        "2708",
        "[démo] Reconversion d'une friche métallurgique",
        "SEM démo Saône-et-Loire Industrie",
        2_200 * K,
        None,
        dt.date(2021, 4, 2),
        "committed",
        (700 * K,),
    ),
    DemoRow(
        "demo-003",
        "fonds-acceleration-2020-2022",
        2021,
        "3204",
        "[démo] Ligne d'usinage robotisée",
        "Démo Mécanique de précision SAS",
        600 * K,
        1_400 * K,
        dt.date(2021, 5, 20),
        "committed",
        (300 * K,),
    ),
    DemoRow(
        "demo-004",
        "fonds-acceleration-2020-2022",
        2021,
        "8401",
        "[démo] Atelier de traitement de surface bas carbone",
        "Démo Traitements Ardèche SARL",
        250 * K,
        520 * K,
        dt.date(2021, 10, 8),
        "cancelled",
    ),
    DemoRow(
        "demo-005",
        "bdt-ingenierie-2019-2022",
        2019,
        "7509",
        "[démo] Étude de requalification d'une zone industrielle",
        "Communauté de communes démo",
        40 * K,
        80 * K,
        dt.date(2019, 11, 4),
        "committed",
        (40 * K,),
    ),
    DemoRow(
        "demo-006",
        "phase-2-2023-2027",
        2024,
        "ti-2708",
        "[démo] Poste de chef de projet Territoires d'industrie (2 ans)",
        "Pôle métropolitain démo",
        60 * K,
        75 * K,
        dt.date(2024, 2, 12),
        "committed",
        (30 * K,),
    ),
    DemoRow(
        "demo-007",
        "phase-2-2023-2027",
        2025,
        "ti-3205",
        "[démo] École de production (plasturgie)",
        "Association démo École de production",
        450 * K,
        1_100 * K,
        dt.date(2025, 3, 3),
        "committed",
    ),
    DemoRow(
        "demo-008",
        "rebond-industriel-aides",
        2023,
        "ti-8402",
        "[démo] Reprise d'un site de fonderie",
        "Démo Fonderie de l'Ain SAS",
        1_800 * K,
        6_000 * K,
        dt.date(2023, 9, 18),
        "committed",
        (900 * K,),
    ),
    DemoRow(
        "demo-009",
        "fonds-vert-ti-2024",
        2024,
        "ti-5301",
        "[démo] Récupération de chaleur fatale",
        "Démo Agroalimentaire d'Armor SA",
        380 * K,
        950 * K,
        dt.date(2024, 7, 1),
        "committed",
    ),
    DemoRow(
        "demo-010",
        "phase-2-2023-2027",
        2025,
        "ti-7602",
        "[démo] Plateforme technique partagée (proposition)",
        "Syndicat mixte démo",
        200 * K,
        400 * K,
        dt.date(2025, 6, 30),
        "proposed",
    ),
]


class DemoOwners:
    """Answers for the territories above, in place of the registry."""

    async def territory(self, code: str) -> Territory | None:
        return Territory(code, REGIONS[code]) if code in REGIONS else None

    async def action_exists(self, action_id: uuid.UUID) -> bool:
        return False


async def load_demo(
    session: AsyncSession, *, say: Callable[[str], None] = print
) -> dict[str, Counts]:
    """Add the demo rows that are missing. The caller commits."""
    held = set(
        await session.scalars(
            select(Allocation.reference).where(Allocation.reference.like("demo-%"))
        )
    )
    counts = Counts(unchanged=len(held & {r.reference for r in ROWS}))
    missing = [r for r in ROWS if r.reference not in held]
    if missing:
        outcome = await allocations.create_many(
            session,
            caller=CALLER,
            # Duck-typed: the two questions the write asks of `Owners` (a class, not a
            # Protocol, that calls the registry and contracts), answered from the table above.
            owners=DemoOwners(),  # type: ignore[arg-type]
            rows=[_payload(r) for r in missing],
            actor=DEMO,
            is_demo=True,
        )
        if outcome.problems:
            details = "; ".join(f"{missing[i].reference}: {p.detail}" for i, p in outcome.problems)
            raise RuntimeError(f"the demo data no longer fits the seed: {details}")
        counts.added = len(outcome.ids)
        disbursements = [
            DisbursementRow(
                allocation_reference=r.reference,
                amount_cents=amount,
                paid_on=r.decision_date + dt.timedelta(days=90 * (n + 1)),
                reference=f"{r.reference}-v{n + 1}",
            )
            for r in missing
            for n, amount in enumerate(r.disbursed_cents)
        ]
        if disbursements:
            paid = await disbursements_service.disburse_many(
                session, caller=CALLER, rows=disbursements, actor=DEMO, is_demo=True
            )
            assert not paid.problems, paid.problems
        for allocation_id, row in zip(outcome.ids, missing, strict=True):
            if row.status == "cancelled":
                found = await allocations.allocation(
                    session, caller=CALLER, allocation_id=allocation_id
                )
                await changes.cancel(
                    session,
                    caller=CALLER,
                    allocation_id=allocation_id,
                    payload=Cancellation(reason="[démo] project abandoned by its promoter"),
                    if_match=etag_of(await allocations.read(session, found)),
                )
    say(f"demo allocations: {counts}")
    return {"allocations": counts}


def _payload(row: DemoRow) -> AllocationCreate:
    return AllocationCreate(
        envelope_code=row.envelope_code,
        year=row.year,
        territory_code=row.territory_code,
        title=row.title,
        beneficiary_name=f"{row.beneficiary} (démo)",
        reference=row.reference,
        amount_cents=row.amount_cents,
        eligible_spending_cents=row.eligible_spending_cents,
        decision_date=row.decision_date,
        status="proposed" if row.status == "proposed" else "committed",
    )
