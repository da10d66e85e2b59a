"""The reference point: a bare FastAPI JSON endpoint, no middleware, no database.

    python -m uvicorn bench.harness.bare:app --host 127.0.0.1 --port 8000

The JSON answer is a small document, so that the comparison is about the framework's cost per
request, not about bytes on the wire.
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI(title="bench: bare endpoint", openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/readyz")
async def readyz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/bare")
async def bare() -> dict[str, str | int]:
    return {"code": "ti-2708", "name": "Bare endpoint", "phase": 2}
