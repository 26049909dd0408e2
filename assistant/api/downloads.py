"""File download responses (attachment, not cached)."""

from __future__ import annotations

import re

from fastapi.responses import Response

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def attachment(data: bytes, media_type: str, filename: str) -> Response:
    """`data` as a download named `filename` (reduced to safe ASCII characters)."""
    name = _UNSAFE.sub("-", filename)[:120] or "download"
    return Response(data, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
