"""The contracts' and the actions' lists: pages of stored documents, read one way.

Both lists sort on columns of their own with the id last (keyset paging stays exact), and read a
page through the driver with the list's kept statement for its shape of filters
(`queries.kept_list`); only the table, its filters and its sorts differ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select

from contracts.contracts.queries import kept_list
from contracts.models import Action, Contract
from tdi_kit.pagination import ListParams, RowsPage, Sort, parse_sort, read_page
from tdi_kit.rowreader import RowReader


@dataclass(frozen=True)
class DocumentList:
    """One list: its name (the key of its kept statements), its table, its `filtered` (the
    list's query's filters, named as the route gives them), its sorts and default sort."""

    name: str
    model: type[Contract] | type[Action]
    filtered: Callable[..., Select[Any]]
    sortable: dict[str, Any]
    default_sort: str
    columns: tuple[Any, ...] = ()

    def sort_for(self, params: ListParams) -> Sort:
        return parse_sort(
            params.sort,
            allowed=self.sortable,
            default=self.default_sort,
            unique=("id", self.model.id),
        )

    async def page(
        self, rows: RowReader, *, params: ListParams, filters: dict[str, Any]
    ) -> RowsPage:
        """A page of stored documents (and their ETags) and the total, through the driver."""
        stmt, values = kept_list(self.name, self._documents, filters)
        return await read_page(rows, stmt, sort=self.sort_for(params), params=params, values=values)

    def _documents(self, **filters: Any) -> Select[Any]:
        return self.filtered(select(*(self.columns or (self.model.document,))), **filters)
