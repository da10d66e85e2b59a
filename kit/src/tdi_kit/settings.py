"""Settings shared by every service: each app subclasses `ServiceSettings` with its own prefix.

Values come from environment variables (`REGISTRY_DATABASE_URL`, ...) and, for secrets, from
files in `/run/secrets` (Docker and Kubernetes secrets) when that folder exists.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# Local tokens minted by `tdi token` are signed with this. It is published (here, and in every
# clone), so it is accepted only in `development` and `test`: see `_production_keys`.
DEV_JWT_SECRET = "tdi-local-development-secret-change-me"
# The placeholder `.env.example` ships for `TDI_JWT_SECRET`: as public as the development secret.
ENV_EXAMPLE_JWT_SECRET = "a-long-random-secret"
# HS256 keys shorter than the hash's output can be brute-forced offline from one token (RFC 7518
# §3.2 asks for at least 256 bits).
MIN_JWT_SECRET_BYTES = 32
SECRETS_DIR = "/run/secrets"
# What `EVENTS_BROKER_URL` may name (tdi_kit.events.brokers.publisher_for).
BROKER_SCHEMES = ("nats", "tls", "amqp", "amqps")


class InsecureSettings(SystemExit):
    """A setting production must not start with. A `SystemExit`, so that pydantic lets it through
    unwrapped and the process stops with its one line (naming the variable) and status 1."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def default_data_dir() -> Path:
    """Where the embedded SQLite databases live: `TDI_DATA_DIR`, else `./var`."""
    return Path(os.environ.get("TDI_DATA_DIR", "var"))


class AppSettings(BaseSettings):
    """What every app needs, the gateway included; an app adds its own fields and sets
    `env_prefix`. Apps with a database of their own use `ServiceSettings`."""

    model_config = SettingsConfigDict(
        extra="ignore",
        secrets_dir=SECRETS_DIR if os.path.isdir(SECRETS_DIR) else None,
        # The docstring under each field is its documentation (docs/settings.md is generated
        # from them by scripts/settings_doc.py).
        use_attribute_docstrings=True,
    )

    service_name: str = "service"
    """The app's name in logs, metrics and the database's `application_name`."""
    environment: Literal["development", "production", "test"] = "development"
    """`production` refuses published or short JWT secrets and a missing or unusable database
    URL (the process stops with one line naming the variable)."""
    host: str = "127.0.0.1"
    """The address `tdi up` serves the app on (containers pass `--host` to uvicorn)."""
    port: int = 8000
    """The port `tdi up` serves the app on."""
    jwt_secret: SecretStr | None = SecretStr(DEV_JWT_SECRET)
    """HS256 signing secret shared with the token issuer (at least 32 bytes in production)."""
    jwt_public_key: str | None = None
    """A PEM public key verifying RS256/ES256 tokens."""
    jwks_url: str | None = None
    """An OIDC provider's JWKS URL verifying RS256/ES256 tokens."""
    jwt_algorithms: list[str] = ["HS256", "RS256", "ES256"]
    """The signature algorithms accepted."""
    jwt_issuer: str | None = None
    """The `iss` every token must carry (unchecked when unset)."""
    jwt_audience: str | None = None
    """The `aud` every token must carry (unchecked when unset)."""

    max_body_bytes: int = 1_048_576
    """The largest request body taken; larger ones get 413."""
    cors_origins: list[str] = []
    """Origins allowed credentialed cross-origin calls (JSON list)."""
    log_level: str = "INFO"
    """The logging level (`DEBUG`, `INFO`, `WARNING`, ...)."""
    log_json: bool = True
    """One JSON object per log line (plain text when false)."""
    otlp_endpoint: str | None = None
    """Where traces go: an OTLP/HTTP collector (`http://collector:4318`); unset, OpenTelemetry's
    own `OTEL_EXPORTER_OTLP_ENDPOINT` is read, and with neither there is no tracing."""

    @model_validator(mode="after")
    def _defaults(self) -> AppSettings:
        if self.otlp_endpoint is None:
            self.otlp_endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None
        if self.environment == "production":
            self._production_keys()
        return self

    def _production_keys(self) -> None:
        """Production signs with keys of its own: never a published secret, never a short one.

        The development secret is the default of `jwt_secret`: a production app configured with
        a public key or a JWKS URL and no secret of its own drops it, and so accepts no HS*
        token at all. A secret that is set must be neither published one nor shorter than
        `MIN_JWT_SECRET_BYTES`.
        """
        variable = f"{self.model_config.get('env_prefix', '')}JWT_SECRET".upper()
        asymmetric = bool(self.jwt_public_key or self.jwks_url)
        if self.jwt_secret is None:
            if not asymmetric:
                raise InsecureSettings(
                    f"{variable}: production needs a JWT secret, a public key or a JWKS URL"
                )
            return
        secret = self.jwt_secret.get_secret_value()
        if secret == DEV_JWT_SECRET and "jwt_secret" not in self.model_fields_set and asymmetric:
            self.jwt_secret = None
            return
        if secret in (DEV_JWT_SECRET, ENV_EXAMPLE_JWT_SECRET):
            raise InsecureSettings(
                f"{variable}: production refuses a published secret (the development one or the "
                "placeholder of .env.example); set a random one of at least "
                f"{MIN_JWT_SECRET_BYTES} bytes"
            )
        if len(secret.encode()) < MIN_JWT_SECRET_BYTES:
            raise InsecureSettings(
                f"{variable}: production needs a JWT secret of at least "
                f"{MIN_JWT_SECRET_BYTES} bytes (this one has {len(secret.encode())})"
            )

    @property
    def uses_dev_secret(self) -> bool:
        return self.jwt_secret is not None and self.jwt_secret.get_secret_value() == DEV_JWT_SECRET


