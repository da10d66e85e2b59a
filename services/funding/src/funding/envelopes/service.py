"""Envelopes and their annual tranches. Every change of a tranche's amount is a ledger entry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from funding import events, rules
from funding.access import check_operates
from funding.envelopes import checks, queries, reads
from funding.ledger import entries
from funding.ledger import service as ledger
from funding.ledger.entries import Actor
from funding.models import Envelope, EnvelopeTheme, Tranche
from funding.references import Owners
from funding.schemas import (
    Adjustment,
    EnvelopeCreate,
    EnvelopeRead,
    EnvelopeUpdate,
    Rules,
    TrancheCreate,
    TrancheRead,
)
from tdi_kit import clock
from tdi_kit.auth import Caller
from tdi_kit.conditional import check_if_match
from tdi_kit.documents import etag_of
from tdi_kit.errors import Conflict, NotFound, Unprocessable, or_not_found
from tdi_kit.pagination import ListParams, parse_sort, read_page
from tdi_kit.rowreader import InSession, RowReader

# Each of an envelope's rules and the column that holds it: the same name but for `text`.
_RULE_COLUMNS = {name: name for name in Rules.model_fields} | {"text": "rules_text"}


def rules_of(envelope: Envelope) -> Rules:
    return Rules(**{name: getattr(envelope, column) for name, column in _RULE_COLUMNS.items()})


def set_rules(envelope: Envelope, rules: Rules) -> None:
    for name, column in _RULE_COLUMNS.items():
        setattr(envelope, column, getattr(rules, name))


def set_themes(envelope: Envelope, themes: Sequence[str]) -> None:
    # Change the rows that differ only: deleting and re-inserting one key in a flush collides.
    wanted = list(dict.fromkeys(themes))
    for row in [t for t in envelope.themes if t.theme not in wanted]:
        envelope.themes.remove(row)
    held = {t.theme for t in envelope.themes}
    envelope.themes.extend(EnvelopeTheme(theme=t) for t in wanted if t not in held)
    envelope.theme_set = theme_set(wanted)


def theme_set(themes: Sequence[str]) -> str:
    return ",".join(sorted(set(themes)))


async def read(session: AsyncSession, envelope: Envelope) -> EnvelopeRead:
    """What a write answers: the rows it has flushed, rendered as a read renders its own."""
    return await reads.by_code(InSession(session), envelope.code)


async def envelopes(
    rows: RowReader, *, params: ListParams, filters: dict[str, object]
) -> tuple[list[EnvelopeRead], str | None, int]:
    """A page of envelopes through the driver: three statements whatever its size."""
    sort = parse_sort(
        params.sort, allowed=queries.SORTABLE, default="code", unique=("code", Envelope.code)
    )
    stmt, values = queries.kept_list(filters)
    page = await read_page(rows, stmt, sort=sort, params=params, values=values)
    return await reads.render(rows, page.rows), page.next_cursor, page.total


async def envelope(session: AsyncSession, *, code: str, for_update: bool = False) -> Envelope:
    """The envelope; `for_update`: locked until the transaction ends and read afresh, so that
    a write compares If-Match with the version no other writer can change under it."""
    return or_not_found(
        await (queries.lock if for_update else queries.by_code)(session, code), "envelope", code
    )


async def check_nesting(session: AsyncSession, envelope: Envelope) -> None:
    """A part never holds more than the whole: the parts of an envelope (its own and its
    parent's) add up to no more than its amount, so that the parent's figure holds them all."""
    for whole_code in filter(None, {envelope.code, envelope.part_of}):
        parts = (await queries.parts_of(session, [whole_code])).get(whole_code, [])
        if not parts:
            continue
        amounts = await ledger.amounts_by_envelope(session, [whole_code, *parts])
        rules.check_parts_fit(
            whole_code,
            parts,
            whole_cents=amounts.get(whole_code, 0),
            held_cents=sum(amounts.get(p, 0) for p in parts),
        )


async def create(
    session: AsyncSession,
    *,
    caller: Caller,
    owners: Owners,
    payload: EnvelopeCreate,
    actor: Actor | None = None,
    is_demo: bool = False,
) -> Envelope:
    check_operates(caller, payload.operator_code, what="envelope")
    if await queries.by_code(session, payload.code) is not None:
        raise Conflict(f"Envelope {payload.code} already exists.", envelope_code=payload.code)
    years = [t.year for t in payload.tranches]
    if len(set(years)) != len(years):
        raise Unprocessable.field("body", "tranches", "one tranche per year")
    checks.check_years(payload.start_year, payload.end_year, checks.spans(payload.tranches))
    await checks.check_convention(session, payload.convention_code, payload.operator_code)
    await checks.check_part_of(session, payload.code, payload.part_of)
    await owners.check_organisation(payload.operator_code, field_name="operator_code")
    await checks.check_funders(
        owners, [t.funder_code for t in payload.tranches], field_name="tranches.funder_code"
    )
    if payload.rules.examined_by:
        await owners.check_organisation(payload.rules.examined_by, field_name="rules.examined_by")
    created = await insert(
        session, payload=payload, actor=actor or Actor.of(caller), is_demo=is_demo
    )
    await check_nesting(session, created)
    return created


# The columns an envelope takes as they were sent: all but the rules, themes and tranches, which
# are stored apart.
_COPIED = sorted(EnvelopeCreate.model_fields.keys() - {"rules", "themes", "tranches"})


async def insert(
    session: AsyncSession, *, payload: EnvelopeCreate, actor: Actor, is_demo: bool = False
) -> Envelope:
    """Store a checked envelope with its tranches, each endowment a ledger entry."""
    envelope = Envelope(
        **{name: getattr(payload, name) for name in _COPIED},
        theme_set=theme_set(payload.themes),
        is_demo=is_demo,
        version=1,
        themes=[EnvelopeTheme(theme=t) for t in dict.fromkeys(payload.themes)],
        tranches=[],
    )
    set_rules(envelope, payload.rules)
    session.add(envelope)
    await session.flush()
    for t in payload.tranches:
        await open_tranche(session, envelope, t, actor=actor)
    await session.refresh(envelope, ["tranches"])
    await events.emit_versioned(
        session, "envelope.created", envelope, await read(session, envelope), actor_org=actor.org
    )
    return envelope


async def open_tranche(
    session: AsyncSession, envelope: Envelope, payload: TrancheCreate, *, actor: Actor
) -> Tranche:
    tranche = Tranche(
        envelope_code=envelope.code,
        year=payload.year,
        last_year=payload.last_year,
        note=payload.note,
        amount_cents=payload.amount_cents,
        committed_cents=0,
        disbursed_cents=0,
    )
    session.add(tranche)
    await session.flush()
    if payload.amount_cents:
        note = f"tranche {payload.year} opened"
        await _endow(
            session, envelope, tranche, actor, payload.amount_cents, note, payload.funder_code
        )
    return tranche


async def _endow(
    session: AsyncSession,
    envelope: Envelope,
    tranche: Tranche,
    actor: Actor,
    amount_cents: int,
    note: str,
    funder_code: str | None,
    effective_on: dt.date | None = None,
) -> None:
    """Money put into one of the envelope's tranches (a cut: taken out), in the ledger: the
    envelope's operator's movement, demo when the envelope is; without `effective_on`, from
    its recording."""
    movement = entries.endowment(
        actor=actor,
        tranche=tranche,
        operator_code=envelope.operator_code,
        amount_cents=amount_cents,
        note=note,
        is_demo=envelope.is_demo,
        funder_code=funder_code,
        effective_on=effective_on,
    )
    await ledger.append(session, [movement])


async def update(
    session: AsyncSession,
    *,
    caller: Caller,
    owners: Owners,
    code: str,
    payload: EnvelopeUpdate,
    if_match: str | None,
) -> Envelope:
    # Locked before If-Match is compared: two writers with one ETag queue, and the second
    # sees the first's version (412) instead of overwriting it.
    found = await envelope(session, code=code, for_update=True)
    check_operates(caller, found.operator_code, what="envelope")
    check_if_match(if_match, etag_of(await read(session, found)), what="envelope")
    changes = payload.model_dump(exclude_unset=True)
    if "convention_code" in changes:
        await checks.check_convention(session, payload.convention_code, found.operator_code)
        found.convention_code = payload.convention_code
    if "part_of" in changes:
        await checks.check_part_of(session, found.code, payload.part_of)
        found.part_of = payload.part_of
    if payload.rules is not None:
        if payload.rules.examined_by and payload.rules.examined_by != found.examined_by:
            await owners.check_organisation(
                payload.rules.examined_by, field_name="rules.examined_by"
            )
        set_rules(found, payload.rules)
    if payload.themes is not None:
        set_themes(found, payload.themes)
    for name in ("name", "description", "sources", "start_year", "end_year"):
        if name in changes and changes[name] is not None:
            setattr(found, name, changes[name])
    checks.check_years(found.start_year, found.end_year, checks.spans(found.tranches))
    found.version += 1
    found.updated_at = clock.now()
    await session.flush()
    await check_nesting(session, found)
    await events.emit_versioned(
        session,
        "envelope.changed",
        found,
        await read(session, found),
        actor_org=caller.org,
        changed=sorted(changes),
    )
    return found


async def add_tranche(
    session: AsyncSession, *, caller: Caller, owners: Owners, code: str, payload: TrancheCreate
) -> TrancheRead:
    found = await envelope(session, code=code)
    check_operates(caller, found.operator_code, what="envelope")
    if any(t.year == payload.year for t in found.tranches):
        raise Conflict(f"Envelope {code} already has a tranche for {payload.year}.")
    checks.check_years(
        found.start_year, found.end_year, [*checks.spans(found.tranches), *checks.spans([payload])]
    )
    await checks.check_funders(owners, [payload.funder_code], field_name="funder_code")
    opened = await open_tranche(session, found, payload, actor=Actor.of(caller))
    await session.refresh(found, ["tranches"])
    await check_nesting(session, found)
    answer = await reads.tranche(InSession(session), code=code, year=opened.year)
    await events.emit_read(
        session,
        "tranche.opened",
        events.tranche_id(found, opened.year),
        answer,
        actor_org=caller.org,
    )
    return answer


async def adjust(
    session: AsyncSession,
    *,
    caller: Caller | None,
    code: str,
    year: int,
    payload: Adjustment,
    owners: Owners | None = None,
    actor: Actor | None = None,
) -> TrancheRead:
    """A top-up or a cut; a cut never goes below what is committed, nor below what the
    envelope's parts hold, and a part's top-up never beyond its whole."""
    found = await envelope(session, code=code)
    if caller is not None:
        check_operates(caller, found.operator_code, what="envelope")
    if owners is not None:
        await checks.check_funders(owners, [payload.funder_code], field_name="funder_code")
    target = next((t for t in found.tranches if t.year == year), None)
    if target is None:
        raise NotFound("tranche", f"{year} of envelope {code}")
    locked = (await queries.lock_tranches(session, [target.id]))[target.id]
    locked.amount_cents = rules.check_adjustment(locked, delta_cents=payload.delta_cents)
    # The seed passes its actor, a request its caller: one of the two is always set, which
    # mypy cannot follow.
    who = actor or Actor.of(caller)  # type: ignore[arg-type]
    await _endow(
        session,
        found,
        locked,
        who,
        payload.delta_cents,
        payload.reason,
        payload.funder_code,
        payload.effective_on,
    )
    await session.flush()
    await check_nesting(session, found)
    answer = await reads.tranche(InSession(session), code=code, year=year)
    await events.emit_read(
        session,
        "tranche.adjusted",
        events.tranche_id(code, year),
        answer,
        actor_org=who.org,
        changed=["amount_cents"],
    )
    return answer
