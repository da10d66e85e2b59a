"""A read model's columns, for reads through the driver (`tdi_kit.rowreader`).

A list or a read by key that serves a record's own columns (and a few computed ones, such as a
name from a copied table) needs no ORM object: it selects the columns the read model names and
validates each row as the model. `ReadColumns` keeps the two in step, so that the statement and
the model cannot drift apart (a field the table lacks is an error when the service imports):

    DISBURSEMENT = ReadColumns.of(DisbursementRead, Disbursement.__table__)
    page = await read_page(rows, select(*DISBURSEMENT.columns).where(...), sort=..., params=...)
    items = DISBURSEMENT.read_all(page.rows)
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import ColumnElement, FromClause

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class ReadColumns(Generic[M]):
    """The columns that read `model`, in the order of `names`."""

    model: type[M]
    columns: tuple[ColumnElement[Any], ...]
    names: tuple[str, ...]

    @classmethod
    def of(
        cls, model: type[M], table: FromClause, **computed: ColumnElement[Any]
    ) -> ReadColumns[M]:
        """Each field of `model` from the column of its name in `table`, or from `computed`
        (labelled with the field's name: a correlated scalar subquery, say)."""
        columns: list[ColumnElement[Any]] = []
        for name in model.model_fields:
            if name in computed:
                columns.append(computed[name].label(name))
            elif name in table.c:
                columns.append(table.c[name])
            else:
                raise LookupError(f"{model.__name__}.{name}: no column {table.description}.{name}")
        return cls(model, tuple(columns), tuple(model.model_fields))

    def read(self, row: Sequence[Any]) -> M:
        """One row of `columns` as the model (validated: the model's own types apply)."""
        return self.model.model_validate(dict(zip(self.names, row, strict=True)))

    def read_all(self, rows: Iterable[Sequence[Any]]) -> list[M]:
        """Every row as the model, validated in one call (a page of 100 in a fraction of the
        time 100 calls take)."""
        names = self.names
        return self._many.validate_python([dict(zip(names, row, strict=True)) for row in rows])

    @functools.cached_property
    def _many(self) -> TypeAdapter[list[M]]:
        return TypeAdapter(list[self.model])  # type: ignore[name-defined]
