"""Request bodies are bounded while they stream in, before anything else looks at them.

Without this, a 50 MB anonymous body is read whole into memory before the route answers
401. An ASGI middleware outermost of all: a declared Content-Length over the limit is
answered 413 at once without reading a byte; a body without one (chunked) is counted as
it arrives and cut off with 413 at the limit. Limits per path: photo uploads and terminal
pushes (ADMS, whose router keeps its own bound and tells the terminal to keep its data)
may be larger than the console's forms and JSON.
"""

from __future__ import annotations

import json
from typing import Any

from hub.i18n import tr

Scope = dict[str, Any]


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: Any, default: int, by_prefix: tuple[tuple[str, int], ...] = ()) -> None:
        self.app, self.default, self.by_prefix = app, default, by_prefix

    def limit_for(self, path: str) -> int:
        return next((n for prefix, n in self.by_prefix if path.startswith(prefix)), self.default)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = next((v for k, v in scope.get("headers", ()) if k == b"content-length"), None)
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = False  # the server itself refuses a malformed length
            if too_big:
                await self._refuse(send, limit)
                return
        seen = 0
        started = False

        async def counted() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        async def watch(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watch)
        except BodyTooLarge:
            if not started:
                await self._refuse(send, limit)

    @staticmethod
    async def _refuse(send: Any, limit: int) -> None:
        body = json.dumps({"detail": tr(f"isi permintaan melebihi {limit} byte", f"request body over {limit} bytes")}
                          ).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
