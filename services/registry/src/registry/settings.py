from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from tdi_kit.events.webhooks.backoff import SCHEDULE_SECONDS
from tdi_kit.settings import InsecureSettings, ServiceSettings


class RegistrySettings(ServiceSettings):
    """Environment variables prefixed `REGISTRY_` (for example `REGISTRY_DATABASE_URL`)."""

    model_config = SettingsConfigDict(env_prefix="REGISTRY_")

    service_name: str = "registry"
    port: int = 8001
    publish_contacts: bool = False
    """Publish the governance's e-mails (chef de projet, referents) to anonymous callers too;
    by default only authenticated callers see them (RGPD: names and roles are public, a
    person's address is not)."""

    webhooks_dispatcher: Literal["embedded", "external"] = "embedded"
    """Where webhooks are delivered from: `embedded`, a task of each registry process;
    `external`, a deployment of its own (`tdi webhooks`), the registry then only stores."""
    webhook_allow_private_targets: bool = False
    """Let webhooks reach private, loopback and link-local addresses (tests, a closed network);
    refused by default, at creation and at each attempt after resolving the host."""
    webhook_timeout_seconds: float = Field(10.0, gt=0)
    """The longest one delivery attempt may take, resolution and answer included."""
    webhook_concurrency: int = Field(16, ge=1)
    """Attempts in flight at once per dispatcher: a slow receiver holds one slot, not the rest."""
    webhook_retry_schedule_seconds: list[float] = Field(
        default_factory=lambda: list(SCHEDULE_SECONDS)
    )
    """The waits after each failed attempt (each drawn at random below its step: full jitter);
    past the last one the delivery is given up."""
    webhook_max_consecutive_failures: int = Field(5, ge=1)
    """Deliveries given up in a row after which a subscription is disabled (and the event
    `webhook.disabled` emitted); a delivered one resets the count."""
    webhook_poll_seconds: float = Field(1.0, gt=0)
    """How often the dispatcher looks for attempts that fell due."""
    webhook_feed_urls: dict[str, str] = Field(
        default_factory=lambda: {
            "registry": "http://127.0.0.1:8001",
            "funding": "http://127.0.0.1:8002",
            "contracts": "http://127.0.0.1:8003",
        }
    )
    """The services whose events feeds (`GET /api/v1/events`) the dispatcher reads (JSON)."""
    webhook_feed_wait_seconds: float = Field(25.0, ge=0, le=30)
    """How long each read of a feed waits for new events (long polling)."""
    webhook_broker_consumer: str = Field("tdi-webhooks", pattern=r"^[A-Za-z0-9_-]+$")
    """The durable consumer (NATS JetStream) or queue (RabbitMQ) the dispatcher reads the events
    from when `EVENTS_BROKER_URL` is set (then the feeds are not read); every dispatcher of a
    deployment shares it."""
    webhook_feed_token: SecretStr | None = None
    """The bearer token (admin scope) the dispatcher reads the feeds with. Unset, it mints
    short-lived ones with `JWT_SECRET`; production with only public keys or a JWKS URL needs it
    when the dispatcher is embedded."""

    @model_validator(mode="after")
    def _webhook_feed_token(self) -> RegistrySettings:
        if (
            self.environment == "production"
            and self.webhooks_dispatcher == "embedded"
            and not self.events_broker_url  # the broker needs no token
            and self.jwt_secret is None
            and self.webhook_feed_token is None
        ):
            raise InsecureSettings(
                "REGISTRY_WEBHOOK_FEED_TOKEN: the embedded webhooks dispatcher reads the events "
                "feeds with a token; without a JWT secret to mint one, set it (or "
                "REGISTRY_WEBHOOKS_DISPATCHER=external)"
            )
        return self

    @property
    def webhook_require_https(self) -> bool:
        """Production sends webhooks over https only."""
        return self.environment == "production"
