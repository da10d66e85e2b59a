"""What the aggregates keep between requests: each part's last answer and each document's last
bytes, so that what has not changed is neither sent, parsed nor assembled again.

A part is still asked every time (its service alone knows whether it changed, and what this
caller may see), but with `If-None-Match`: a 304 reuses the body kept for the same service,
path, parameters and `Authorization`. A document is a function of its parts' bytes, its path
and its route's parameters alone (the caller counts only through what the services answered
it): when every part answered with the ETags a kept document was built from, its bytes are sent
again. Both are bounded, the least recently used going first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# Per service, as the bytes it sent (parsed again only when a document is built anew): a
# territory's contracts with their actions are up to about 90 KB, most parts a few KB. As
# many as the documents, so that a document kept still has its parts kept.
PARTS_KEPT = 256
# As bytes: a dossier is 2-90 KB, a dashboard 25 KB. The 183 phase-2 territories' dossiers
# and the dashboards of the 18 Régions fit, for one kind of caller.
DOCUMENTS_KEPT = 256


class Kept(Generic[K, V]):
    """A bounded map, least recently used out first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
