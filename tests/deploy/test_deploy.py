"""The deployment files, checked without a Docker engine: compose's own validator and hadolint."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"


def _tool(name: str) -> str:
    path = BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (it comes with the dev dependencies)")
    return found


def _compose(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_tool("docker-compose"), "--env-file", str(ROOT / ".env.example"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_compose_file_is_valid() -> None:
    result = _compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_compose_publishes_only_the_gateway_and_migrates_before_each_service() -> None:
    result = _compose("config", "--format", "json")
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"gateway"}
    for name in ("registry", "funding", "contracts"):
        migrate = services[name]["depends_on"][f"{name}-migrate"]
        assert migrate["condition"] == "service_completed_successfully"
        assert "healthcheck" in services[name]
        url = services[name]["environment"][f"{name.upper()}_DATABASE_URL"]
        assert url.endswith(f"@postgres:5432/{name}"), "each service has its own database"


def test_compose_refuses_to_start_without_secrets(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = subprocess.run(
        [_tool("docker-compose"), "--env-file", str(empty), "config", "-q"],
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
        [_tool("hadolint"), str(dockerfile)],
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
