"""File download responses (attachment, not cached)."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi.responses import Response

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def attachment(data: bytes, media_type: str, ascii_name: str, display_name: str | None = None) -> Response:
    """`data` as a download: `display_name` (UTF-8, e.g. Chinese) for browsers, `ascii_name` as the fallback."""
    fallback = _UNSAFE.sub("-", ascii_name)[:120] or "download"
    disposition = f'attachment; filename="{fallback}"'
    if display_name:
        disposition += f"; filename*=UTF-8''{quote(display_name[:150], safe='')}"
    return Response(data, media_type=media_type, headers={"Content-Disposition": disposition,
                                                          "Cache-Control": "no-store"})
