"""What every command module shares: the root Typer class, common options, choices and the service runner."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from assistant.core.config import Settings, get_settings
from assistant.knowledge.regions import UnknownRegionError


class Cli(typer.Typer):
    """The command line; a missing or broken model folder ends with its message, not a traceback."""

    def __call__(self, *args, **kwargs):
        from assistant.embedding.embedder import ModelUnavailableError

        try:
            return super().__call__(*args, **kwargs)
        except ModelUnavailableError as exc:
            typer.echo(f"错误：{exc}", err=True)
            raise SystemExit(1) from None


class State(StrEnum):
    """A follow-up's state (services/followups.py), or all of them."""

    open = "open"
    answered = "answered"
    delivered = "delivered"
    closed = "closed"
    all = "all"


class Role(StrEnum):
    """A portal account's role (services/users.py)."""

    admin = "admin"
    prison = "prison"
    bureau = "bureau"


class Status(StrEnum):
    """What the system did with a logged question (services/exports.py)."""

    answered = "answered"
    suggested = "suggested"
    flagged = "flagged"
    out_of_scope = "out_of_scope"


Actor = Annotated[str, typer.Option("--by", help="经办人姓名或账号")]
County = Annotated[str, typer.Option("--county", "-c", help="户籍地：名称、简称或行政区划代码")]


def err(message: str, code: int = 1) -> typer.Exit:
    """Print `message` on stderr; the caller raises the returned Exit."""
    typer.echo(message, err=True)
    return typer.Exit(code)


def runtime(settings: Settings | None = None):
    """The runtime (knowledge, index, model, database) with progress messages on stderr."""
    from assistant.runtime import Runtime

    return Runtime(settings or get_settings(), progress=lambda m: typer.echo(m, err=True))


def resolve(rt, county: str):
    """The region COUNTY names (with a note when it is an old name); exit 2 listing close matches or namesakes."""
    try:
        return rt.regions.resolve_note(county)
    except UnknownRegionError as exc:
        raise err(str(exc), 2) from exc


def region_code(rt, county: str) -> str:
    return resolve(rt, county).region.code


def service(fn):
    """Run a service call in one transaction; a ServiceError becomes exit code 2 with its message."""
    from assistant.services.errors import ServiceError

    rt = runtime()
    try:
        with rt.database.session() as s:
            return fn(rt, s)
    except ServiceError as exc:
        raise err(f"错误：{exc}", 2) from exc


def cli_actor(by: str = "") -> str:
    """Who acts from the command line: cli:<--by>, or cli:<the operating-system user> (the services audit it)."""
    import getpass

    return f"cli:{by or getpass.getuser()}"
