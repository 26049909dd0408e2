"""The FastAPI application: kiosk API, health, the kiosk and officer pages and the staff/bureau portal
(server-rendered, no external resources)."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from assistant import __version__
from assistant.api import errors
from assistant.api.body_limit import BodyLimit
from assistant.api.routes import (
    conversation,
    health,
    kiosk,
    portal_admin,
    portal_auth,
    portal_bureau,
    portal_exports,
    portal_file_faq,
    portal_kiosks,
    portal_prison,
    portal_review,
)
from assistant.api.security_headers import SecurityHeaders
from assistant.api.state import ServiceState
from assistant.core.config import Settings, get_settings
from assistant.runtime import Runtime

STATIC = Path(__file__).with_name("static")


def create_app(settings: Settings | None = None, runtime: Runtime | None = None, rate: str = "20/minute") -> FastAPI:
    """Build the app; the index is built or refreshed in the background before questions are accepted."""
    runtime = runtime or Runtime(settings or get_settings())
    state = ServiceState(runtime, rate)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state.start()
        yield
        state.stop()

    app = FastAPI(title="帮教问答 Bangjiao Q&A", version=__version__, lifespan=lifespan,
                  description="Kiosk API: answers from the asker's home-county policies, with sources.")
    app.state.service = state
    errors.install(app)
    app.include_router(health.router)
    app.include_router(kiosk.router)
    app.include_router(conversation.router)
    for portal in (portal_auth, portal_bureau, portal_prison, portal_kiosks, portal_exports, portal_admin,
                   portal_review, portal_file_faq):
        app.include_router(portal.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/kiosk")

    @app.get("/kiosk", include_in_schema=False)
    def kiosk_page() -> FileResponse:
        return FileResponse(STATIC / "kiosk.html")

    @app.get("/officer", include_in_schema=False)
    def officer_page() -> FileResponse:
        return FileResponse(STATIC / "officer.html")

    return app
