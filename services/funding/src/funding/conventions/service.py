"""Conventions de mobilisation: what each operator committed to the programme."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from funding import events
from funding.access import check_operates
from funding.conventions import queries
from funding.models import Convention
from funding.references import Owners, organisation_names
from funding.schemas import ConventionCreate, ConventionRead, ConventionUpdate
from tdi_kit import clock
from tdi_kit.auth import Caller
from tdi_kit.conditional import check_if_match
from tdi_kit.documents import etag_of
from tdi_kit.errors import Conflict, Unprocessable, or_not_found
from tdi_kit.pagination import ListParams, parse_sort, read_page
from tdi_kit.rowreader import RowReader


async def reads(session: AsyncSession, conventions: Sequence[Convention]) -> list[ConventionRead]:
    """Conventions as served, their operators' names read in one query (per page)."""
    names = await organisation_names(session, [c.operator_code for c in conventions])
    return [
        ConventionRead.model_validate(c).model_copy(
            update={"operator_name": names.get(c.operator_code)}
        )
        for c in conventions
    ]


async def read(session: AsyncSession, convention: Convention) -> ConventionRead:
    """One convention as served: a write answers what a read answers (and the same ETag)."""
    return (await reads(session, [convention]))[0]


async def conventions(
    rows: RowReader, *, params: ListParams, operator: str | None, is_demo: bool | None = None
) -> tuple[list[ConventionRead], str | None, int]:
    """A page of conventions through the driver, names included: one statement."""
    sort = parse_sort(
        params.sort,
        allowed=queries.SORTABLE,
        default="code",
        unique=("code", queries.Convention.code),
    )
    stmt = queries.conventions(operator=operator, is_demo=is_demo)
    page = await read_page(rows, stmt, sort=sort, params=params)
    return queries.READ.read_all(page.rows), page.next_cursor, page.total


async def convention(rows: RowReader, *, code: str) -> ConventionRead:
    """One convention as served, through the driver."""
    found = await rows.all(queries.READ_BY_CODE, code=code)
    return queries.READ.read(or_not_found(found[0] if found else None, "convention", code))


async def create(
    session: AsyncSession, *, caller: Caller, owners: Owners, payload: ConventionCreate
) -> Convention:
    check_operates(caller, payload.operator_code, what="convention")
    if await queries.by_code(session, payload.code) is not None:
        raise Conflict(f"Convention {payload.code} already exists.", convention_code=payload.code)
    await owners.check_organisation(payload.operator_code, field_name="operator_code")
    convention = Convention(**payload.model_dump(), is_demo=False, version=1)
    session.add(convention)
    await _emit(session, "convention.created", convention, caller)
    return convention


async def update(
    session: AsyncSession,
    *,
    caller: Caller,
    code: str,
    payload: ConventionUpdate,
    if_match: str | None,
) -> Convention:
    convention = or_not_found(await queries.lock(session, code), "convention", code)
    check_operates(caller, convention.operator_code, what="convention")
    check_if_match(if_match, etag_of(await read(session, convention)), what="convention")
    changes = payload.model_dump(exclude_unset=True)
    for name, value in changes.items():
        setattr(convention, name, value)
    if (
        convention.period_start
        and convention.period_end
        and convention.period_start > convention.period_end
    ):
        raise Unprocessable.field("body", "period_end", "the period ends before it starts")
    convention.version += 1
    convention.updated_at = clock.now()
    await _emit(session, "convention.changed", convention, caller, changed=sorted(changes))
    return convention


async def _emit(
    session: AsyncSession,
    type_: str,
    convention: Convention,
    caller: Caller,
    changed: list[str] | None = None,
) -> None:
    """The write's event, carrying the convention as it now reads (flushed first)."""
    await session.flush()
    record = await read(session, convention)
    await events.emit_versioned(
        session, type_, convention, record, actor_org=caller.org, changed=changed
    )
