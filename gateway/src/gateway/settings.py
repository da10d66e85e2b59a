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
    funding_url: str = "http://127.0.0.1:8002"
    contracts_url: str = "http://127.0.0.1:8003"

    connect_timeout_seconds: float = Field(1.0, gt=0)
    call_timeout_seconds: float = Field(2.5, gt=0)
    budget_seconds: float = Field(4.0, gt=0)
    # The largest body any service takes (funding's bulk pushes); each service checks its own.
    max_body_bytes: int = 8 * 1024 * 1024
    # Keep-alive connections to each service (the pass-through's pool).
    max_connections_per_service: int = Field(256, ge=1)

    # Circuit breaker: this many failures in a row open it; after `breaker_reset_seconds` one
    # trial call is let through, and its success closes it again.
    breaker_failures: int = Field(5, ge=1)
    breaker_reset_seconds: float = Field(10.0, gt=0)

    # Per caller (token subject, else client address), in the `limits` notation: "600/minute",
    # "20/second;600/minute". Empty turns rate limiting off.
    rate_limit: str = "600/minute"
    # `redis://127.0.0.1:6379/0` shares the counters between replicas; unset keeps them in memory.
    redis_url: str | None = None

    # Where the public reaches the gateway (`https://api.territoires-industrie.example`): the
    # `Link` and `Location` of answers are built on it, never on the caller's `Host`. Unset, they
    # stay relative references (`</api/v1/territories?cursor=...>`), resolved by clients against
    # the URL they asked.
    public_base_url: str | None = None
    # Proxies in front of the gateway (load balancer, ingress controller) whose `X-Forwarded-For`
    # names the real client: addresses or networks, comma-separated (`10.0.0.0/8,192.0.2.7`).
    # Empty: the connection's peer is the client, and `X-Forwarded-For` is ignored.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The longest request target (path and query) the gateway takes; longer ones get 414.
    max_url_bytes: int = Field(8192, ge=256, le=65536)

    # How long the merged OpenAPI document is reused before the services are asked again.
    openapi_cache_seconds: float = Field(60.0, ge=0)

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
