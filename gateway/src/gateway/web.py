"""The public page at `/`: the programme at a glance, in the State's design system (DSFR).

The page is static: `static/index.html`, `static/app.js` and `static/app.css`, written here, read
the public API from the browser like any front-end would. The DSFR and its charts come from
their npm packages, copied under `static/vendor/` by `make web` (`gateway/web/build.mjs`); the
gateway serves every asset itself, so the page works with no internet. Without those assets
(no node on the machine) the API runs as ever and the page says what is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).resolve().parent / "static"
VENDOR = STATIC / "vendor"
router = APIRouter(include_in_schema=False)

# Everything comes from this origin: scripts only from files (no inline script, no eval),
# styles from files (the DSFR's and the charts' scripts set styles through the CSSOM, which
# CSP allows), images from files or the data: URIs of the DSFR's stylesheet, and the API.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # Revalidated on each visit (ETag, Last-Modified): a new release is seen at once.
    "Cache-Control": "no-cache",
}


class Assets(StaticFiles):
    """The page's files, with the page's headers on each."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(PAGE_HEADERS)
        return response


@router.get("/")
@router.get("/territoires/{code}")
async def page() -> Response:
    """The public page. A territory's view, `/territoires/{code}`, is the same page: the
    browser routes it, and the link works when it is opened or shared."""
    return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)


def install(api: FastAPI) -> None:
    """Serve the page at `/` and its files under `/static/`."""
    api.include_router(router)
    api.mount("/static", Assets(directory=STATIC, check_dir=False), name="static")
