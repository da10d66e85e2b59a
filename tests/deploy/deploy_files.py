"""What the deployment tests share: the repository's root, its tools, compose's resolved file."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"


def tool(name: str) -> str:
    path = BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (it comes with the dev dependencies)")
    return found


def compose(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("docker-compose"), "--env-file", str(ROOT / ".env.example"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@functools.cache
def _config_text() -> str:
    result = compose("config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return result.stdout


def compose_config() -> dict[str, Any]:
    """docker-compose.yml as compose resolves it (anchors merged, variables from .env.example)."""
    return json.loads(_config_text())
