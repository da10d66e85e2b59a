"""Random sequences of operations; after every step the ledger, the running totals and a model
of the programme's rules agree."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import hypothesis.strategies as st
from funding_cases import M
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from funding.allocations import changes
from funding.allocations import service as allocations
from funding.disbursements import service as disbursements
from funding.envelopes import service as envelopes
from funding.ledger.service import Actor
from funding.models import Allocation, LedgerEntry, Tranche
from funding.references import Territory
from funding.schemas import (
    Adjustment,
    AllocationCreate,
    Cancellation,
    DisbursementCreate,
    EnvelopeCreate,
    TrancheCreate,
)
from tdi_kit.auth import Caller
from tdi_kit.db import create_engine
from tdi_kit.errors import Conflict, Problem

ADMIN = Caller(sub="property", org=None, scopes=frozenset({"admin"}))
YEARS = (2024, 2025)
AMOUNTS = st.integers(min_value=1, max_value=12).map(lambda n: n * M // 2)
_codes = itertools.count()


class Registry:
    async def territory(self, code: str) -> Territory:
        return Territory(code, ("27",))

    async def action_exists(self, action_id: uuid.UUID) -> bool:
        return True


def test_the_ledger_and_the_balances_agree_after_every_step(funding_url: str) -> None:
    loop = asyncio.new_event_loop()
    engine = create_engine(funding_url)

    def run(step: Awaitable[Any]) -> Any:
        return loop.run_until_complete(step)

    class Programme(RuleBasedStateMachine):
        allocations = Bundle("allocations")

        @initialize()
        def open_envelope(self) -> None:
            self.connection = run(engine.connect())
            self.transaction = run(self.connection.begin())
            self.sessions = async_sessionmaker(
                bind=self.connection,
                join_transaction_mode="create_savepoint",
                expire_on_commit=False,
                autoflush=False,
            )
            self.code = f"property-{next(_codes)}"
            # The model: what the rules say each figure must be.
            self.amount = dict.fromkeys(YEARS, 10 * M)
            self.committed = dict.fromkeys(YEARS, 0)
            self.disbursed = dict.fromkeys(YEARS, 0)
            self.state: dict[uuid.UUID, dict[str, Any]] = {}
            payload = EnvelopeCreate(
                code=self.code,
                operator_code="bpifrance",
                name="Property envelope",
                kind="grant",
                start_year=min(YEARS),
                end_year=max(YEARS),
                tranches=[TrancheCreate(year=y, amount_cents=10 * M) for y in YEARS],
            )
            self.act(lambda s: envelopes.insert(s, payload=payload, actor=Actor("property")))

        def act(self, step: Callable[[AsyncSession], Awaitable[Any]]) -> Problem | Any:
            """One request: its own transaction, kept on success, undone on a problem."""

            async def request() -> Problem | Any:
                async with self.sessions() as session:
                    try:
                        result = await step(session)
                        await session.commit()
                        return result
                    except Problem as problem:
                        await session.rollback()
                        return problem

            return run(request())

        @rule(target=allocations, year=st.sampled_from(YEARS), amount=AMOUNTS, commit=st.booleans())
        def allocate(self, year: int, amount: int, commit: bool) -> uuid.UUID | None:
            payload = AllocationCreate(
                envelope_code=self.code,
                year=year,
                territory_code="ti-2708",
                title="Project",
                beneficiary_name="Beneficiary",
                amount_cents=amount,
                status="committed" if commit else "proposed",
            )
            outcome = self.act(
                lambda s: allocations.create_many(
                    s,
                    caller=ADMIN,
                    owners=Registry(),
                    rows=[payload],  # type: ignore[arg-type]
                )
            )
            fits = amount <= self.amount[year] - self.committed[year]
            if commit and not fits:
                assert isinstance(outcome.problems[0][1], Conflict)
                return None
            assert not outcome.problems
            if commit:
                self.committed[year] += amount
            allocation_id = outcome.ids[0]
            self.state[allocation_id] = {
                "year": year,
                "amount": amount,
                "status": "committed" if commit else "proposed",
                "disbursed": 0,
            }
            return allocation_id

        @rule(allocation=allocations)
        def commit(self, allocation: uuid.UUID | None) -> None:
            if allocation is None:
                return
            a = self.state[allocation]
            result = self.act(
                lambda s: changes.commit(s, caller=ADMIN, allocation_id=allocation, if_match="*")
            )
            fits = a["amount"] <= self.amount[a["year"]] - self.committed[a["year"]]
            if a["status"] == "proposed" and fits:
                assert not isinstance(result, Problem), result
                a["status"] = "committed"
                self.committed[a["year"]] += a["amount"]
            else:
                assert isinstance(result, Conflict)

        @rule(allocation=allocations, amount=AMOUNTS)
        def disburse(self, allocation: uuid.UUID | None, amount: int) -> None:
            if allocation is None:
                return
            a = self.state[allocation]
            result = self.act(
                lambda s: disbursements.disburse(
                    s,
                    caller=ADMIN,
                    allocation_id=allocation,
                    payload=DisbursementCreate(amount_cents=amount),
                )
            )
            payable = a["status"] in ("committed", "partly_disbursed")
            if payable and amount <= a["amount"] - a["disbursed"]:
                assert not isinstance(result, Problem), result
                a["disbursed"] += amount
                a["status"] = (
                    "fully_disbursed" if a["disbursed"] == a["amount"] else "partly_disbursed"
                )
                self.disbursed[a["year"]] += amount
            else:
                assert isinstance(result, Conflict)

        @rule(allocation=consumes(allocations))
        def cancel(self, allocation: uuid.UUID | None) -> None:
            if allocation is None:
                return
            a = self.state[allocation]
            result = self.act(
                lambda s: changes.cancel(
                    s,
                    caller=ADMIN,
                    allocation_id=allocation,
                    payload=Cancellation(reason="property"),
                    if_match="*",
                )
            )
            if a["status"] == "fully_disbursed":
                assert isinstance(result, Conflict)
                return
            assert not isinstance(result, Problem), result
            if a["status"] != "proposed":
                self.committed[a["year"]] -= a["amount"] - a["disbursed"]
            a["status"] = "cancelled"

        @rule(year=st.sampled_from(YEARS), delta=st.integers(-8, 8).map(lambda n: n * M // 2))
        def adjust(self, year: int, delta: int) -> None:
            if delta == 0:
                return
            result = self.act(
                lambda s: envelopes.adjust(
                    s,
                    caller=ADMIN,
                    code=self.code,
                    year=year,
                    payload=Adjustment(delta_cents=delta, reason="property"),
                )
            )
            if self.amount[year] + delta < self.committed[year]:
                assert isinstance(result, Conflict)
            else:
                assert not isinstance(result, Problem), result
                self.amount[year] += delta

        @invariant()
        def ledger_totals_and_model_agree(self) -> None:
            if not hasattr(self, "sessions"):
                return
            run(self._check())

        async def _check(self) -> None:
            async with self.sessions() as s:
                sums = {
                    row.year: (int(row[1]), int(row[2]), int(row[3]))
                    for row in await s.execute(
                        select(
                            LedgerEntry.year,
                            func.sum(LedgerEntry.amount_delta_cents),
                            func.sum(LedgerEntry.committed_delta_cents),
                            func.sum(LedgerEntry.disbursed_delta_cents),
                        )
                        .where(LedgerEntry.envelope_code == self.code)
                        .group_by(LedgerEntry.year)
                    )
                }
                tranches = {
                    t.year: (t.amount_cents, t.committed_cents, t.disbursed_cents)
                    for t in await s.scalars(
                        select(Tranche).where(Tranche.envelope_code == self.code)
                    )
                }
                model = {y: (self.amount[y], self.committed[y], self.disbursed[y]) for y in YEARS}
                assert sums == tranches == model
                for a in await s.scalars(
                    select(Allocation).where(Allocation.envelope_code == self.code)
                ):
                    expected = self.state[a.id]
                    assert (a.status, a.disbursed_cents) == (
                        expected["status"],
                        expected["disbursed"],
                    )
                    assert a.disbursed_cents + a.released_cents <= a.amount_cents
                read = await envelopes.read(s, await envelopes.envelope(s, code=self.code))
                assert read.totals.available_cents == sum(
                    self.amount[y] - self.committed[y] for y in YEARS
                )

        def teardown(self) -> None:
            if hasattr(self, "transaction"):
                run(self.transaction.rollback())
                run(self.connection.close())

    try:
        run_state_machine_as_test(
            Programme,
            settings=settings(
                max_examples=20,
                stateful_step_count=20,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        run(engine.dispose())
        loop.close()
