"""Issue 8 in the kit: production's token keys, readiness without driver text, and list links
that echo nothing but the route's own parameters."""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.settings import GatewaySettings
from registry.main import create_app
from registry.settings import RegistrySettings
from tdi_kit import clock
from tdi_kit.auth import TokenVerifier, mint_token
from tdi_kit.errors import Unauthorized
from tdi_kit.settings import (
    DEV_JWT_SECRET,
    ENV_EXAMPLE_JWT_SECRET,
    InsecureSettings,
    ServiceSettings,
)
from tdi_kit.testing import asgi_client

API = "/api/v1"


@pytest.fixture(autouse=True)
def _no_key_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for prefix in ("", "REGISTRY_", "GATEWAY_"):
        for name in ("JWT_SECRET", "JWKS_URL", "JWT_PUBLIC_KEY", "ENVIRONMENT"):
            monkeypatch.delenv(prefix + name, raising=False)
    # Production needs a database URL of its own (tests below check that it does).
    monkeypatch.setenv("REGISTRY_DATABASE_URL", "postgresql://registry:pw@db:5432/registry")


def _public_key() -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, pem.decode()


# Tokens -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("settings_class", [RegistrySettings, GatewaySettings])
def test_production_with_only_a_public_key_or_jwks_accepts_no_hs_token(
    settings_class: type[ServiceSettings],
) -> None:
    key, pem = _public_key()
    # Without a secret the registry mints no token for its webhooks dispatcher: it is given one
    # (REGISTRY_WEBHOOK_FEED_TOKEN, tested with the webhooks), or the dispatcher runs apart.
    apart: dict[str, Any] = (
        {"webhooks_dispatcher": "external"} if settings_class is RegistrySettings else {}
    )
    for keys in ({"jwt_public_key": pem}, {"jwks_url": "https://idp.example/jwks.json"}):
        settings = settings_class(environment="production", **keys, **apart)
        assert settings.jwt_secret is None
    settings = settings_class(environment="production", jwt_public_key=pem, **apart)
    verifier = TokenVerifier(settings)
    for secret in (DEV_JWT_SECRET, secrets.token_urlsafe(48)):
        with pytest.raises(Unauthorized, match="symmetric"):
            verifier.verify(mint_token(secret=secret, sub="forger", scopes=["admin"]))
    claims = {"sub": "oidc-user", "scope": "registry:write", "exp": int(time.time()) + 60}
    assert verifier.verify(jwt.encode(claims, key, algorithm="RS256")).sub == "oidc-user"


@pytest.mark.parametrize(
    ("settings_class", "variable"),
    [(RegistrySettings, "REGISTRY_JWT_SECRET"), (GatewaySettings, "GATEWAY_JWT_SECRET")],
)
@pytest.mark.parametrize(
    "secret",
    [DEV_JWT_SECRET, ENV_EXAMPLE_JWT_SECRET, "x" * 31, "é" * 15],
    ids=["development", "env-example", "31-bytes", "30-bytes-of-accents"],
)
def test_production_refuses_a_published_or_short_secret_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
    settings_class: type[ServiceSettings],
    variable: str,
    secret: str,
) -> None:
    _, pem = _public_key()
    monkeypatch.setenv(variable, secret)
    for keys in ({}, {"jwt_public_key": pem}):
        with pytest.raises(InsecureSettings) as refused:
            settings_class(environment="production", **keys)
        message = str(refused.value)
        assert message.startswith(f"{variable}: ")
        assert "\n" not in message
        assert secret not in message


def test_production_refuses_to_start_with_no_key_at_all() -> None:
    with pytest.raises(InsecureSettings, match=r"^REGISTRY_JWT_SECRET: "):
        RegistrySettings(environment="production")
    with pytest.raises(InsecureSettings, match=r"^REGISTRY_JWT_SECRET: "):
        RegistrySettings(environment="production", jwt_secret=None)


def test_production_takes_a_secret_of_its_own_of_32_bytes_or_more() -> None:
    own = secrets.token_urlsafe(24)  # 32 characters
    settings = RegistrySettings(environment="production", jwt_secret=own)
    assert settings.jwt_secret is not None and settings.jwt_secret.get_secret_value() == own
    verifier = TokenVerifier(settings)
    assert verifier.verify(mint_token(secret=own, sub="ops")).sub == "ops"
    with pytest.raises(Unauthorized):
        verifier.verify(mint_token(secret=DEV_JWT_SECRET, sub="forger"))


@pytest.mark.filterwarnings("ignore:The HMAC key")
@pytest.mark.parametrize("environment", ["development", "test"])
def test_the_development_secret_still_works_for_development_and_tests(environment: str) -> None:
    settings = RegistrySettings(environment=environment, jwt_secret="short")
    assert TokenVerifier(settings).verify(mint_token(secret="short", sub="dev")).sub == "dev"
    default = RegistrySettings(environment=environment)
    assert default.uses_dev_secret


@pytest.mark.parametrize(
    ("claims", "refusal"),
    [
        ({"exp": 1000}, "expired"),
        ({"exp": 1000.0}, "expired"),
        ({"exp": 5000, "nbf": 2001}, "not yet valid"),
        ({"exp": 5000, "iat": 2001}, "not yet valid"),
        ({"exp": "5000"}, "must be a number"),
        ({"exp": True}, "must be a number"),
        ({"exp": 5000, "nbf": None}, "must be a number"),
    ],
)
def test_token_times_are_read_on_the_kits_clock(claims: dict[str, object], refusal: str) -> None:
    """`exp`, `nbf` and `iat` are checked as PyJWT checks them, but at `tdi_kit.clock`'s time
    (here 2000 s after the epoch), so a test moves the clock instead of sleeping."""
    verifier = TokenVerifier(RegistrySettings(environment="test", jwt_secret=DEV_JWT_SECRET))
    token = jwt.encode({"sub": "someone", **claims}, DEV_JWT_SECRET, algorithm="HS256")
    at = dt.datetime.fromtimestamp(2000, dt.UTC)
    with clock.frozen(at), pytest.raises(Unauthorized, match=refusal):
        verifier.verify(token)
    good = jwt.encode({"sub": "someone", "exp": 2001, "nbf": 2000}, DEV_JWT_SECRET)
    with clock.frozen(at):
        assert verifier.verify(good).sub == "someone"


