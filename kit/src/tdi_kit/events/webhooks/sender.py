"""One attempt: POST the signed event to the checked address, within a time limit."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass

import httpx

from tdi_kit.events.webhooks.signing import signed_headers
from tdi_kit.events.webhooks.targets import Resolver, UnsafeTarget, resolve, system_resolver

ERROR_CHARS = 500


@dataclass(frozen=True)
class Attempt:
    """What an attempt came to: `delivered` on any 2xx."""

    delivered: bool
    status_code: int | None
    latency_ms: int
    error: str | None


def _trim(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"


async def send(
    http: httpx.AsyncClient,
    *,
    url: str,
    secret: str,
    message_id: str,
    body: str,
    time_limit: float,
    require_https: bool,
    allow_private: bool,
    resolver: Resolver = system_resolver,
) -> Attempt:
    """POST `body` to `url`, signed; never raises for what the receiver or the network does."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        async with asyncio.timeout(time_limit):
            target = await resolve(
                url, require_https=require_https, allow_private=allow_private, resolver=resolver
            )
            request_url = httpx.URL(url)
            host_header = request_url.netloc.decode("ascii")
            # Connect to the address that was checked, not to whatever the name resolves to
            # by the time the connection opens; the certificate is still checked for the name.
            pinned = request_url.copy_with(host=target.address)
            headers = {
                "content-type": "application/json",
                "user-agent": "tdi-webhooks/1",
                "host": host_header,
                **signed_headers(
                    secret, message_id=message_id, body=body, at=dt.datetime.now(dt.UTC)
                ),
            }
            extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
            request = http.build_request(
                "POST", pinned, content=body.encode(), headers=headers, extensions=extensions
            )
            response = await http.send(request, stream=True)
            try:
                status = response.status_code
                if 200 <= status < 300:
                    return Attempt(True, status, elapsed(), None)
                # A little of the answer says why; never more (a receiver may answer forever).
                excerpt = b""
                async for chunk in response.aiter_raw():
                    excerpt += chunk
                    if len(excerpt) >= ERROR_CHARS:
                        break
                text = excerpt.decode("utf-8", "replace")
                return Attempt(False, status, elapsed(), _trim(f"HTTP {status}: {text}"))
            finally:
                await response.aclose()
    except UnsafeTarget as exc:
        return Attempt(False, None, elapsed(), _trim(f"target refused: {exc}"))
    except TimeoutError:
        return Attempt(False, None, elapsed(), f"no answer within {time_limit:g} s")
    except httpx.HTTPError as exc:
        return Attempt(False, None, elapsed(), _trim(f"{type(exc).__name__}: {exc}"))
