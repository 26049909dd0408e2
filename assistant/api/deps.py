"""Request dependencies (Annotated): the service state, a database session, the kiosk and its session,
the signed-in portal user, role checks and the CSRF check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Cookie, Depends, Header, Path, Request
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from assistant.api.conversation_store import session_key
from assistant.api.schemas import MAX_ID
from assistant.api.state import ServiceState
from assistant.services import kiosks, users
from assistant.services.errors import ForbiddenError, UnavailableError

RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="a record's number")]
FaqId = Annotated[str, Path(max_length=80, description="an FAQ entry's id")]


async def get_state(request: Request) -> ServiceState:
    """The service state (async: no I/O, so no worker thread is taken for it)."""
    return request.app.state.service


State = Annotated[ServiceState, Depends(get_state)]


async def get_ready_state(state: State) -> ServiceState:
    """The state once warm-up has finished; otherwise 503 saying whether to wait or to call the officer."""
    if state.error:
        raise UnavailableError("系统出了故障，暂时不能回答问题，请告诉值班民警（原因见系统状态页 /health）")
    if not state.ready.is_set():
        raise UnavailableError("系统正在准备，请稍等一两分钟再问")
    return state


ReadyState = Annotated[ServiceState, Depends(get_ready_state)]


def get_db(state: State) -> Iterator[Session]:
    with state.runtime.database.session() as session:
        yield session


DB = Annotated[Session, Depends(get_db)]


def _checked(state: ServiceState, key: tuple, check):
    """Run a database check; while the database is unreachable, fall back to the same check's recent success."""
    try:
        value = check()
    except OperationalError:
        remembered = state.last_known_good.recall(key)
        if remembered is None:
            raise
        return remembered
    except ForbiddenError:
        state.last_known_good.forget(key)
        raise
    state.last_known_good.remember(key, value)
    return value


def get_kiosk(state: State, x_kiosk_token: Annotated[str | None, Header()] = None) -> kiosks.KioskInfo:
    """The calling kiosk, checked in a short transaction of its own (no lock held during the request)."""
    def check() -> kiosks.KioskInfo:
        with state.runtime.database.session() as s:
            return kiosks.info(kiosks.authenticate(s, x_kiosk_token))
    return _checked(state, ("kiosk", kiosks.token_hash(x_kiosk_token or "")), check)


CurrentKiosk = Annotated[kiosks.KioskInfo, Depends(get_kiosk)]


def get_kiosk_session(state: State, kiosk: CurrentKiosk,
                      x_kiosk_session: Annotated[str | None, Header()] = None) -> kiosks.SessionInfo:
    def check() -> kiosks.SessionInfo:
        with state.runtime.database.session() as s:
            sess = kiosks.current_session(s, kiosk, x_kiosk_session)
            return kiosks.SessionInfo(sess.region_code, sess.inmate_number, session_key(kiosk.id, sess.id))
    return _checked(state, ("session", kiosk.id, kiosks.token_hash(x_kiosk_session or "")), check)


CurrentSession = Annotated[kiosks.SessionInfo, Depends(get_kiosk_session)]


# --- portal (staff and bureau pages) -------------------------------------------------------------------------

SESSION_COOKIE = "bj_portal"


class LoginRequired(Exception):
    """No live portal session: pages redirect to the login form."""


class CsrfError(Exception):
    """A portal form arrived without the session's CSRF token."""


def get_principal(request: Request, state: State,
                  bj_portal: Annotated[str | None, Cookie()] = None) -> users.Principal:
    """The signed-in user (their session touched in a short transaction of its own)."""
    with state.runtime.database.session() as s:
        who = users.current(s, bj_portal)
    if who is None:
        raise LoginRequired()
    request.state.who = who  # error pages keep the menu
    return who


CurrentUser = Annotated[users.Principal, Depends(get_principal)]


def _role(*roles: str):
    async def check(who: CurrentUser) -> users.Principal:  # no I/O: runs on the event loop
        users.require_role(who, *roles)
        return who
    return check


BureauUser = Annotated[users.Principal, Depends(_role(users.BUREAU))]
PrisonUser = Annotated[users.Principal, Depends(_role(users.PRISON))]
AdminUser = Annotated[users.Principal, Depends(_role(users.ADMIN))]
StaffUser = Annotated[users.Principal, Depends(_role(users.PRISON, users.ADMIN))]
EditorUser = Annotated[users.Principal, Depends(_role(users.BUREAU, users.ADMIN))]  # knowledge-file FAQ entries


async def check_csrf(request: Request, who: CurrentUser) -> users.Principal:
    """Every portal form POST carries the session's CSRF token (the cookie is also SameSite=Strict)."""
    form = await request.form()
    token = form.get("csrf_token")
    if not users.csrf_matches(who.csrf_token, token if isinstance(token, str) else None):
        raise CsrfError()
    return who


CsrfChecked = Annotated[users.Principal, Depends(check_csrf)]


def _form_role(*roles: str):
    def check(who: CsrfChecked) -> users.Principal:
        users.require_role(who, *roles)
        return who
    return check


BureauForm = Annotated[users.Principal, Depends(_form_role(users.BUREAU))]
PrisonForm = Annotated[users.Principal, Depends(_form_role(users.PRISON))]
AdminForm = Annotated[users.Principal, Depends(_form_role(users.ADMIN))]
EditorForm = Annotated[users.Principal, Depends(_form_role(users.BUREAU, users.ADMIN))]