@dataclass(frozen=True)
class ConnectionBudget:
    """How one process shares its `DATABASE_MAX_CONNECTIONS` (docs/operations.md).

    The idempotency key locks (`tdi_kit.keylocks`, one connection per POST in flight with a
    key) get 20%; the driver-level reader of the reads by key and the lists
    (`tdi_kit.rowreader`) 30%; the engines the rest: on PostgreSQL shared between the writes'
    engine and the AUTOCOMMIT engine of the reads still served through a session (SQLite has
    one engine for both). Each engine keeps most of its share open and may burst by a quarter:
    overflow connections are closed when they come back, so a large overflow would turn every
    burst into new connections. Each pool is bounded, so the process never holds more than
    `total` connections, whatever the load.
    """

    total: int
    engine_pool: int
    engine_overflow: int
    read_pool: int  # 0: the reads' sessions use the writes' engine (SQLite)
    read_overflow: int
    reader: int
    locks: int

    @classmethod
    def split(cls, total: int, *, read_engine: bool = True) -> ConnectionBudget:
        locks = max(1, total // 5)
        reader = max(1, total * 3 // 10)
        engines = total - locks - reader
        reads = engines // 2 if read_engine else 0
        writes = engines - reads
        return cls(
            total,
            writes - writes // 4,
            writes // 4,
            reads - reads // 4,
            reads // 4,
            reader,
            locks,
        )


class ServiceSettings(AppSettings):
    """A service's settings: those of every app, and its database."""

    database_url: str = ""
    """The service's own database: `postgresql://user:password@host:5432/name`, or
    `sqlite:///path`. Unset: a SQLite file in `TDI_DATA_DIR` (refused in production)."""
    database_max_connections: int = Field(20, ge=4)
    """The most connections one process holds, every pool together (engine, reader, key locks):
    size it so that replicas × workers × this ≤ the server's `max_connections` less a reserve."""
    database_statement_cache_size: int | None = Field(None, ge=0)
    """asyncpg's prepared-statement cache per connection (asyncpg's default, 100, when unset);
    0 behind PgBouncer in transaction mode."""
    database_application_name: str = ""
    """The `application_name` of every connection of the process, as `pg_stat_activity` shows
    it (default `tdi-<service>`)."""
    database_echo: bool = False
    """Log every SQL statement (development only)."""
    # When the database is away, a request fails with a 503 in seconds rather than hanging:
    # opening a connection (or waiting for a pooled one) and each statement (SQLite: waiting for
    # the write lock) are bounded, each below the gateway's budget for a whole request (4 s),
    # so that the caller hears the service's 503, not the gateway's 504.
    database_connect_timeout_seconds: float = Field(2.0, gt=0)
    """Bound on opening a connection, or waiting for one from the pool."""
    database_statement_timeout_seconds: float = Field(3.0, gt=0)
    """Bound on each statement (SQLite: on the wait for the write lock); below
    `REQUEST_TIMEOUT_SECONDS`."""
    database_wait_seconds: float = Field(60.0, ge=0)
    """How long `tdi migrate` and `tdi seed` wait for the database to accept connections before
    they stop with the last error (a job started beside its database)."""
    request_timeout_seconds: float = Field(3.5, gt=0)
    """The longest a request may run (below the gateway's `BUDGET_SECONDS`); a shorter
    `X-Request-Budget-Ms` from the gateway shortens it. Past it: 503, connection released."""
    idempotency_retention_hours: float = Field(24.0, gt=0)
    """How long a stored `Idempotency-Key` answer is kept (then purged) for replays."""
    idempotency_purge_interval_seconds: float = Field(3600.0, ge=0)
    """How often each process deletes the expired keys (0: never; `tdi purge-idempotency`)."""
    events_relay: Literal["embedded", "off"] = "embedded"
    """`embedded`: each process runs the events relay (`tdi_kit.events.relay`), which sequences
    committed events every `EVENTS_RELAY_INTERVAL_SECONDS` and publishes them to
    `EVENTS_BROKER_URL` when set; `off`: none (the feed still sequences when it is read)."""
    events_relay_interval_seconds: float = Field(0.2, gt=0)
    """How often the relay looks for new events (a commit of the process that emits one wakes
    it at once)."""
    events_broker_url: str | None = None
    """Where the relay publishes events, at least once: NATS JetStream (`nats://host:4222`) or
    RabbitMQ (`amqp://user:password@host:5672/`); unset, events are served by the feeds only."""
    database_app_role: str | None = None
    """PostgreSQL: the role the service runs as, when `DATABASE_URL` (for the migrations) names
    the schema's owner. Each migration run grants it rows, not tables: it cannot alter a table or
    disable the ledger's triggers (docs/operations.md, "Database roles")."""

    @field_validator("events_broker_url")
    @classmethod
    def _broker_scheme(cls, url: str | None) -> str | None:
        if url and url.split("://", 1)[0].lower() not in BROKER_SCHEMES:
            raise ValueError("a broker URL starts with nats:// (JetStream) or amqp:// (RabbitMQ)")
        return url or None

    @model_validator(mode="after")
    def _database_default(self) -> ServiceSettings:
        variable = f"{self.model_config.get('env_prefix', '')}DATABASE_URL".upper()
        if not self.database_url:
            if self.environment == "production":
                raise InsecureSettings(
                    f"{variable}: production needs the service's database URL "
                    "(postgresql://user:password@host:5432/name); none is set"
                )
            path = default_data_dir() / f"{self.service_name}.db"
            self.database_url = f"sqlite+aiosqlite:///{path}"
        self.database_url = normalise_database_url(self.database_url)
        if not self.database_application_name:
            self.database_application_name = f"tdi-{self.service_name}"
        if self.environment == "production":
            _check_database_url(variable, self.database_url)
        if self.database_statement_timeout_seconds > self.request_timeout_seconds:
            raise ValueError(
                "database_statement_timeout_seconds must not exceed request_timeout_seconds"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def connection_budget(self) -> ConnectionBudget:
        # SQLite's sessions have no pre-ping, and their BEGIN is the one thing that makes a read
        # see one snapshot: its reads keep the one engine.
        return ConnectionBudget.split(self.database_max_connections, read_engine=not self.is_sqlite)


def _check_database_url(variable: str, url: str) -> None:
    """A URL production can use, or one line naming the variable (never its password)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InsecureSettings(
            f"{variable}: not a database URL (expected postgresql://user:password@host:5432/name)"
        ) from None
    if parsed.drivername not in ("postgresql+asyncpg", "sqlite+aiosqlite"):
        raise InsecureSettings(
            f"{variable}: unknown database scheme {parsed.drivername!r} "
            "(expected postgresql://user:password@host:5432/name)"
        )
    if parsed.drivername.startswith("postgresql") and not (parsed.host and parsed.database):
        raise InsecureSettings(f"{variable}: the URL names no host or no database")


def normalise_database_url(url: str) -> str:
    """Accept the URLs ops teams write (`postgres://`, `postgresql://`) and pick async drivers."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url
