"""How uvicorn runs the app (shared by `assistant serve` and the tests that start a real server)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from assistant.core.config import Settings


def uvicorn_config(app: FastAPI, settings: Settings, host: str, port: int, **extra: Any):
    """The uvicorn configuration for `app`. X-Forwarded-For/-Proto are believed only from the proxies listed in
    `trusted_proxies` (uvicorn would otherwise trust them from 127.0.0.1, so anyone on the machine could pose
    as any address in the audit log and dodge the per-address sign-in throttle)."""
    import uvicorn

    trusted = ",".join(p.strip() for p in settings.trusted_proxies.split(",") if p.strip())
    return uvicorn.Config(app, host=host, port=port, log_level=extra.pop("log_level", "warning"),
                          proxy_headers=bool(trusted), forwarded_allow_ips=trusted or "", **extra)
