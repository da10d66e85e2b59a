"""Answers kept in memory under the register's data version, checked on every read.

The database gives `data_versions.register` a value it never gave before in the transaction
of every change to the tables an answer is computed from (migration 0006's triggers). A kept
answer is served only while the version it was computed under is still the database's: a read
costs one indexed row through the driver instead of the answer's statements, and a write
committed by any process is seen by the next read of every process. The version is read
before the answer is computed, so what is kept under it is at least as new as the data it
names; a change committed in between only makes the next read compute again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import bindparam, select

from registry.models import DataVersion
from tdi_kit.rowreader import RowReader

T = TypeVar("T")
REGISTER = "register"
VERSION = select(DataVersion.version).where(DataVersion.name == bindparam("name"))


async def version(rows: RowReader, name: str = REGISTER) -> int | None:
    found = await rows.one(VERSION, name=name)
    return None if found is None else int(found[0])


class Kept(Generic[T]):
    """The last `size` answers of each database, each under the key it answers and the version
    it was computed under; one entry per key (a newer version replaces it).

    Kept apart for each reader, that is each app's database: two databases (a test's apps) may
    stand at the same version with different data."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._by_reader: WeakKeyDictionary[RowReader, OrderedDict[Hashable, tuple[int, T]]] = (
            WeakKeyDictionary()
        )

    def clear(self) -> None:
        self._by_reader.clear()

    async def get(self, rows: RowReader, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        current = await version(rows)
        if current is None:  # no counter (a database not migrated to 0006): nothing is kept
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
