"""The event types a subscription may name: the suite's, each service's `EVENT_TYPES`.

The registry does not import its siblings' code for anything else: their catalogues are read
where they are installed (the suite ships as one image), so that a subscription to a type that
does not exist is refused when it is written, not silently never delivered.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from functools import cache

from tdi_kit.errors import Unprocessable

SERVICES = ("registry", "funding", "contracts")


@cache
def suite_event_types() -> Mapping[str, str]:
    known: dict[str, str] = {}
    for service in SERVICES:
        try:
            module = importlib.import_module(f"{service}.events")
        except ImportError:
            continue
        known.update(getattr(module, "EVENT_TYPES", {}))
    return known


def check_patterns(patterns: Iterable[str], known: Mapping[str, str]) -> list[str]:
    """`patterns` without repeats, each an exact known type or `<kind>.*` of a known kind."""
    kinds = {name.split(".", 1)[0] for name in known}
    checked: list[str] = []
    for index, pattern in enumerate(patterns):
        kind, _, what = pattern.partition(".")
        if (what == "*" and kind not in kinds) or (what != "*" and pattern not in known):
            raise Unprocessable.field(
                "body",
                f"event_types.{index}",
                f"unknown event type {pattern!r} (see GET /api/v1/events' `type` parameter)",
            )
        if pattern not in checked:
            checked.append(pattern)
    return checked


def matches(patterns: Iterable[str], event_type: str) -> bool:
    kind = event_type.split(".", 1)[0]
    return any(p == event_type or p == f"{kind}.*" for p in patterns)
