"""Admin portal: accounts and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from assistant.api.deps import DB, AdminForm, AdminUser, RecordId, State
from assistant.api.templating import render
from assistant.services import audit, routing, users
from assistant.services.errors import InvalidError, NotFoundError
from assistant.services.periods import parse_period

router = APIRouter(prefix="/portal/admin", include_in_schema=False)


@router.get("/unopened")
def unopened(request: Request, who: AdminUser, db: DB, state: State) -> Response:
    """尚未开通的县: open follow-ups no bureau account covers yet, per county, with counts and age."""
    rows = routing.unopened(db, state.runtime.regions)
    return render(request, "admin_unopened.html", who, rows=rows, title="尚未开通的县")


@router.get("/users")
def user_list(request: Request, who: AdminUser, db: DB, state: State) -> Response:
    return render(request, "admin_users.html", who, users=users.list_users(db), role_names=users.ROLE_NAMES,
                  counties=state.runtime.regions.bindable(), title="账号")


@router.post("/users")
def add_user(state: State, who: AdminForm, username: Annotated[str, Form(max_length=60)],
             password: Annotated[str, Form(max_length=200)], role: Annotated[str, Form(max_length=20)],
             display_name: Annotated[str, Form(max_length=100)] = "", prison: Annotated[str, Form(max_length=100)] = "",
             region_code: Annotated[str, Form(max_length=6)] = "") -> Response:
    runtime = state.runtime
    counties = [r.code for r in runtime.regions.bindable()]
    with runtime.database.session() as s:
        users.add_user(s, username, password, role, display_name, prison, region_code, known_regions=counties,
                       by=who)
    return RedirectResponse("/portal/admin/users?done=user_added", 303)


@router.post("/users/{user_id}/password")
def reset_password(state: State, who: AdminForm, user_id: RecordId,
                   password: Annotated[str, Form(max_length=200)]) -> Response:
    """Set a new password for an account (e.g. forgotten); its sessions end."""
    with state.runtime.database.session() as s:
        users.set_password(s, user_id, password, by=who)
    return RedirectResponse("/portal/admin/users?done=password_set", 303)


@router.post("/users/{user_id}/{change}")
def change_user(state: State, who: AdminForm, user_id: RecordId, change: str) -> Response:
    if change not in ("disable", "enable"):
        raise NotFoundError("没有这项操作")
    if user_id == who.user_id:
        raise InvalidError("不能停用自己的账号")
    with state.runtime.database.session() as s:
        users.set_disabled(s, user_id, change == "disable", by=who)
    return RedirectResponse("/portal/admin/users?done=user_changed", 303)


@router.get("/audit")
def audit_log(request: Request, who: AdminUser, db: DB, action: Annotated[str | None, Query(max_length=40)] = None,
              scope: Annotated[str | None, Query(max_length=100)] = None,
              q: Annotated[str | None, Query(max_length=100)] = None,
              since: Annotated[str | None, Query(max_length=20)] = None,
              until: Annotated[str | None, Query(max_length=20)] = None) -> Response:
    start, end = parse_period(since, until)
    return render(request, "admin_audit.html", who,
                  events=audit.events(db, scope or None, action or None, text=q, since=start, until=end),
                  action_names=audit.ACTION_NAMES, action=action, scope=scope, q=q, since=since, until=until,
                  title="操作记录")
