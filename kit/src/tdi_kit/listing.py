"""The one dependency a list route takes for its answer: the request, the response and the list
parameters, with the two ways to answer (a page of models, or of stored documents; CSV either way).

A list route is then its filters, one call of its service and one call of this: the three
parameters every list route passed along by hand live here once. The list parameters stay the
operation's query parameters, in the same place, so the OpenAPI documents do not change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from pydantic import BaseModel

from tdi_kit.listanswers import documents_answer, list_answer
from tdi_kit.pagination import ListParams, ListParamsDep, RowsPage


@dataclass(frozen=True)
class Listing:
    """What a list route answers with: `params` for its service, `page` or `documents` to answer."""

    request: Request
    response: Response
    params: ListParams

    def page(
        self,
        found: tuple[Sequence[Any], str | None, int],
        *,
        model: type[BaseModel],
        filename: str,
        columns: Sequence[str] | None = None,
        row: Callable[[Any], Mapping[str, Any]] | None = None,
    ) -> Any:
        """`list_answer` of what a service's list function found: (items, next cursor,
        total)."""
        items, next_cursor, total = found
        return list_answer(
            self.request,
            self.response,
            self.params,
            items,
            next_cursor,
            total,
            model=model,
            filename=filename,
            columns=columns,
            row=row,
        )

    def documents(
        self,
        page: RowsPage,
        *,
        filename: str,
        columns: Sequence[str],
        row: Callable[[Any], Mapping[str, Any]],
        extra: Mapping[str, Any] | None = None,
    ) -> Response:
        """`documents_answer` of a page of stored documents (its rows' first column, and their
        stored ETags when the rows have a second); `extra` adds members to the page."""
        return documents_answer(
            self.request,
            self.params,
            [r[0] for r in page.rows],
            page.next_cursor,
            page.total,
            filename=filename,
            columns=columns,
            row=row,
            extra=extra,
            etags=[r[1] for r in page.rows] if page.rows and len(page.rows[0]) > 1 else None,
        )


async def _listing(request: Request, response: Response, params: ListParamsDep) -> Listing:
    return Listing(request, response, params)


ListingDep = Annotated[Listing, Depends(_listing)]
