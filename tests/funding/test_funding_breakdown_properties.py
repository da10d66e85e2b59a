"""Generated envelopes (nested, multi-year, multi-theme, several funders, some demo) and
allocations (in one Région or two): every breakdown the balances publish sums to its totals,
column by column, or names its overlaps; and the totals count each euro once."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import hypothesis.strategies as st
from funding_cases import M
from hypothesis import HealthCheck, given, settings
from sqlalchemy import case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from funding.allocations import service as allocations
from funding.balances import service as balances
from funding.disbursements import service as disbursements
from funding.envelopes import service as envelopes
from funding.ledger.service import Actor
from funding.models import (
    Allocation,
    AllocationRegion,
    BalanceSum,
    Envelope,
    LedgerEntry,
    Tranche,
)
from funding.references import Territory
from funding.schemas import (
    Adjustment,
    AllocationCreate,
    DisbursementRow,
    EnvelopeCreate,
    TrancheCreate,
)
from tdi_kit.auth import Caller
from tdi_kit.db import create_engine
from tdi_kit.rowreader import InSession

ADMIN = Caller(sub="property", org=None, scopes=frozenset({"admin"}))
ACTOR = Actor("property")
LAYOUTS = (  # the tranches of an envelope over 2024-2027: annual, or periods with no split
    ((2024, None), (2025, None)),
    ((2024, 2025),),
    ((2024, None), (2025, 2027)),
    ((2024, 2027),),
)
THEMES = ("innovation", "foncier", "export", "ingenierie")
FUNDERS = (None, "etat", "regions", "union-europeenne")
TERRITORIES = {"2708": ("27", "84"), "ti-2708": ("27",), "ti-8402": ("84",)}
DIMENSIONS = (
    "envelope",
    "tranche",
    "operator",
    "funder",
    "year",
    "theme",
    "territory",
    "region",
    "operator,year",
    "funder,year",
    "theme,year",
)
COLUMNS = ("amount_cents", "committed_cents", "disbursed_cents", "available_cents")
_codes = itertools.count()


@dataclass
class Spec:
    operator: str
    themes: list[str]
    layout: int
    part_of: int | None  # index of an earlier, top-level envelope
    amounts: list[int]  # per tranche
    funders: list[str | None]
    top_up: tuple[int, str | None] | None
    is_demo: bool
    allocations: list[tuple[str, int, int]]  # territory, share of the tranche (%), paid (%)


@st.composite
def programmes(draw: st.DrawFn) -> list[Spec]:
    specs: list[Spec] = []
    for index in range(draw(st.integers(1, 4))):
        tops = [i for i, s in enumerate(specs) if s.part_of is None]
        part_of = draw(st.sampled_from([None, *tops])) if tops else None
        layout = draw(st.integers(0, len(LAYOUTS) - 1))
        n = len(LAYOUTS[layout])
        # A whole holds 30 M€ or more per tranche, a part at most 4 M€: a whole (one tranche at
        # least) always holds its three parts at most.
        low, high = (1, 4) if part_of is not None else (30, 40)
        specs.append(
            Spec(
                operator=draw(st.sampled_from(("bpifrance", "banque-des-territoires", "anct"))),
                themes=draw(st.lists(st.sampled_from(THEMES), min_size=1, max_size=3, unique=True)),
                layout=layout,
                part_of=part_of,
                amounts=[draw(st.integers(low, high)) * M for _ in range(n)],
                funders=[draw(st.sampled_from(FUNDERS)) for _ in range(n)],
                top_up=draw(
                    st.none()
                    | st.tuples(
                        st.integers(1, 2).map(lambda m: m * M // 2), st.sampled_from(FUNDERS)
                    )
                )
                if part_of is None
                else None,
                is_demo=draw(st.booleans()),
                allocations=draw(
                    st.lists(
                        st.tuples(
                            st.sampled_from(sorted(TERRITORIES)),
                            st.integers(1, 30),
                            st.integers(0, 100),
                        ),
                        max_size=3,
                    )
                ),
            )
        )
        del index
    return specs


class Registry:
    async def territory(self, code: str) -> Territory:
        return Territory(code, TERRITORIES[code])

    async def action_exists(self, action_id: uuid.UUID) -> bool:
        return True


def _sum(items: list[Any], column: str) -> int:
    return sum(getattr(i, column) for i in items)


async def _build(session: Any, specs: list[Spec]) -> dict[str, Any]:
    """The programme, and what its totals must be (each euro once)."""
    expected = {True: [0, 0, 0], False: [0, 0, 0]}  # include_demo -> amount, committed, paid
    codes: list[str] = []
    for spec in specs:
        code = f"prop-{next(_codes)}"
        codes.append(code)
        layout = LAYOUTS[spec.layout]
        payload = EnvelopeCreate(
            code=code,
            operator_code=spec.operator,
            part_of=codes[spec.part_of] if spec.part_of is not None else None,
            name=code,
            kind="grant",
            themes=spec.themes,  # type: ignore[arg-type]
            start_year=2024,
            end_year=2027,
            tranches=[
                TrancheCreate(year=y, last_year=last, amount_cents=a, funder_code=f)
                for (y, last), a, f in zip(layout, spec.amounts, spec.funders, strict=True)
            ],
        )
        envelope = await envelopes.insert(
            session, payload=payload, actor=ACTOR, is_demo=spec.is_demo
        )
        await envelopes.check_nesting(session, envelope)
        amount = sum(spec.amounts)
        if spec.top_up is not None:
            delta, funder = spec.top_up
            await envelopes.adjust(
                session,
                caller=None,
                code=code,
                year=layout[0][0],
                payload=Adjustment(delta_cents=delta, reason="top-up", funder_code=funder),
                actor=ACTOR,
            )
            amount += delta
        rows, paid = [], []
        for territory, share, paid_share in spec.allocations:
            year = layout[0][0]
            cents = max(1, spec.amounts[0] * share // 100 // max(1, len(spec.allocations)))
            rows.append(
                AllocationCreate(
                    envelope_code=code,
                    year=year,
                    territory_code=territory,
                    title="Projet",
                    beneficiary_name="Bénéficiaire",
                    amount_cents=cents,
                    status="committed",
                )
            )
            paid.append(cents * paid_share // 100)
        ids: list[uuid.UUID] = []
        if rows:
            outcome = await allocations.create_many(
                session,
                caller=ADMIN,
                owners=Registry(),  # type: ignore[arg-type]
                rows=rows,
                actor=ACTOR,
                is_demo=spec.is_demo,
            )
            assert not outcome.problems, outcome.problems
            ids = outcome.ids
        payments = [
            DisbursementRow(allocation_id=i, amount_cents=p)
            for i, p in zip(ids, paid, strict=True)
            if p
        ]
        if payments:
            done = await disbursements.disburse_many(
                session, caller=ADMIN, rows=payments, actor=ACTOR, is_demo=spec.is_demo
            )
            assert not done.problems, done.problems
        for include_demo in (True, False):
            if spec.is_demo and not include_demo:
                continue
            # A part's amount is within its whole's: the totals count the whole only.
            expected[include_demo][0] += amount if spec.part_of is None else 0
            expected[include_demo][1] += sum(r.amount_cents for r in rows)
            expected[include_demo][2] += sum(paid)
    return expected


@asynccontextmanager
async def _rolled_back(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with engine.connect() as connection:
        transaction = await connection.begin()
        sessions = async_sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            async with sessions() as session:
                yield session
        finally:
            await transaction.rollback()


async def _check(engine: AsyncEngine, specs: list[Spec]) -> None:
    async with _rolled_back(engine) as session:
        before = {
            demo: await balances.report(session, by="envelope", filters={"include_demo": demo})
            for demo in (True, False)
        }
        expected = await _build(session, specs)
        await session.flush()
        for include_demo in (True, False):
            base = before[include_demo].totals
            amount, committed, paid = expected[include_demo]
            for by in DIMENSIONS:
                report = await balances.report(
                    session, by=by, filters={"include_demo": include_demo}
                )
                totals = report.totals
                if by in ("territory", "region"):
                    # No envelope is split by territory in advance: no amount there.
                    assert totals.amount_cents is None
                else:
                    assert totals.amount_cents == base.amount_cents + amount, by  # type: ignore[operator]
                assert totals.committed_cents == base.committed_cents + committed, by  # type: ignore[operator]
                assert totals.disbursed_cents == base.disbursed_cents + paid, by  # type: ignore[operator]
                overlapping = {o.dimension for o in report.overlaps}
                for column in COLUMNS:
                    values = [getattr(i, column) for i in report.items]
                    if getattr(totals, column) is None or any(v is None for v in values):
                        # Not broken down this way (amounts by territory, commitments
                        # by funder): null throughout, never a partial figure.
                        assert all(v is None for v in values), (by, column)
                        continue
                    if "region" in overlapping:
                        assert sum(values) >= getattr(totals, column), (by, column)
                    else:
                        assert sum(values) == getattr(totals, column), (by, column)
                if by == "region":
                    spans = any(
                        len(TERRITORIES[t]) > 1
                        for s in specs
                        if include_demo or not s.is_demo
                        for t, _, _ in s.allocations
                    )
                    assert ("region" in overlapping) == spans
                if "year" in by:
                    # Money of a period never sits on one year.
                    assert all((i.year is None) == ("-" in (i.period or "")) for i in report.items)


def _for_every_programme(
    funding_url: str,
    check: Callable[[AsyncEngine, list[Spec]], Awaitable[None]],
    *,
    examples: int,
) -> None:
    """`check` on generated programmes, each in a transaction rolled back."""
    loop = asyncio.new_event_loop()
    engine = create_engine(funding_url)

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(specs=programmes())
    def run(specs: list[Spec]) -> None:
        loop.run_until_complete(check(engine, specs))

    try:
        run()
    finally:
        loop.run_until_complete(engine.dispose())
        loop.close()


def test_every_breakdown_sums_to_its_totals_and_counts_each_euro_once(funding_url: str) -> None:
    _for_every_programme(funding_url, _check, examples=10)


# The dashboard's breakdowns: one GROUP BY, rolled up --------------------------------------------


def _period(year: int, last_year: int | None) -> str:
    last = last_year if last_year is not None else year
    return str(year) if year == last else f"{year}-{last}"


def _key(dim: str, item: Any) -> Any:
    return {
        "operator": lambda: item.operator_code,
        "funder": lambda: item.funder_code,
        "theme": lambda: tuple(item.themes),
        "year": lambda: item.period,
        "envelope": lambda: item.envelope_code,
    }[dim]()


async def _summed_over_records(session: Any, include_demo: bool) -> dict[str, dict[Any, list[int]]]:
    """The breakdowns summed plainly in Python over every ledger entry: each entry on its
    envelope, an endowment of a nested envelope taken off its whole's line (each euro once)."""
    envelopes_by_code = {e.code: e for e in (await session.scalars(select(Envelope))).all()}
    tranches = {t.id: t for t in (await session.scalars(select(Tranche))).all()}
    sums: dict[str, dict[Any, list[int]]] = {dim: {} for dim in balances.BREAKDOWNS}
    for entry in (await session.scalars(select(LedgerEntry))).all():
        if entry.is_demo and not include_demo:
            continue
        tranche = tranches[entry.tranche_id]
        own = envelopes_by_code[entry.envelope_code]
        lines = [
            (
                own,
                entry.amount_delta_cents,
                entry.committed_delta_cents,
                entry.disbursed_delta_cents,
            )
        ]
        if own.part_of is not None and entry.amount_delta_cents:
            lines.append((envelopes_by_code[own.part_of], -entry.amount_delta_cents, 0, 0))
        for envelope, amount, committed, disbursed in lines:
            keys = {
                "operator": envelope.operator_code,
                "funder": entry.funder_code,
                "theme": tuple(t for t in envelope.theme_set.split(",") if t),
                "year": _period(tranche.year, tranche.last_year),
                "envelope": envelope.code,
            }
            for dim, key in keys.items():
                line = sums[dim].setdefault(key, [0, 0, 0])
                line[0] += amount
                line[1] += committed
                line[2] += disbursed
    return sums


