"""Settings shared by every service: each app subclasses `ServiceSettings` with its own prefix.

Values come from environment variables (`REGISTRY_DATABASE_URL`, ...) and, for secrets, from
files in `/run/secrets` (Docker and Kubernetes secrets) when that folder exists.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Local tokens minted by `tdi token` are signed with this. It is published (here, and in every
# clone), so it is accepted only in `development` and `test`: see `_production_keys`.
DEV_JWT_SECRET = "tdi-local-development-secret-change-me"
# The placeholder `.env.example` ships for `TDI_JWT_SECRET`: as public as the development secret.
ENV_EXAMPLE_JWT_SECRET = "a-long-random-secret"
# HS256 keys shorter than the hash's output can be brute-forced offline from one token (RFC 7518
# §3.2 asks for at least 256 bits).
MIN_JWT_SECRET_BYTES = 32
SECRETS_DIR = "/run/secrets"


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
    )

    service_name: str = "service"
    environment: Literal["development", "production", "test"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    # Auth: HS256 with a shared secret for local use, or a public key / JWKS URL in production.
    jwt_secret: SecretStr | None = SecretStr(DEV_JWT_SECRET)
    jwt_public_key: str | None = None
    jwks_url: str | None = None
    jwt_algorithms: list[str] = ["HS256", "RS256", "ES256"]
    jwt_issuer: str | None = None
    jwt_audience: str | None = None

    max_body_bytes: int = 1_048_576
    cors_origins: list[str] = []
    log_level: str = "INFO"
    log_json: bool = True

    @model_validator(mode="after")
    def _defaults(self) -> AppSettings:
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


class ServiceSettings(AppSettings):
    """A service's settings: those of every app, and its database."""

    database_url: str = ""
    # Each engine's (the writes', the reads' through a session) connections kept open, and how
    # many more a burst may open: overflow connections are closed when they come back, so a
    # large overflow turns every burst into new connections (docs/benchmarks.md, lists).
    database_pool_size: int = Field(10, ge=1)
    database_max_overflow: int = Field(2, ge=0)
    # Connections of the driver-level reader (tdi_kit.rowreader): one per concurrent hot read
    # (reads by key and lists); opened on demand, kept while used.
    database_read_pool_size: int = Field(32, ge=1)
    database_echo: bool = False
    # When the database is away, a request fails with a 503 in seconds rather than hanging:
    # opening a connection (or waiting for a pooled one) and each statement (SQLite: waiting for
    # the write lock) are bounded, each below the gateway's budget for a whole request (4 s),
    # so that the caller hears the service's 503, not the gateway's 504.
    database_connect_timeout_seconds: float = Field(2.0, gt=0)
    database_statement_timeout_seconds: float = Field(3.0, gt=0)

    @model_validator(mode="after")
    def _database_default(self) -> ServiceSettings:
        if not self.database_url:
            path = default_data_dir() / f"{self.service_name}.db"
            self.database_url = f"sqlite+aiosqlite:///{path}"
        self.database_url = normalise_database_url(self.database_url)
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def normalise_database_url(url: str) -> str:
    """Accept the URLs ops teams write (`postgres://`, `postgresql://`) and pick async drivers."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url
