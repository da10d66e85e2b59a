"""The answer every list route gives: every row as CSV (`format=csv`), else one page as JSON
with its `Link: rel="next"`; the page's JSON joined from its items' own, never decoded and
encoded again. Reading the page is `tdi_kit.pagination`'s (which re-exports these).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import orjson
from fastapi import Request, Response
from pydantic import BaseModel

from tdi_kit.conditional import etag_for, none_match
from tdi_kit.csvexport import csv_response
from tdi_kit.query import declared_query

if TYPE_CHECKING:
    # Only a type here: tdi_kit.pagination imports this module.
    from tdi_kit.pagination import ListParams

__all__ = [
    "documents_answer",
    "list_answer",
    "next_link",
    "page_json",
    "page_response",
]


def next_link(request: Request, response: Response, next_cursor: str | None) -> None:
    """`Link: <...>; rel="next"`: the route's own query parameters as it read them, and the cursor.

    Only the parameters the route declares are carried, each as the route read it (the last of
    repeated values): a caller's unknown or repeated parameters are never echoed into a header,
    where a long one would make the answer one that proxies refuse. The target is a relative
    reference, built on no `Host`: the gateway makes it absolute on its public base URL.
    """
    if not next_cursor:
        return
    query = request.query_params
    params: list[tuple[str, str]] = []
    for name, repeated in declared_query(request.scope.get("route")).items():
        if name == "cursor":
            continue
        if repeated:
            params.extend((name, value) for value in query.getlist(name))
        elif (value := query.get(name)) is not None:
            params.append((name, value))
    params.append(("cursor", next_cursor))
    path = quote(request.scope.get("root_path", "") + request.scope["path"], safe="/")
    response.headers["Link"] = f'<{path}?{urlencode(params)}>; rel="next"'


def list_answer(
    request: Request,
    response: Response,
    params: ListParams,
    items: Sequence[Any],
    next_cursor: str | None,
    total: int,
    *,
    model: type[BaseModel],
    filename: str,
    columns: Sequence[str] | None = None,
    row: Callable[[Any], Mapping[str, Any]] | None = None,
) -> Any:
    """What every list route answers: every row as CSV (`format=csv`), else one page of `model`
    with its `Link: rel="next"`. `items` are `model`s or records it reads (`from_attributes`);
    CSV columns default to the model's fields, rows to the item read as `model`."""
    if params.format == "csv":
        return csv_response(
            (row(item) if row else model.model_validate(item).model_dump() for item in items),
            columns=list(columns or model.model_fields),
            filename=filename,
        )
    # The page's JSON from each item's own (pydantic's serializer, in Rust), not a Page model
    # validated again and encoded by the framework: what the route declares as
    # `response_model=Page[model]` is what is sent, at a fraction of the cost.
    documents = [
        (item if isinstance(item, model) else model.model_validate(item)).model_dump_json()
        for item in items
    ]
    headers = {k: v for k, v in response.headers.items() if k != "content-length"}
    return documents_answer(
        request,
        params,
        documents,
        next_cursor,
        total,
        filename=filename,
        columns=(),
        row=dict,
        headers=headers,
    )


def page_json(
    documents: Sequence[str],
    next_cursor: str | None,
    total: int,
    *,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """A `Page` as JSON from its items' own JSON, joined as they are (not decoded and encoded
    again); `extra` adds members after `total`."""
    return (
        '{"items":['
        + ",".join(documents)
        + '],"next_cursor":'
        + orjson.dumps(next_cursor).decode()
        + ',"total":'
        + str(int(total))
        + "".join(
            f",{orjson.dumps(k).decode()}:{orjson.dumps(v).decode()}"
            for k, v in (extra or {}).items()
        )
        + "}"
    )


def page_response(
    request: Request, documents: Sequence[str], next_cursor: str | None, total: int
) -> Response:
    """One page of items given as JSON, with its `Link: rel="next"`: a list that is always
    JSON (no CSV export), served without validating a `Page` model again."""
    response = Response(page_json(documents, next_cursor, total), media_type="application/json")
    next_link(request, response, next_cursor)
    return response


def documents_answer(
    request: Request,
    params: ListParams,
    documents: Sequence[str],
    next_cursor: str | None,
    total: int,
    *,
    filename: str,
    columns: Sequence[str],
    row: Callable[[Any], Mapping[str, Any]],
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    etags: Sequence[str] | None = None,
) -> Response:
    """A list of stored documents: CSV rows from each decoded document (`row`), else one page
    whose items are the stored JSON joined as they are, not decoded and encoded again; `extra`
    adds members to the page (after `total`). `etags`, each document's stored ETag, give the
    page its ETag without hashing its bytes again (`_page_etag`)."""
    if params.format == "csv":
        return csv_response(
            (row(orjson.loads(d)) for d in documents), columns=columns, filename=filename
        )
    body = page_json(documents, next_cursor, total, extra=extra)
    response = Response(body, media_type="application/json", headers=dict(headers or {}))
    next_link(request, response, next_cursor)
    if etags is None or extra is not None:
        return response
    # The ETag `tdi_kit.conditional`'s middleware would give (it leaves an answer that has one
    # alone), and its 304 to a matching If-None-Match, with the same headers.
    etag = _page_etag(body, (tuple(etags), next_cursor, total))
    response.headers["etag"] = etag
    if none_match(request.headers.get("if-none-match"), etag):
        kept = {k: v for k, v in response.headers.items() if k in ("etag", "link")}
        return Response(status_code=304, headers=kept)
    return response


# Pages' ETags by what their bytes are made of: each document's stored ETag (the hash of its
# JSON, `tdi_kit.documents`), the next cursor, the total. The same documents make the same
# bytes, so a page read again is not hashed again: 100 actions are 130 KB, whose hash cost a
# fifth of the page.
_PAGE_ETAGS: OrderedDict[tuple[Any, ...], str] = OrderedDict()
_PAGE_ETAGS_KEPT = 256


def _page_etag(body: str, made_of: tuple[Any, ...]) -> str:
    etag = _PAGE_ETAGS.get(made_of)
    if etag is None:
        etag = _PAGE_ETAGS[made_of] = etag_for(body.encode())
        if len(_PAGE_ETAGS) > _PAGE_ETAGS_KEPT:
            _PAGE_ETAGS.popitem(last=False)
    return etag
