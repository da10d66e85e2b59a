"""The `tdi` command as an operator uses it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt

from tdi_cli.main import main
from tdi_cli.services import all_services
from tdi_kit.settings import DEV_JWT_SECRET
from tdi_kit.testing import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_token_carries_subject_organisation_and_scopes(capsys) -> None:
    main(
        [
            "token",
            "--sub",
            "ops",
            "--org",
            "bpifrance",
            "--scope",
            "funding:write",
            "--scope",
            "registry:write",
        ]
    )
    token = capsys.readouterr().out.strip()
    claims = jwt.decode(token, DEV_JWT_SECRET, algorithms=["HS256"])
    assert claims["sub"] == "ops"
    assert claims["org"] == "bpifrance"
    assert claims["scope"].split() == ["funding:write", "registry:write"]
    assert claims["exp"] > time.time()


def test_up_starts_every_service_and_stops_them_all_on_ctrl_c(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    ports = {}
    for service in all_services():
        ports[service.name] = free_port()
        env[f"{service.name.upper()}_PORT"] = str(ports[service.name])
    env["TDI_DATA_DIR"] = str(tmp_path)
    up = subprocess.Popen(
        [sys.executable, "-m", "tdi_cli.main", "up", "--no-seed", "--data-dir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = up.stdout.readline()
            lines.append(line)
            if "ready." in line or up.poll() is not None:
                break
        assert any("ready." in line for line in lines), "".join(lines)
        for name, port in ports.items():
            assert f"http://127.0.0.1:{port}" in "".join(lines), name
            assert httpx.get(f"http://127.0.0.1:{port}/livez", timeout=5).status_code == 200
        up.send_signal(signal.SIGINT)
        out, _ = up.communicate(timeout=60)
        assert "stopped every process tdi up started" in out
    finally:
        if up.poll() is None:
            # SIGTERM lets tdi stop the services it started; a kill would orphan them.
            up.terminate()
            try:
                up.wait(timeout=30)
            except subprocess.TimeoutExpired:
                up.kill()
    for port in ports.values():
        try:
            httpx.get(f"http://127.0.0.1:{port}/livez", timeout=1)
        except httpx.TransportError:
            continue
        raise AssertionError(f"something still answers on port {port}")
    assert (tmp_path / "registry.db").exists(), "SQLite databases live in the data folder"
    for service in all_services():
        # Each app's output, uvicorn's lines included, is JSON from first line to last.
        lines = (tmp_path / f"{service.name}.log").read_text().splitlines()
        assert any("Application startup complete" in line for line in lines), service.name
        for line in lines:
            assert json.loads(line)["service"] == service.name, line


def test_token_gives_each_organisation_its_own_default_subject(capsys) -> None:
    subjects = {}
    for org in ("bpifrance", "banque-des-territoires", None):
        main(["token", "--scope", "funding:write", *(["--org", org] if org else [])])
        token = capsys.readouterr().out.strip()
        subjects[org] = jwt.decode(token, DEV_JWT_SECRET, algorithms=["HS256"])["sub"]
    assert subjects == {
        "bpifrance": "local-user@bpifrance",
        "banque-des-territoires": "local-user@banque-des-territoires",
        None: "local-user",
    }
