"""The reference point: a bare FastAPI JSON endpoint, no middleware, no database.

    python -m uvicorn bench.harness.bare:app --host 127.0.0.1 --port 8000

The JSON answer is a small document, so that the comparison is about the framework's cost per
request, not about bytes on the wire.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Response

app = FastAPI(title="bench: bare endpoint", openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/readyz")
async def readyz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/bare")
async def bare() -> dict[str, str | int]:
    return {"code": "ti-2708", "name": "Bare endpoint", "phase": 2}


# The ceiling of a list: the very bytes a list answered, sent from memory (files of the folder
# named by BENCH_BARE_BODIES, loaded at start-up, one endpoint per file stem).
_BODIES = {
    path.stem: path.read_bytes()
    for path in sorted(Path(os.environ.get("BENCH_BARE_BODIES", "/nonexistent")).glob("*.json"))
}


@app.get("/body/{name}")
async def body(name: str) -> Response:
    return Response(_BODIES[name], media_type="application/json")
