"""How uvicorn runs the app (shared by `assistant serve` and the tests that start a real server)."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from assistant.core.config import Settings

if TYPE_CHECKING:  # not imported at run time: `assistant serve` configures logging before the web framework loads
    from fastapi import FastAPI


def uvicorn_config(app: FastAPI, settings: Settings, host: str, port: int, **extra: Any):
    """The uvicorn configuration for `app`. X-Forwarded-For/-Proto are believed only from the proxies listed in
    `trusted_proxies` (uvicorn would otherwise trust them from 127.0.0.1, so anyone on the machine could pose
    as any address in the audit log and dodge the per-address sign-in throttle)."""
    import uvicorn

    trusted = ",".join(p.strip() for p in settings.trusted_proxies.split(",") if p.strip())
    return uvicorn.Config(app, host=host, port=port, log_level=extra.pop("log_level", "warning"),
                          proxy_headers=bool(trusted), forwarded_allow_ips=trusted or "", **extra)


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """uvicorn's logging configuration plus the service's own loggers (`assistant.*`: index rebuilt or corrupt,
    spooled questions replayed, warm-up failures) on the same console, at `level` and above. Without it
    Python's default drops their INFO messages and prints warnings bare."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["assistant"] = {"()": "uvicorn.logging.DefaultFormatter",
                                         "fmt": "%(levelprefix)s %(asctime)s %(name)s: %(message)s"}
    config["handlers"]["assistant"] = {"formatter": "assistant", "class": "logging.StreamHandler",
                                       "stream": "ext://sys.stderr"}
    config["loggers"]["assistant"] = {"handlers": ["assistant"], "level": level, "propagate": False}
    return config


def configure_logging(level: str = "INFO") -> None:
    """Console logging for `assistant serve`, set up before anything is loaded (knowledge, database, index)."""
    import logging.config

    logging.config.dictConfig(logging_config(level))


def serve_config(app: FastAPI, settings: Settings, host: str, port: int):
    """The configuration `assistant serve` runs, after `configure_logging()` (uvicorn keeps that logging)."""
    return uvicorn_config(app, settings, host, port, log_level="info", log_config=None)
