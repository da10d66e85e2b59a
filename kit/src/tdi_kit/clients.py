"""Calling another service of the suite to check a reference it owns.

A service never reads another's tables: it asks the owner. When the owner cannot answer, the
write that needed it fails with 503 and stores nothing (the caller's session rolls back).
"""

from __future__ import annotations

from typing import Any

import httpx

from tdi_kit.errors import BadGateway, ServiceUnavailable
from tdi_kit.observability import propagation_headers


class ServiceClient:
    """A small JSON client for one sibling service (`registry`, `contracts`, ...)."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        timeout: float = 3.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            transport=transport,
            # Between services the bytes cross a loopback or a cluster network: compressing
            # them would cost both sides CPU for nothing (httpx asks for gzip and br otherwise).
            headers={"Accept-Encoding": "identity"},
        )

    async def get(self, path: str, **params: Any) -> Any | None:
        """The JSON at `path`, or None when the owner answers 404."""
        try:
            response = await self.http.get(
                path, params=params or None, headers=propagation_headers()
            )
        except httpx.TimeoutException as exc:
            raise ServiceUnavailable(
                f"The {self.name} service did not answer in time.", service=self.name
            ) from exc
        except httpx.TransportError as exc:
            raise ServiceUnavailable(
                f"The {self.name} service cannot be reached.", service=self.name
            ) from exc
        if response.status_code == 404:
            return None
        if response.status_code >= 500:
            raise ServiceUnavailable(
                f"The {self.name} service failed ({response.status_code}).", service=self.name
            )
        if response.status_code != 200:
            raise BadGateway(
                f"The {self.name} service answered {response.status_code} to {path}.",
                service=self.name,
            )
        try:
            return response.json()
        except ValueError as exc:
            raise BadGateway(
                f"The {self.name} service answered malformed JSON.", service=self.name
            ) from exc

    async def exists(self, path: str) -> bool:
        return await self.get(path) is not None

    async def aclose(self) -> None:
        await self.http.aclose()
