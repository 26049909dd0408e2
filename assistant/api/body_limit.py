"""Request bodies are capped before anything reads them: 64 KB for the kiosk API, 4 MB for portal forms."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.api.errors import error_body

API_LIMIT = 64 * 1024
OTHER_LIMIT = 4 * 1024 * 1024
TOO_LARGE_ZH = "提交的内容太大"


def limit_for(path: str) -> int:
    return API_LIMIT if path.startswith("/api") else OTHER_LIMIT


def too_large(path: str, limit: int):
    zh = f"{TOO_LARGE_ZH}（最多 {limit // 1024} KB）"
    if path.startswith("/api"):
        return JSONResponse(error_body("http_413", zh, f"Request body larger than {limit} bytes"), 413)
    return PlainTextResponse(zh, 413)


class BodyLimit:
    """ASGI middleware: a declared Content-Length over the limit is refused at once (413, nothing read); a body
    without one is counted as it arrives and refused when it passes the limit."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = limit_for(path)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await too_large(path, limit)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, f"{TOO_LARGE_ZH}（最多 {limit // 1024} KB）")
            return message

        await self.app(scope, counted, send)
