"""Portal sign-in and sign-out, and the home page that sends each role to its first page."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Cookie, Form, Request
from fastapi.responses import RedirectResponse, Response

from assistant.api.deps import SESSION_COOKIE, CsrfChecked, CurrentUser, State
from assistant.api.templating import MENUS, render
from assistant.services import users
from assistant.services.errors import ForbiddenError

router = APIRouter(prefix="/portal", include_in_schema=False)
LOGIN_CSRF_COOKIE = "bj_login_csrf"


def safe_next(target: str | None) -> str:
    """Only local portal paths are followed after sign-in (no open redirect)."""
    if target and target.startswith("/portal/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/portal/"


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _login_page(request: Request, state: State, next_: str, username: str = "", error: str = "",
                status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, status_code=status_code, login_csrf=token, next=safe_next(next_),
                      username=username, error=error, title="登录")
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/portal/login",
                        secure=state.runtime.settings.cookie_secure)
    return response


@router.get("/login")
def login_form(request: Request, state: State, next: str = "/portal/") -> Response:
    return _login_page(request, state, next)


@router.post("/login")
def login(request: Request, state: State, username: Annotated[str, Form(max_length=60)],
          password: Annotated[str, Form(max_length=200)], login_csrf: Annotated[str, Form(max_length=100)] = "",
          next: Annotated[str, Form(max_length=500)] = "/portal/",
          bj_login_csrf: Annotated[str | None, Cookie()] = None,
          bj_portal: Annotated[str | None, Cookie()] = None) -> Response:
    """Check the form's token, count the attempt (throttle), then the password; a new session token on every sign-in."""
    if not bj_login_csrf or not users.csrf_matches(bj_login_csrf, login_csrf):
        return _login_page(request, state, next, username, "登录页面已过期，请重新输入。", 403)
    address = client_address(request)
    if not state.login_attempt(username, address):
        with state.runtime.database.session() as s:
            users.login_refused(s, username, address, throttled=True)
        return _login_page(request, state, next, username, "登录失败次数太多，请 15 分钟后再试。", 429)
    try:
        with state.runtime.database.session() as s:
            users.logout(s, bj_portal)  # any earlier session of this browser ends
            new = users.login(s, username, password, address)
    except ForbiddenError as exc:
        state.login_failed(address)
        with state.runtime.database.session() as s:
            users.login_refused(s, username, address)
        return _login_page(request, state, next, username, str(exc), 401)
    state.login_succeeded(username)
    response = RedirectResponse(safe_next(next), 303)
    response.set_cookie(SESSION_COOKIE, new.token, httponly=True, samesite="strict", path="/portal",
                        secure=state.runtime.settings.cookie_secure)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/portal/login")
    return response


@router.post("/logout")
def logout(state: State, who: CsrfChecked, bj_portal: Annotated[str | None, Cookie()] = None) -> Response:
    with state.runtime.database.session() as s:
        users.logout(s, bj_portal, who)
    response = RedirectResponse("/portal/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/portal")
    return response


@router.get("/")
def home(who: CurrentUser) -> Response:
    return RedirectResponse(MENUS[who.role][0][0], 303)


@router.get("/account")
def account(request: Request, who: CurrentUser) -> Response:
    return render(request, "account.html", who, title="修改密码")


@router.post("/account/password")
def change_password(request: Request, state: State, who: CsrfChecked, current: Annotated[str, Form(max_length=200)],
                    password: Annotated[str, Form(max_length=200)],
                    confirm: Annotated[str, Form(max_length=200)]) -> Response:
    """Change one's own password (the current one is asked again); every session ends, so sign in anew."""
    if password != confirm:
        return render(request, "account.html", who, status_code=400, error="两次输入的新密码不一样", title="修改密码")
    address = client_address(request)
    if not state.login_attempt(who.username, address):
        return render(request, "account.html", who, status_code=429, error="尝试次数太多，请 15 分钟后再试",
                      title="修改密码")
    try:
        with state.runtime.database.session() as s:
            users.verify_password(s, who.username, current)
            users.set_password(s, who.user_id, password, by=who, detail="own password")
    except ForbiddenError:
        state.login_failed(address)
        return render(request, "account.html", who, status_code=403, error="当前密码不正确", title="修改密码")
    response = RedirectResponse("/portal/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/portal")
    return response
