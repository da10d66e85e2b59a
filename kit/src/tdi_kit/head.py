"""HEAD on every GET resource (RFC 9110 §9.3.2): the GET's status and headers, without a body.

FastAPI routes declared with `@router.get` answer HEAD with 405; `curl -I` and caches that
revalidate with HEAD expect the headers (ETag, Content-Length) a GET would give.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        done = False

        async def headers_only(message: Message) -> None:
            nonlocal done
            if message["type"] == "http.response.start":
                await send(message)
            elif (
                message["type"] == "http.response.body"
                and not done
                and not message.get("more_body", False)
            ):
                done = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app({**scope, "method": "GET"}, receive, headers_only)