async def _check_breakdowns(engine: AsyncEngine, specs: list[Spec]) -> None:
    async with _rolled_back(engine) as session:
        await _build(session, specs)
        # Proposals never committed move no money: in no breakdown.
        await session.flush()
        codes = list(
            await session.scalars(select(Envelope.code).where(Envelope.code.like("prop-%")))
        )
        for j, code in enumerate(codes):
            outcome = await allocations.create_many(
                session,
                caller=ADMIN,
                owners=Registry(),  # type: ignore[arg-type]
                rows=[
                    AllocationCreate(
                        envelope_code=code,
                        year=2024,
                        territory_code="ti-2708",
                        title="Projet proposé",
                        beneficiary_name="Bénéficiaire",
                        amount_cents=M // 10,
                        status="proposed",
                    )
                ],
                actor=ACTOR,
                is_demo=j % 2 == 0,
            )
            assert not outcome.problems, outcome.problems
        await session.flush()
        for include_demo in (True, False):
            filters = {"include_demo": include_demo}
            got = await balances.breakdowns(InSession(session), filters=filters)
            plain = await _summed_over_records(session, include_demo)
            for dim in balances.BREAKDOWNS:
                items = getattr(got, f"by_{dim}")
                # Today's figures: the report by this dimension alone.
                today = await balances.report(session, by=dim, filters=filters)
                key = lambda i, d=dim: str(_key(d, i))  # noqa: E731
                assert sorted(items, key=key) == sorted(today.items, key=key), dim
                assert got.totals == today.totals
                # A plain sum over the records.
                figures = {
                    _key(dim, i): [
                        i.amount_cents,
                        i.committed_cents,
                        i.disbursed_cents,
                    ]
                    for i in items
                }
                expected = {
                    k: [v[0], None, None] if dim == "funder" else v for k, v in plain[dim].items()
                }
                assert figures == expected, dim
            # And the commitments are those of the committed allocations, no other.
            committed = sum(
                a.amount_cents - a.released_cents
                for a in (await session.scalars(select(Allocation))).all()
                if a.committed_at is not None and (include_demo or not a.is_demo)
            )
            assert got.totals.committed_cents == committed
            # Of one Région or one operator, the same figures as the report filtered so.
            for scoped in ({"region": "84"}, {"region": "27"}, {"operator": "bpifrance"}):
                filters = {**scoped, "include_demo": include_demo}
                got = await balances.breakdowns(InSession(session), filters=filters)
                for dim in balances.BREAKDOWNS:
                    today = await balances.report(session, by=dim, filters=filters)
                    key = lambda i, d=dim: str(_key(d, i))  # noqa: E731
                    items = getattr(got, f"by_{dim}")
                    assert sorted(items, key=key) == sorted(today.items, key=key), (scoped, dim)
                    assert got.totals == today.totals, (scoped, dim)
                    assert [n for n in today.notes if n not in got.notes] == [], (scoped, dim)
        await _check_kept_sums(session)


