"""Kiosk management for prison staff (their prison) and admins (any prison): register, revoke, last activity."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from assistant.api.deps import DB, CsrfChecked, RecordId, StaffUser, State
from assistant.api.templating import render
from assistant.services import kiosks, users
from assistant.services.errors import InvalidError

router = APIRouter(prefix="/portal/kiosks", include_in_schema=False)


def _staff(who: users.Principal) -> str | None:
    """The prison this user may manage kiosks of (None: all, for admins)."""
    users.require_role(who, users.PRISON, users.ADMIN)
    return who.prison if who.role == users.PRISON else None


def _page(request: Request, who: users.Principal, db, registration: dict | None = None) -> Response:
    prison = _staff(who)
    return render(request, "kiosks.html", who, kiosks=kiosks.list_kiosks(db, prison), registration=registration,
                  title="终端管理")


@router.get("")
def kiosk_list(request: Request, who: StaffUser, db: DB) -> Response:
    return _page(request, who, db)


@router.post("")
def register(request: Request, state: State, who: CsrfChecked, name: Annotated[str, Form(max_length=100)],
             prison: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Register a kiosk; its device code and officer PIN are shown on this response only."""
    scope = _staff(who)
    target = scope if scope is not None else prison.strip()
    if not target:
        raise InvalidError("请填写监狱名称")
    with state.runtime.database.session() as s:
        reg = kiosks.register(s, target, name, by=who)
        shown = {"name": name.strip(), "token": reg.token, "pin": reg.pin}
        return _page(request, who, s, shown)


@router.post("/{kiosk_id}/revoke")
def revoke(state: State, who: CsrfChecked, kiosk_id: RecordId) -> Response:
    scope = _staff(who)
    with state.runtime.database.session() as s:
        kiosks.revoke(s, kiosk_id, prison=scope, by=who)
    return RedirectResponse("/portal/kiosks?done=revoked", 303)
