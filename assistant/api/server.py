"""How uvicorn runs the app (shared by `assistant serve` and the tests that start a real server)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from assistant.core.config import Settings


def uvicorn_config(app: FastAPI, settings: Settings, host: str, port: int, **extra: Any):
    """The uvicorn configuration for `app`."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level=extra.pop("log_level", "warning"), **extra)
