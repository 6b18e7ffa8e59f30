"""The request body limit, enforced before any route reads the body.

A declared `Content-Length` over the limit is answered 413 at once, without
reading a byte. A body sent without a length (chunked) is counted as it
streams; when it passes the limit the route is told the client left, its
answer is dropped, and 413 goes out instead, so the web process never holds
more than the limit of any one body.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)


class BodyLimit:
    """ASGI middleware refusing bodies over `max_body_bytes` with 413.

    Parameters
    ----------
    app
        The application it guards.
    max_body_bytes
        The largest body any route may read.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        # Step 1: a declared length over the limit is refused unread; a
        # request that declares no body at all passes untouched.
        declared, streamed = _body_headers(scope)
        if declared is not None and declared > self.max_body_bytes:
            logger.info("api: refused a body of %d bytes (413)", declared)
            await self._refuse(send)
            return
        if declared is None and not streamed:
            await self.app(scope, receive, send)
            return

        # Step 2: count what streams in.
        state: dict[str, Any] = {"received": 0, "too_large": False, "started": False}

        async def counted_receive() -> Message:
            if state["too_large"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > self.max_body_bytes:
                    state["too_large"] = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if state["too_large"]:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not state["too_large"]:
                raise
        if state["too_large"] and not state["started"]:
            logger.info(
                "api: refused a streamed body over %d bytes", self.max_body_bytes
            )
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {
                "detail": f"the request body is larger than the limit of "
                f"{self.max_body_bytes} bytes"
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _body_headers(scope: Scope) -> tuple[int | None, bool]:
    """(Content-Length, whether Transfer-Encoding is set) of a request."""
    declared: int | None = None
    streamed = False
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                declared = None
                streamed = True
        elif name == b"transfer-encoding":
            streamed = True
    return declared, streamed