async def _check_kept_sums(session: AsyncSession) -> None:
    """The sums the database keeps are the GROUP BY over the ledger, row for row."""
    sums = (
        func.sum(LedgerEntry.amount_delta_cents),
        func.sum(LedgerEntry.committed_delta_cents),
        func.sum(LedgerEntry.disbursed_delta_cents),
        func.sum(case((LedgerEntry.amount_delta_cents != 0, 1), else_=0)),
    )
    keys = (
        LedgerEntry.tranche_id,
        func.coalesce(LedgerEntry.funder_code, ""),
        LedgerEntry.is_demo,
        LedgerEntry.envelope_code,
    )
    every = select(literal(""), *keys, *sums).group_by(*keys)
    by_region = (
        select(AllocationRegion.region_code, *keys, *sums)
        .join(AllocationRegion, AllocationRegion.allocation_id == LedgerEntry.allocation_id)
        .group_by(AllocationRegion.region_code, *keys)
    )
    rows = [*(await session.execute(every)), *(await session.execute(by_region))]
    expected = sorted(tuple(map(_plain, row)) for row in rows)
    held = list(
        await session.execute(
            select(
                BalanceSum.region_code,
                BalanceSum.tranche_id,
                BalanceSum.funder_code,
                BalanceSum.is_demo,
                BalanceSum.envelope_code,
                BalanceSum.amount_cents,
                BalanceSum.committed_cents,
                BalanceSum.disbursed_cents,
                BalanceSum.amount_moves,
            )
        )
    )
    assert sorted(tuple(map(_plain, row)) for row in held) == expected


def _plain(value: Any) -> Any:
    # SUM is a Decimal on PostgreSQL, an int on SQLite; identifiers compare as text.
    if isinstance(value, str | bool):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    return int(value)


def test_the_dashboards_breakdowns_are_the_sums_of_the_records(funding_url: str) -> None:
    _for_every_programme(funding_url, _check_breakdowns, examples=8)
