"""The gateway's settings: environment variables prefixed `GATEWAY_` (`GATEWAY_FUNDING_URL`, ...).

Timeouts nest: each downstream call of an aggregate gets `call_timeout_seconds`, cut short by
what is left of `budget_seconds` for the whole request; a pass-through waits at most
`budget_seconds` of silence from the service (for its answer's head, then between chunks).
"""

from __future__ import annotations

import ipaddress
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from tdi_kit.settings import AppSettings


class GatewaySettings(AppSettings):
    """Environment variables prefixed `GATEWAY_`; the JWT settings are the services' own. The
    gateway owns no database, so it has no database settings."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_")

    service_name: str = "gateway"
    port: int = 8000

    registry_url: str = "http://127.0.0.1:8001"
    """The registry service."""
    funding_url: str = "http://127.0.0.1:8002"
    """The funding service."""
    contracts_url: str = "http://127.0.0.1:8003"
    """The contracts service."""

    connect_timeout_seconds: float = Field(1.0, gt=0)
    """Bound on opening a connection to a service."""
    call_timeout_seconds: float = Field(2.5, gt=0)
    """Bound on each call of an aggregate (cut short by what is left of the budget)."""
    budget_seconds: float = Field(4.0, gt=0)
    """Bound on a whole request; what is left of it goes to the service in
    `X-Request-Budget-Ms` (the services' own `REQUEST_TIMEOUT_SECONDS` stays below it)."""
    max_body_bytes: int = 8 * 1024 * 1024
    """The largest body any service takes (funding's bulk pushes); each service checks its own."""
    max_connections_per_service: int = Field(256, ge=1)
    """Keep-alive connections to each service (the pass-through's pool)."""

    breaker_failures: int = Field(5, ge=1)
    """Circuit breaker: this many failures in a row open it."""
    breaker_reset_seconds: float = Field(10.0, gt=0)
    """Circuit breaker: after this long open, one trial call is let through; its success
    closes it again."""

    rate_limit: str = "600/minute"
    """Per caller (token subject, else client address), in the `limits` notation:
    `600/minute`, `20/second;600/minute`. Empty turns rate limiting off."""
    redis_url: str | None = None
    """`redis://host:6379/0` shares the rate-limit counters between replicas; unset keeps them
    in memory."""

    public_base_url: str | None = None
    """Where the public reaches the gateway (`https://api.example.org`): `Link` and `Location`
    are built on it, never on the caller's `Host`; unset, they stay relative references."""
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Proxies in front of the gateway whose `X-Forwarded-For` names the real client: addresses
    or networks, comma-separated (`10.0.0.0/8,192.0.2.7`); empty: the peer is the client."""
    max_url_bytes: int = Field(8192, ge=256, le=65536)
    """The longest request target (path and query) taken; longer ones get 414."""

    readiness_probe_seconds: float = Field(1.0, gt=0)
    """How long the gateway's /readyz waits for each service's own /readyz (it reports, never
    fails, on a silent one): below the probes' timeouts (2 s in compose, 3 s on Kubernetes)."""

    openapi_cache_seconds: float = Field(60.0, ge=0)
    """How long the merged OpenAPI document is reused before the services are asked again."""

    @field_validator("public_base_url")
    @classmethod
    def _public_base_url(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("an absolute http(s) URL, such as https://api.example.org")
        if parts.query or parts.fragment:
            raise ValueError("a base URL has no query and no fragment")
        return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _trusted_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in value.replace(" ", ",").split(",") if part]
        if isinstance(value, list):
            for network in value:
                try:
                    ipaddress.ip_network(str(network), strict=False)
                except ValueError:
                    raise ValueError(f"{network!r} is not an address or a network") from None
        return value

    def service_urls(self) -> dict[str, str]:
        return {
            "registry": self.registry_url,
            "funding": self.funding_url,
            "contracts": self.contracts_url,
        }
