"""Load the public facts (seed/facts.py) into the funding database.

Idempotent: a convention or envelope of the facts is added when missing and updated when it
differs; a tranche's recorded amount changes only through the ledger, so a movement of the
facts (an opening, a top-up) is appended once, and a corrected figure is appended as a
correction. Nothing the facts do not mention is touched. The report says what was added,
changed and left as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from funding.envelopes import service as envelopes
from funding.ledger.entries import SEED
from funding.models import Convention, Envelope, LedgerEntry, ReportedFigure
from funding.schemas import Adjustment, EnvelopeCreate, Rules, TrancheCreate
from funding.seed.facts import CONVENTIONS, ENVELOPES, REPORTED, Movement, SeedEnvelope
from tdi_kit import clock
from tdi_kit.seeding import Counts

SEED_MARK = "[seed:{key}] "


async def load(session: AsyncSession, *, say: Callable[[str], None] = print) -> dict[str, Counts]:
    """Bring the database up to the facts. The caller commits."""
    report = {
        "conventions": await _facts(session, Convention, CONVENTIONS),
        "envelopes": Counts(),
        "movements": Counts(),
    }
    # A whole before its parts: a part names its parent, and never holds more than it.
    for seed in sorted(ENVELOPES, key=lambda e: e.fields.get("part_of") is not None):
        await _envelope(session, seed, report)
    report["reported figures"] = await _facts(session, ReportedFigure, REPORTED)
    for name, counts in report.items():
        say(f"{name}: {counts}")
    return report


# The records upserted whole from their facts (`_facts`).
Fact = TypeVar("Fact", Convention, ReportedFigure)


async def _facts(session: AsyncSession, model: type[Fact], facts: list[dict[str, Any]]) -> Counts:
    """Records of the public record, each upserted from its fact as it stands."""
    counts = Counts()
    for fact in facts:
        found = await session.get(model, fact["code"])
        if found is None:
            session.add(model(**fact, is_demo=False, version=1))
            counts.added += 1
        elif _differs(found, fact):
            for name, value in fact.items():
                setattr(found, name, value)
            found.version += 1
            found.updated_at = clock.now()
            counts.changed += 1
        else:
            counts.unchanged += 1
    await session.flush()
    return counts


def _differs(record: Any, fact: dict[str, Any]) -> bool:
    return any(getattr(record, name) != value for name, value in fact.items())


def _payload(seed: SeedEnvelope) -> EnvelopeCreate:
    years = sorted({m.year for m in seed.movements})
    return EnvelopeCreate(
        **{**seed.fields, "rules": Rules(**seed.fields["rules"])},
        tranches=[
            TrancheCreate(
                year=y,
                amount_cents=0,
                note=seed.tranche_notes.get(y, ""),
                last_year=seed.periods.get(y),
            )
            for y in years
        ],
    )


async def _envelope(session: AsyncSession, seed: SeedEnvelope, report: dict[str, Counts]) -> None:
    payload = _payload(seed)
    found = await session.get(Envelope, payload.code)
    if found is None:
        found = await envelopes.insert(session, payload=payload, actor=SEED)
        report["envelopes"].added += 1
    elif _envelope_differs(found, payload):
        _apply(found, payload)
        report["envelopes"].changed += 1
    else:
        report["envelopes"].unchanged += 1
    held = {t.year: t for t in found.tranches}
    for t in payload.tranches:
        if t.year not in held:
            await envelopes.open_tranche(session, found, t, actor=SEED)
        else:
            held[t.year].note = t.note
            held[t.year].last_year = t.last_year
    await session.flush()
    await session.refresh(found, ["tranches"])
    # Each movement is held per funder: a movement whose funder changed (the 2021-03-23 top-up,
    # once recorded whole with none) gets a correction under the old funder and an entry under
    # the new one. Additions go first, so that no correction dips below what is committed.
    steps: list[tuple[Movement, str | None, int, bool]] = []
    for movement in seed.movements:
        recorded = await _recorded(session, found.code, movement.key)
        wanted = {movement.funder: movement.amount_cents}
        deltas = {
            funder: wanted.get(funder, 0) - recorded.get(funder, 0)
            for funder in dict.fromkeys([*wanted, *recorded])
        }
        deltas = {funder: delta for funder, delta in deltas.items() if delta}
        if not deltas:
            report["movements"].unchanged += 1
            continue
        first = not any(recorded.values())
        if first:
            report["movements"].added += 1
        else:
            report["movements"].changed += 1
        steps.extend((movement, funder, delta, first) for funder, delta in deltas.items())
    for movement, funder, delta, first in sorted(steps, key=lambda step: step[2] < 0):
        correction = "" if first else "correction: "
        await envelopes.adjust(
            session,
            caller=None,
            code=found.code,
            year=movement.year,
            payload=Adjustment(
                delta_cents=delta,
                effective_on=movement.effective_on,
                reason=f"{SEED_MARK.format(key=movement.key)}{correction}{movement.note}",
                funder_code=funder,
            ),
            actor=SEED,
        )


async def _recorded(session: AsyncSession, envelope_code: str, key: str) -> dict[str | None, int]:
    """What the seed's entries of one movement hold, per funder."""
    mark = SEED_MARK.format(key=key)
    stmt = (
        select(
            LedgerEntry.funder_code,
            func.coalesce(func.sum(LedgerEntry.amount_delta_cents), 0),
        )
        .where(
            LedgerEntry.envelope_code == envelope_code,
            LedgerEntry.actor == SEED.sub,
            LedgerEntry.note.startswith(mark, autoescape=True),
        )
        .group_by(LedgerEntry.funder_code)
    )
    return {funder: int(amount) for funder, amount in await session.execute(stmt)}


def _envelope_differs(found: Envelope, payload: EnvelopeCreate) -> bool:
    plain = payload.model_dump(exclude={"tranches", "rules", "themes"})
    return (
        _differs(found, plain)
        or envelopes.rules_of(found) != payload.rules
        or sorted(t.theme for t in found.themes) != sorted(set(payload.themes))
    )


def _apply(found: Envelope, payload: EnvelopeCreate) -> None:
    for name, value in payload.model_dump(exclude={"tranches", "rules", "themes"}).items():
        setattr(found, name, value)
    envelopes.set_rules(found, payload.rules)
    envelopes.set_themes(found, payload.themes)
    found.version += 1
    found.updated_at = clock.now()
