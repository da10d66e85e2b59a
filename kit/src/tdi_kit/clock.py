"""The one clock of every service: UTC, and settable by tests (`frozen`) instead of sleeping.

Every timestamp a service writes comes from `now()` (or `now_to_second()` for the records whose
served documents show seconds), so that a test can fix the time of a whole request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

from pydantic import AfterValidator, Field


def _system() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_source: Callable[[], dt.datetime] = _system


def now() -> dt.datetime:
    """The current time, in UTC."""
    return _source()


def now_to_second() -> dt.datetime:
    """The current time in UTC without its microseconds (what the served documents show)."""
    return _source().replace(microsecond=0)


def today() -> dt.date:
    return _source().date()


def utc(moment: dt.datetime) -> dt.datetime:
    """SQLite hands timestamps back without their zone; they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _in_utc(moment: dt.datetime) -> dt.datetime:
    return utc(moment).astimezone(dt.UTC)


# Every timestamp of every answer: RFC 3339 in UTC, spelt with `Z` (`2024-03-18T09:30:00Z`),
# whatever zone the driver handed back (SQLite: none; PostgreSQL: the session's).
Timestamp = Annotated[
    dt.datetime,
    AfterValidator(_in_utc),
    Field(description="RFC 3339, in UTC (`Z`).", examples=["2024-03-18T09:30:00Z"]),
]


def rfc3339(moment: dt.datetime) -> str:
    """`moment` as every answer spells a timestamp (JSON and CSV): `2024-03-18T09:30:00Z`."""
    return _in_utc(moment).isoformat().replace("+00:00", "Z")


def set_clock(source: Callable[[], dt.datetime] | None) -> None:
    """Read the time from `source` from now on (None: the system clock again)."""
    global _source
    _source = source or _system


@contextmanager
def frozen(at: dt.datetime) -> Iterator[Callable[[dt.timedelta], None]]:
    """Stop the clock at `at` (an aware datetime) for the block; the yielded `advance(delta)`
    moves it on, for a test that needs time to pass without sleeping."""
    if at.tzinfo is None:
        raise ValueError("freeze the clock at an aware datetime (UTC)")
    moment = [at.astimezone(dt.UTC)]

    def advance(delta: dt.timedelta) -> None:
        moment[0] += delta

    set_clock(lambda: moment[0])
    try:
        yield advance
    finally:
        set_clock(None)
