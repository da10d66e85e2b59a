"""The addresses a webhook may be sent to: public ones, unless private targets are allowed.

A subscription's URL is checked when it is written and again at each attempt, after resolving
its host, and the attempt connects to the address that was checked (`sender`): a name that
resolved to a public address at creation and to 127.0.0.1 since (DNS rebinding) is refused then.
Refused: every address that is not globally routable (private, loopback, link-local and so the
cloud metadata service at 169.254.169.254, carrier-grade NAT, multicast, reserved, unspecified),
IPv4 written inside IPv6 included.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses it resolves to (injectable: tests resolve names to what they say).
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
RESOLVE_TIMEOUT_SECONDS = 5.0


class UnsafeTarget(ValueError):
    """A URL a webhook must not be sent to; the message says why."""


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    address: str  # the checked address the attempt connects to


async def system_resolver(host: str, port: int) -> Sequence[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [str(info[4][0]) for info in infos]


def _public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return _public(mapped)
    return address.is_global and not address.is_multicast


def check_url(url: str, *, require_https: bool) -> tuple[str, str, int]:
    """The scheme, host and port of a URL a webhook may take, before any resolution."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(f"not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTarget("must be an absolute http(s) URL")
    if require_https and parts.scheme != "https":
        raise UnsafeTarget("must use https")
    if parts.username or parts.password:
        raise UnsafeTarget("must not carry credentials")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve(
    url: str,
    *,
    require_https: bool,
    allow_private: bool,
    resolver: Resolver = system_resolver,
) -> Target:
    """The target of `url`, resolved and checked; `UnsafeTarget` when it may not be reached."""
    scheme, host, port = check_url(url, require_https=require_https)
    try:
        literal: Address | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        found = [str(literal)]
    else:
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
                found = list(await resolver(host, port))
        except (OSError, TimeoutError) as exc:
            raise UnsafeTarget(f"{host} does not resolve ({exc})") from None
    if not found:
        raise UnsafeTarget(f"{host} does not resolve")
    addresses = [ipaddress.ip_address(a.split("%")[0]) for a in found]
    if not allow_private:
        # Every address, not the first: a name that resolves to a public and a private address
        # could be answered by either.
        for address in addresses:
            if not _public(address):
                raise UnsafeTarget(
                    f"{host} resolves to {address}, a private, loopback, link-local or reserved "
                    "address"
                )
    return Target(url=url, scheme=scheme, host=host, port=port, address=str(addresses[0]))
