"""The query parameters a route declares, and the refusal of any other (a typo never passes).

A filter misspelt (`?regoin=27`) used to be ignored, so the caller got every row and believed
it filtered. Every app of the suite adds `reject_unknown_query` to all its routes: a parameter
the route does not declare, in any case but its own (`Phase` is not `phase`), is a 400 problem
naming it, and so is a parameter that takes one value given several times (`?phase=1&phase=2`
would silently keep the last). The gateway passes a query through to the service unchanged,
which answers the same problem.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections import Counter
from typing import Annotated, Any

from fastapi import Request

from tdi_kit.errors import BadRequest, FieldError

_DECLARED: dict[Any, dict[str, bool]] = {}


class UnknownQueryParameter(BadRequest):
    slug = "unknown-query-parameter"


def declared_query(route: Any) -> dict[str, bool]:
    """The query parameters `route` declares, each mapped to whether it takes several values."""
    # Routes compare by value and are not hashable; their endpoint functions are.
    key = (getattr(route, "endpoint", None), getattr(route, "path", None))
    declared = _DECLARED.get(key)
    if declared is None:
        declared = {}
        pending = [getattr(route, "dependant", None)]
        while pending:
            dependant = pending.pop()
            if dependant is None:
                continue
            for field in dependant.query_params:
                declared[field.alias] = _is_sequence(field.field_info.annotation)
            pending.extend(dependant.dependencies)
        _DECLARED[key] = declared
    return declared


def _is_sequence(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, Annotated):
        return any(_is_sequence(arg) for arg in typing.get_args(annotation))
    return origin in (list, tuple, set, frozenset) or annotation in (list, tuple, set, frozenset)


async def reject_unknown_query(request: Request) -> None:
    """400 naming each query parameter the route does not take, or takes once but got twice."""
    if not request.scope.get("query_string"):
        return
    route = request.scope.get("route")
    if route is not None and not getattr(route, "include_in_schema", True):
        # Not an operation of the API: a web page (the gateway's `/?region=27` is read by the
        # page's script) or the documentation, which ignore what they do not read.
        return
    declared = declared_query(route)
    counts = Counter(name for name, _ in request.query_params.multi_items())
    errors = []
    for name, count in counts.items():
        if name not in declared:
            shown = name if len(name) <= 64 else name[:64] + "…"
            errors.append(
                FieldError(
                    location="query", field=shown, message=_unknown(name, declared), type="unknown"
                )
            )
        elif count > 1 and not declared[name]:
            errors.append(
                FieldError(
                    location="query",
                    field=name,
                    message=f"given {count} times; it takes one value",
                    type="repeated",
                )
            )
    if errors:
        names = ", ".join(error.field for error in errors)  # values are never echoed
        raise UnknownQueryParameter(
            f"Query parameters this operation does not take, or takes once: {names}.",
            errors=errors,
        )


def _unknown(name: str, declared: dict[str, bool]) -> str:
    takes = ", ".join(sorted(declared)) or "none"
    lowered = {known.lower(): known for known in declared}
    close = lowered.get(name.lower()) or next(
        iter(difflib.get_close_matches(name, list(declared), n=1, cutoff=0.5)), None
    )
    hint = f"did you mean {close!r}? " if close else ""
    return f"not a parameter of this operation; {hint}it takes: {takes}"
