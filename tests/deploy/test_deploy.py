"""The deployment files, checked without a Docker engine: compose's own validator and hadolint."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from deploy_files import ROOT, compose, compose_config, tool

from gateway.settings import GatewaySettings

APPS = ("registry", "funding", "contracts", "gateway")


def test_compose_file_is_valid() -> None:
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_compose_publishes_only_the_gateway_and_migrates_before_each_service() -> None:
    services = compose_config()["services"]
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"gateway"}
    for name in ("registry", "funding", "contracts"):
        migrate = services[name]["depends_on"][f"{name}-migrate"]
        assert migrate["condition"] == "service_completed_successfully"
        assert "healthcheck" in services[name]
        url = services[name]["environment"][f"{name.upper()}_DATABASE_URL"]
        assert url.endswith(f"@postgres:5432/{name}"), "each service has its own database"


def _seconds(duration: str) -> float:
    """Compose durations: "30s", "1m30s", "1500ms"."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", duration)
    assert "".join(n + u for n, u in parts) == duration, duration
    return sum(float(n) * units[u] for n, u in parts)


def test_compose_stop_grace_period_outlasts_the_drain() -> None:
    """Docker's default 10 s would kill a container in the middle of its 20 s drain."""
    services = compose_config()["services"]
    budget = GatewaySettings().budget_seconds
    for app in APPS:
        command = services[app]["command"]
        drain = int(command[command.index("--timeout-graceful-shutdown") + 1])
        assert drain > budget, app
        grace = services[app].get("stop_grace_period")
        assert grace is not None, f"{app} has Docker's default stop grace period (10 s)"
        # The drain, then closing the database pool and the HTTP clients.
        assert _seconds(grace) >= drain + 5, app


def test_compose_refuses_to_start_without_secrets(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = subprocess.run(
        [tool("docker-compose"), "--env-file", str(empty), "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode != 0
    assert "set " in result.stderr


@pytest.mark.parametrize("dockerfile", sorted(ROOT.glob("**/Dockerfile")), ids=str)
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    if ".venv" in dockerfile.parts or "node_modules" in dockerfile.parts:
        pytest.skip("not ours")
    result = subprocess.run(
        [tool("hadolint"), str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_runs_as_a_non_root_user() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "USER 10001" in text
    assert "FROM python:3.11-slim" in text


def test_compose_runs_the_webhooks_dispatcher_as_a_service_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from registry.settings import RegistrySettings

    services = compose_config()["services"]
    assert services["registry"]["environment"]["REGISTRY_WEBHOOKS_DISPATCHER"] == "external"
    webhooks = services["webhooks"]
    command = webhooks["command"]
    assert command[:2] == ["tdi", "webhooks"]
    heartbeat = command[command.index("--heartbeat") + 1]
    assert heartbeat in " ".join(webhooks["healthcheck"]["test"])
    assert webhooks.get("stop_grace_period")
    for name, value in webhooks["environment"].items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REGISTRY_JWT_SECRET", "x" * 48)  # .env.example's placeholder is refused
    settings = RegistrySettings()
    assert settings.webhooks_dispatcher == "external"
    assert settings.environment == "production"
    assert settings.events_broker_url is None  # no broker unless TDI_EVENTS_BROKER_URL is set
    for service, url in settings.webhook_feed_urls.items():
        # Each feed at its service's name and port, which it waits to be healthy.
        assert url == f"http://{service}:{services[service]['expose'][0]}"
        assert webhooks["depends_on"][service]["condition"] == "service_healthy"


def test_compose_broker_profile_runs_nats_jetstream_and_wires_every_relay_to_it() -> None:
    assert "nats" not in compose_config()["services"]  # optional: not there by default
    result = subprocess.run(
        [
            *(tool("docker-compose"), "--env-file", str(ROOT / ".env.example")),
            *("--profile", "broker", "config", "--format", "json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "TDI_EVENTS_BROKER_URL": "nats://nats:4222"},
    )
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    nats = services["nats"]
    assert nats["image"].startswith("nats:2")
    assert "-js" in nats["command"]
    assert nats["expose"] == ["4222"]
    for app, prefix in [*((s, s.upper()) for s in APPS[:3]), ("webhooks", "REGISTRY")]:
        assert services[app]["environment"][f"{prefix}_EVENTS_BROKER_URL"] == "nats://nats:4222"
