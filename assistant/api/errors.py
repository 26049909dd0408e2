"""Clear errors for every rejected request: JSON in Chinese and English for the API, a Chinese page for the portal."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.api.deps import CsrfError, LoginRequired
from assistant.services.errors import (
    ForbiddenError,
    InvalidError,
    NotFoundError,
    ServiceError,
    StateError,
    ThrottledError,
    UnavailableError,
)

log = logging.getLogger(__name__)

FIELD_NAMES = {"question": "问题", "county": "户籍地", "inmate_number": "服刑人员编号", "pin": "民警口令",
               "question_id": "问题编号"}


def error_body(code: str, zh: str, en: str, details: list[dict] | None = None) -> dict:
    return {"error": {"code": code, "message": {"zh": zh, "en": en}, "details": details or []}}


def _detail(err: dict) -> dict:
    loc = [str(x) for x in err.get("loc", ()) if x not in ("body", "query", "header")]
    field = loc[-1] if loc else ""
    name = FIELD_NAMES.get(field, field)
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        zh = f"缺少{name}"
    elif kind in ("string_too_short", "too_short"):
        zh = f"{name}不能为空"
    elif kind in ("string_too_long", "too_long"):
        zh = f"{name}太长（最多 {ctx.get('max_length', '?')} 个字）"
    elif kind == "value_error":
        zh = f"{name}：{str(ctx.get('error', '')) or '格式不正确'}"
    else:
        zh = f"{name}格式不正确"
    return {"field": ".".join(loc), "zh": zh, "en": err.get("msg", "invalid value")}


STATUS = {NotFoundError: 404, ForbiddenError: 403, StateError: 409, InvalidError: 400, UnavailableError: 503,
          ThrottledError: 429}


HTTP_ZH = {401: "请先登录", 403: "没有权限", 404: "找不到这个地址", 405: "不支持这种请求方式", 413: "提交的内容太大",
           429: "请求太频繁，请稍后再试", 503: "系统正在准备，请稍等"}


def is_portal(request: Request) -> bool:
    return request.url.path.startswith("/portal")


def portal_error(request: Request, status: int, message: str, details: list[str] | None = None) -> Response:
    from assistant.api.templating import render

    return render(request, "error.html", getattr(request.state, "who", None), status_code=status,
                  message=message, details=details or [])


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        details = [_detail(e) for e in exc.errors()]
        zh = "；".join(d["zh"] for d in details) or "请求内容不符合要求"
        if is_portal(request):
            return portal_error(request, 422, "填写的内容不符合要求", [d["zh"] for d in details])
        return JSONResponse(error_body("validation_error", zh, "Request validation failed", details), 422)

    @app.exception_handler(ServiceError)
    async def _service(request: Request, exc: ServiceError) -> Response:
        status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 400)
        if is_portal(request):
            return portal_error(request, status, str(exc))
        return JSONResponse(error_body(type(exc).__name__, str(exc), str(exc)), status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        zh = HTTP_ZH.get(exc.status_code, str(exc.detail))
        if is_portal(request):
            return portal_error(request, exc.status_code, zh)
        return JSONResponse(error_body(f"http_{exc.status_code}", zh, str(exc.detail)), exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(OperationalError)
    async def _database(request: Request, exc: OperationalError) -> Response:
        """The database is unreachable, locked or full before anything was accepted: say so, nothing is stored."""
        log.error("数据库暂时不可用 (database unavailable): %s", exc.orig)
        zh = "数据库暂时不可用，这次请求没有保存，请稍后再试；一直这样请告诉值班民警"
        if is_portal(request):
            return portal_error(request, 503, zh)
        return JSONResponse(error_body("database_unavailable", zh,
                                       "The database is unavailable; nothing was stored, please try again later"),
                            503)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        target = request.url.path if request.method == "GET" else "/portal/"
        return RedirectResponse(f"/portal/login?next={quote(target)}", 303)

    @app.exception_handler(CsrfError)
    async def _csrf(request: Request, _exc: CsrfError) -> Response:
        return portal_error(request, 403, "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试")
