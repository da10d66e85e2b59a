"""Answers kept in memory under a data version of the database, checked on every read.

A service's migration creates `data_versions` and triggers that give a named row (`register`,
`funding`) a value never given before in the transaction of every change to the tables its
answers are computed from. A kept answer is served only while the version it was computed
under is still the database's: a read costs one indexed row through the driver instead of the
answer's statements, and a write committed by any process (or by hand in SQL) is seen by the
next read of every process. The version is read before the answer is computed, so what is kept
under it is at least as new as the data it names; a change committed in between only makes the
next read compute again.

    PAGES = KeptPages("funding", size=128)
    # In a route: `build` answers the page as before; `seen_as` tells callers' views apart.
    return await PAGES.answer(rows, request, params, build, seen_as=private_scope(caller))
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar
from weakref import WeakKeyDictionary

from fastapi import Request, Response
from sqlalchemy import BigInteger, Column, MetaData, String, Table, bindparam, select

from tdi_kit.conditional import etag_for, none_match
from tdi_kit.pagination import ListParams
from tdi_kit.rowreader import RowReader

T = TypeVar("T")
TABLE = "data_versions"
# The headers a kept page is sent again with: what its 304 keeps too (`ConditionalGetMiddleware`).
_KEPT_HEADERS = ("link", "vary", "cache-control")


def data_versions_table(metadata: MetaData) -> Table:
    """The counters each service that keeps answers adds to its own metadata (and creates, with
    the triggers that change them, in a migration)."""
    return Table(
        TABLE,
        metadata,
        Column("name", String(32), primary_key=True),
        Column("version", BigInteger, nullable=False),
    )


_VERSIONS = data_versions_table(MetaData())
VERSION = select(_VERSIONS.c.version).where(_VERSIONS.c.name == bindparam("name"))


async def version(rows: RowReader, name: str) -> int | None:
    """The database's version `name`; None when it has no such counter (not migrated yet)."""
    found = await rows.one(VERSION, name=name)
    return None if found is None else int(found[0])


class Kept(Generic[T]):
    """The last `size` answers of each database, each under the key it answers and the version
    `name` it was computed under; one entry per key (a newer version replaces it).

    Kept apart for each reader, that is each app's database: two databases (a test's apps) may
    stand at the same version with different data."""

    def __init__(self, name: str, size: int = 64) -> None:
        self.name = name
        self.size = size
        self._by_reader: WeakKeyDictionary[RowReader, OrderedDict[Hashable, tuple[int, T]]] = (
            WeakKeyDictionary()
        )

    def clear(self) -> None:
        self._by_reader.clear()

    async def get(self, rows: RowReader, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        current = await version(rows, self.name)
        if current is None:  # no such counter's row: nothing is kept
            return await compute()
        kept = self._by_reader.setdefault(rows, OrderedDict())
        found = kept.get(key)
        if found is not None and found[0] == current:
            kept.move_to_end(key)
            return found[1]
        value = await compute()
        kept[key] = (current, value)
        kept.move_to_end(key)
        while len(kept) > self.size:
            kept.popitem(last=False)
        return value


class KeptPages:
    """JSON pages of lists kept as sent (bytes, ETag, `Link`), under the data version `name`.

    A page is a function of the data, of the request's path and query string as the caller
    spelled them (its `Link` repeats them) and of what the caller may see (`seen_as`: None for
    what every caller sees, else whatever sets a caller's view apart, an organisation's code
    say). A CSV export is never kept: it streams every row."""

    def __init__(self, name: str, size: int = 64) -> None:
        self._kept: Kept[tuple[bytes, str, dict[str, str]]] = Kept(name, size)

    def clear(self) -> None:
        self._kept.clear()

    async def answer(
        self,
        rows: RowReader,
        request: Request,
        params: ListParams,
        build: Callable[[], Awaitable[Response]],
        *,
        seen_as: Hashable = None,
    ) -> Response:
        """The kept page this request asks for, else `build()`'s answer, kept; a 304 when the
        caller's If-None-Match names its ETag (the one the conditional middleware would give)."""
        if params.format == "csv":
            return await build()
        scope = request.scope
        key = (scope.get("root_path", ""), scope["path"], scope["query_string"], seen_as)

        async def render() -> tuple[bytes, str, dict[str, str]]:
            built = await build()
            body = bytes(built.body)
            kept = {k: v for k in _KEPT_HEADERS if (v := built.headers.get(k)) is not None}
            # A page of stored documents comes with the ETag of theirs; any other is hashed.
            return body, built.headers.get("etag") or etag_for(body), kept

        body, etag, headers = await self._kept.get(rows, key, render)
        if none_match(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers={"ETag": etag, **headers})
        return Response(body, media_type="application/json", headers={"ETag": etag, **headers})
