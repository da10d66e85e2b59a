"""What an envelope must be when written: its period holds its tranches, one tranche per year,
its convention is its operator's, its parent exists without a cycle, and its organisations are
known to the registry. The money rules (nesting amounts, cuts) are `funding.rules`'."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from funding.conventions import queries as conventions
from funding.envelopes import queries
from funding.models import Tranche
from funding.references import Owners
from funding.schemas import COLLECTIVE_FUNDERS, TrancheCreate
from tdi_kit.errors import Unprocessable


async def check_convention(
    session: AsyncSession, convention_code: str | None, operator_code: str
) -> None:
    if convention_code is None:
        return
    convention = await conventions.by_code(session, convention_code)
    if convention is None:
        raise Unprocessable.field("body", "convention_code", f"no convention {convention_code!r}")
    if convention.operator_code != operator_code:
        raise Unprocessable.field(
            "body",
            "convention_code",
            f"convention {convention_code} is {convention.operator_code}'s, not {operator_code}'s",
        )


def check_years(start: int, end: int, spans: list[tuple[int, int | None]]) -> None:
    """Every tranche within the period, and no year in two tranches."""
    if start > end:
        raise Unprocessable.field("body", "end_year", "the period ends before it starts")
    outside = sorted(y for y, last in spans if not start <= y <= (last or y) <= end)
    if outside:
        raise Unprocessable.field(
            "body", "tranches", f"tranches from {outside} fall outside {start}-{end}"
        )
    covered: dict[int, int] = {}
    for year, last in sorted(spans):
        for y in range(year, (last or year) + 1):
            if y in covered:
                raise Unprocessable.field(
                    "body",
                    "tranches",
                    f"year {y} falls in the tranches of {covered[y]} and of {year}: "
                    "a year's money belongs to one tranche",
                )
            covered[y] = year


def spans(tranches: Sequence[Tranche | TrancheCreate]) -> list[tuple[int, int | None]]:
    return [(t.year, t.last_year) for t in tranches]


async def check_funders(owners: Owners, codes: Sequence[str | None], *, field_name: str) -> None:
    for code in dict.fromkeys(c for c in codes if c is not None):
        if code not in COLLECTIVE_FUNDERS:
            await owners.check_organisation(code, field_name=field_name)


async def check_part_of(session: AsyncSession, code: str, part_of: str | None) -> None:
    """The parent exists and the nesting has no cycle."""
    if part_of is None:
        return
    seen = {code}
    current: str | None = part_of
    while current is not None:
        if current in seen:
            raise Unprocessable.field(
                "body", "part_of", f"envelope {code} cannot be part of itself (through {current})"
            )
        seen.add(current)
        parent = await queries.by_code(session, current)
        if parent is None:
            raise Unprocessable.field("body", "part_of", f"no envelope {current!r}")
        current = parent.part_of
