"""Server-rendered portal pages (Jinja2, autoescaped): one environment, one render helper."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from assistant.services.followups import STATE_NAMES
from assistant.services.users import ADMIN, BUREAU, PRISON, Principal

TEMPLATES = Path(__file__).with_name("templates")
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
templates = Jinja2Templates(directory=TEMPLATES)


def local_time(value: datetime | date | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Beijing time for display (stored times are UTC)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(LOCAL_TZ)
        return value.strftime(fmt)
    return value.isoformat()


MENUS = {
    BUREAU: [("/portal/bureau/queue", "待跟进"), ("/portal/review", "审核回答"), ("/portal/bureau/faq", "问答"),
             ("/portal/knowledge-faq", "知识库问答"), ("/portal/bureau/knowledge", "知识库"),
             ("/portal/bureau/stats", "统计"), ("/portal/bureau/contact", "联系方式"), ("/portal/exports", "导出")],
    PRISON: [("/portal/prison/deliveries", "待转交"), ("/portal/prison/questions", "提问记录"),
             ("/portal/prison/sheets", "问答单"), ("/portal/kiosks", "终端"), ("/portal/exports", "导出")],
    ADMIN: [("/portal/admin/users", "账号"), ("/portal/admin/unopened", "尚未开通的县"),
            ("/portal/admin/audit", "操作记录"), ("/portal/review/coverage", "审核统计"),
            ("/portal/knowledge-faq", "知识库问答"), ("/portal/kiosks", "终端"),
            ("/portal/exports", "导出")],
}
NOTICES = {
    "answered": "已答复，监狱民警会把答复转交给提问人。", "closed": "已关闭。", "delivered": "已记为转交。",
    "saved": "草稿已保存。", "published": "已发布：终端上现在就能直接回答这类问题。", "revoked": "终端已停用。",
    "user_added": "账号已新建。", "user_changed": "账号状态已更改。",
    "password_set": "密码已重设，该账号需要用新密码重新登录。",
    "contact_saved": "已保存：终端回答和问答单上现在显示新的联系方式。",
    "file_edited": "已保存新版本：终端和问答单上现在用这个答复，复核日期为今天。",
    "file_withdrawn": "已撤回：终端和问答单上不再出现这条问答。",
    "file_merged": "已合并：问法已并入另一条问答，这一条已撤回。",
    "file_restored": "已恢复：现在用的是知识库文件里的版本。",
}
templates.env.filters["local"] = local_time
templates.env.globals["STATE_NAMES"] = STATE_NAMES
templates.env.globals["menu"] = lambda who: MENUS.get(who.role, [])


def render(request: Request, name: str, who: Principal | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page; every page gets the signed-in user (menu, CSRF field) and name look-ups for codes."""
    runtime = request.app.state.service.runtime
    regions, topics = runtime.regions, runtime.kb.topics

    def region_name(code: str | None) -> str:
        if code and code in regions:  # a county with its city, so namesakes (朝阳区) are told apart
            return regions.display_name(code) if regions[code].level == "county" else regions[code].name
        return code or ""

    def topic_label(key: str | None) -> str:
        return topics[key].name if key in topics else (key or "（未分类）")

    base = {"who": who, "region_name": region_name, "topic_label": topic_label,
            "topic_names": {key: t.name for key, t in topics.items()},
            "scope_name": (region_name(who.region_code) if who.region_code else who.prison) if who else "",
            "notice": NOTICES.get(request.query_params.get("done", ""))}
    response = templates.TemplateResponse(request, name, base | context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response