def _start_up_error(app: str, env: dict[str, str]) -> str:
    """The one line a process that refuses its settings stops with (status 1)."""
    started = subprocess.run(
        [sys.executable, "-m", "uvicorn", "--factory", app, "--port", "9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 1
    lines = started.stderr.strip().splitlines()
    assert len(lines) == 1, started.stderr
    return lines[0]


def test_a_production_process_stops_at_start_up_with_one_line_naming_the_variable() -> None:
    env = {
        **os.environ,
        "GATEWAY_ENVIRONMENT": "production",
        "GATEWAY_JWT_SECRET": ENV_EXAMPLE_JWT_SECRET,
        "GATEWAY_LOG_JSON": "false",
    }
    line = _start_up_error("gateway.main:create_app", env)
    assert line.startswith("GATEWAY_JWT_SECRET: production refuses a published secret")


# The database URL ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (None, "production needs the service's database URL"),
        ("", "production needs the service's database URL"),
        ("postgresq://registry:hunter2@db:5432/registry", "unknown database scheme"),
        ("not a url at all", "not a database URL"),
        ("postgresql://registry:hunter2@db:5432", "names no host or no database"),
    ],
)
def test_production_refuses_a_missing_or_unusable_database_url_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, url: str | None, says: str
) -> None:
    """No silent fallback to a local SQLite file (a misspelt variable, a typo in the scheme)."""
    if url is None:
        monkeypatch.delenv("REGISTRY_DATABASE_URL")
    else:
        monkeypatch.setenv("REGISTRY_DATABASE_URL", url)
    with pytest.raises(InsecureSettings) as refused:
        RegistrySettings(environment="production", jwt_secret=secrets.token_urlsafe(32))
    message = str(refused.value)
    assert message.startswith("REGISTRY_DATABASE_URL: ") and says in message
    assert "\n" not in message and "hunter2" not in message
    # Elsewhere the embedded default still serves a fresh machine.
    if not url:
        assert RegistrySettings(environment="development").is_sqlite


def test_a_service_without_its_database_url_stops_at_start_up_with_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env |= {
        "REGISTRY_ENVIRONMENT": "production",
        "REGISTRY_JWT_SECRET": secrets.token_urlsafe(32),
        "REGISTRY_LOG_JSON": "false",
    }
    line = _start_up_error("registry.main:create_app", env)
    assert line.startswith("REGISTRY_DATABASE_URL: production needs")


# Readiness --------------------------------------------------------------------------------------


async def test_readyz_never_answers_the_drivers_error_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(
        RegistrySettings(
            database_url="postgresql://secret_user:hunter2@127.0.0.1:9/secret_db",
            environment="test",
            log_json=False,
        )
    )
    # The app's logging setup replaced the root's handlers, pytest's among them.
    logging.getLogger().addHandler(caplog.handler)
    try:
        async with asgi_client(app) as c:
            r = await c.get("/readyz")
    finally:
        logging.getLogger().removeHandler(caplog.handler)
    await app.state.engine.dispose()
    assert r.status_code == 503
    assert r.json() == {"status": "unavailable", "database": "unreachable"}
    for secret in ("secret_user", "hunter2", "secret_db", "127.0.0.1", "refused", "Errno"):
        assert secret not in r.text
    # Ops find why in the log.
    logged = [r for r in caplog.records if "database does not answer" in r.getMessage()]
    assert logged and logged[0].exc_info is not None


# List links -------------------------------------------------------------------------------------


async def test_a_list_link_carries_only_the_routes_parameters_as_a_relative_reference(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get(
        f"{API}/territories",
        params=[("limit", "3"), ("phase", "2"), ("sort", "-name"), ("cursor", "")],
        headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
    )
    assert r.status_code == 200
    link = r.headers["link"]
    assert len(link) < 400
    target = link[1 : link.index(">")]
    assert target.startswith(f"{API}/territories?")
    assert "evil" not in link
    assert parse_qs(urlsplit(target).query) == {
        "limit": ["3"],
        "phase": ["2"],
        "sort": ["-name"],
        "cursor": [r.json()["next_cursor"]],
    }
    following = await client.get(target)
    assert following.status_code == 200
    assert following.json()["items"][0]["phase"] == 2


async def test_an_unknown_or_repeated_query_parameter_is_refused_without_echoing_its_value(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get(
        f"{API}/territories",
        params=[("phase", "1"), ("phase", "2"), ("junk", "j" * 5000), ("k" * 500, "1")],
    )
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"] == "urn:tdi:problem:unknown-query-parameter"
    fields = {(e["field"][:4], e["type"]) for e in problem["errors"]}
    assert fields == {("phas", "repeated"), ("junk", "unknown"), ("kkkk", "unknown")}
    assert "jjjj" not in r.text
    assert len(r.text) < 1200


def test_the_refused_placeholder_is_the_one_env_example_ships() -> None:
    root = Path(__file__).resolve().parents[2]
    values = dict(
        line.split("=", 1)
        for line in (root / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert values["TDI_JWT_SECRET"] == ENV_EXAMPLE_JWT_SECRET
