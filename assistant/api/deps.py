"""Request dependencies (Annotated): the service state, a database session, the kiosk and its session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from sqlalchemy.orm import Session

from assistant.api.state import ServiceState
from assistant.services import kiosks


def get_state(request: Request) -> ServiceState:
    return request.app.state.service


State = Annotated[ServiceState, Depends(get_state)]


def get_ready_state(state: State) -> ServiceState:
    if not state.ready.is_set():
        raise HTTPException(503, "service is warming up")
    return state


ReadyState = Annotated[ServiceState, Depends(get_ready_state)]


def get_db(state: State) -> Iterator[Session]:
    with state.runtime.database.session() as session:
        yield session


DB = Annotated[Session, Depends(get_db)]


def get_kiosk(state: State, x_kiosk_token: Annotated[str | None, Header()] = None) -> kiosks.KioskInfo:
    """The calling kiosk, checked in a short transaction of its own (no lock held during the request)."""
    with state.runtime.database.session() as s:
        return kiosks.info(kiosks.authenticate(s, x_kiosk_token))


CurrentKiosk = Annotated[kiosks.KioskInfo, Depends(get_kiosk)]


def get_kiosk_session(state: State, kiosk: CurrentKiosk,
                      x_kiosk_session: Annotated[str | None, Header()] = None) -> kiosks.SessionInfo:
    with state.runtime.database.session() as s:
        sess = kiosks.current_session(s, kiosk, x_kiosk_session)
        return kiosks.SessionInfo(sess.region_code, sess.inmate_number)


CurrentSession = Annotated[kiosks.SessionInfo, Depends(get_kiosk_session)]
