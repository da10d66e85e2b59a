"""Where the webhooks dispatcher reads events from: the services' feeds or a broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from tdi_kit.events.schema import EventRead


class EventSource(Protocol):  # kit/src/tdi_kit/events/source.py (helper hook owns this file)
    async def batches(self) -> AsyncIterator[list[EventRead]]: ...  # waits for new events
    async def ack(self, events: list[EventRead]) -> None: ...  # processed: never again
