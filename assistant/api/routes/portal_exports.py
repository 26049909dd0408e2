"""CSV/XLSX exports of the question log and follow-ups, always within the signed-in user's scope."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from assistant.api.deps import CurrentUser, State
from assistant.api.downloads import attachment
from assistant.api.templating import render
from assistant.services import users
from assistant.services.exports import STATUS_NAMES, ExportFilter, export_followups, export_questions, export_scope

router = APIRouter(prefix="/portal/exports", include_in_schema=False)
MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@router.get("")
def export_form(request: Request, who: CurrentUser, state: State) -> Response:
    scope_text = {users.ADMIN: "全部数据", users.BUREAU: "本县（区）户籍人员的提问",
                  users.PRISON: "本监狱的提问"}[who.role]
    return render(request, "exports.html", who, topics=list(state.runtime.kb.topics.values()),
                  status_names=STATUS_NAMES, scope_text=scope_text, title="导出")


@router.get("/download")
def download(state: State, who: CurrentUser,
             kind: Annotated[str, Query(pattern="^(questions|followups)$")] = "questions",
             format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "xlsx",
             since: Annotated[str | None, Query(max_length=20)] = None,
             until: Annotated[str | None, Query(max_length=20)] = None,
             topic: Annotated[str | None, Query(max_length=40)] = None,
             status: Annotated[str | None, Query(max_length=20)] = None,
             county: Annotated[str | None, Query(max_length=6)] = None,
             prison: Annotated[str | None, Query(max_length=100)] = None) -> Response:
    region_code, prison_scope = export_scope(who, county, prison)
    flt = ExportFilter.parse(since=since, until=until, status=status, topic=topic or None, region_code=region_code,
                             prison=prison_scope)
    runtime = state.runtime
    export = export_questions if kind == "questions" else export_followups
    with runtime.database.session() as s:
        data, _count = export(s, flt, format, runtime.regions, who, for_bureau=who.role == users.BUREAU)
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return attachment(data, MEDIA[format], f"bangjiao-{kind}-{stamp}.{format}")
