"""The security-headers middleware on a bare app: pages get CSP and no framing, portal pages no caching, every
response nosniff and no referrer, and a header the route set itself is kept."""

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from assistant.api.security_headers import SecurityHeaders


def app() -> Starlette:
    def plain(request):
        return PlainTextResponse("ok")

    def cached(request):
        return PlainTextResponse("ok", headers={"Cache-Control": "max-age=60", "Referrer-Policy": "same-origin"})

    routes = [Route("/kiosk", plain), Route("/portal/x", plain), Route("/api/ask", plain), Route("/portal/c", cached)]
    application = Starlette(routes=routes)
    application.add_middleware(SecurityHeaders)
    return application


def test_headers_by_path():
    client = TestClient(app())
    kiosk, portal, api, kept = (client.get(p) for p in ("/kiosk", "/portal/x", "/api/ask", "/portal/c"))
    for r in (kiosk, portal, api, kept):
        assert r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in kiosk.headers["content-security-policy"]
    assert kiosk.headers["x-frame-options"] == "DENY" and "cache-control" not in kiosk.headers
    assert portal.headers["cache-control"] == "no-store" and portal.headers["x-frame-options"] == "DENY"
    assert "content-security-policy" not in api.headers and api.headers["referrer-policy"] == "no-referrer"
    assert kept.headers["cache-control"] == "max-age=60" and kept.headers["referrer-policy"] == "same-origin"
    assert client.get("/nowhere").headers["x-content-type-options"] == "nosniff"  # a 404 too
