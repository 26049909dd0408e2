"""Prison staff portal: questions asked at their prison, replies to deliver, printable FAQ sheets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from assistant.api.deps import DB, PrisonForm, PrisonUser, RecordId, State
from assistant.api.downloads import attachment
from assistant.api.errors import portal_error
from assistant.api.templating import render
from assistant.knowledge.models import NATIONAL_CODE
from assistant.services import followups, kiosks
from assistant.services.exports import STATUS_NAMES
from assistant.services.periods import parse_period
from assistant.services.questions import prison_questions

router = APIRouter(prefix="/portal/prison", include_in_schema=False)
PAGE_ROWS = 200


@router.get("/questions")
def questions(request: Request, who: PrisonUser, db: DB, since: Annotated[str | None, Query(max_length=20)] = None,
              until: Annotated[str | None, Query(max_length=20)] = None,
              status: Annotated[str | None, Query(pattern="^(|answered|flagged|out_of_scope)$")] = None,
              q: Annotated[str | None, Query(max_length=100)] = None,
              topic: Annotated[str | None, Query(max_length=40)] = None) -> Response:
    start, end = parse_period(since, until)
    rows = prison_questions(db, who.home_prison, start, end, status or None, q, topic or None, PAGE_ROWS + 1)
    return render(request, "prison_questions.html", who, questions=rows[:PAGE_ROWS], truncated=len(rows) > PAGE_ROWS,
                  since=since, until=until, status=status, status_names=STATUS_NAMES, q=q, topic=topic,
                  title="本监狱的提问")


@router.get("/deliveries")
def deliveries(request: Request, who: PrisonUser, db: DB) -> Response:
    items = followups.prison_queue(db, who.home_prison, followups.ANSWERED)
    unknown = [i for i in followups.prison_queue(db, who.home_prison, followups.OPEN) if i.region_code == NATIONAL_CODE]
    return render(request, "prison_deliveries.html", who, items=items, unknown=unknown, title="待转交的答复",
                  crises=followups.prison_crises(db, who.home_prison))


@router.post("/followups/{followup_id}/deliver")
def deliver(state: State, who: PrisonForm, followup_id: RecordId) -> Response:
    with state.runtime.database.session() as s:
        followups.deliver_followup(s, followup_id, who, prison=who.home_prison)
    return RedirectResponse("/portal/prison/deliveries?done=delivered", 303)


@router.get("/sheets")
def sheets_form(request: Request, who: PrisonUser, state: State, db: DB) -> Response:
    """The counties offered: the prison's inmates' home counties (most frequent first) and the listed ones —
    not all 2,851; any other county can be added by its code in the download URL (county=…)."""
    runtime = state.runtime
    homes = [c for c in kiosks.home_counts(db, who.home_prison) if c in runtime.regions and runtime.regions.is_home(c)]
    listed = [r.code for r in runtime.regions.listed() if r.level == "county"]
    counties = [runtime.regions[c] for c in dict.fromkeys([*homes, *listed]) if c != NATIONAL_CODE]
    return render(request, "prison_sheets.html", who, counties=counties, topics=list(runtime.kb.topics.values()),
                  title="打印问答单")


@router.get("/sheets/download")
def sheet_download(request: Request, state: State, who: PrisonUser, county: Annotated[list[str] | None, Query()] = None,
                   topic: Annotated[list[str] | None, Query()] = None,
                   since: Annotated[str | None, Query(max_length=20)] = None,
                   until: Annotated[str | None, Query(max_length=20)] = None,
                   limit: Annotated[str | None, Query(max_length=5)] = None,
                   own_prison: Annotated[str | None, Query(max_length=5)] = None,
                   format: Annotated[str, Query(pattern="^(pdf|docx)$")] = "pdf") -> Response:
    """The sheet as PDF or DOCX; counts only this prison's questions unless `own_prison` is unticked."""
    from assistant.services.sheets import prepare_sheet
    from assistant.sheets.content import SheetRequest

    runtime = state.runtime
    codes = [c for c in county or [] if c.strip()][:30]  # the "other county" box may be left empty
    req = SheetRequest.parse(region_codes=codes, topics=list(topic or [])[:30], since=since, until=until,
                             prison=who.prison if own_prison else None, limit=limit)
    with runtime.database.session() as s:
        sheet = prepare_sheet(s, who, runtime.kb, runtime.regions, req, format)
    if format == "pdf":
        from assistant.sheets.pdf_render import FontMissingError, render_pdf

        try:
            data, media = render_pdf(sheet), "application/pdf"
        except FontMissingError as exc:
            return portal_error(request, 503, f"服务器缺少中文字体，暂时不能生成 PDF（可先下载 Word 版）：{exc}")
    else:
        from assistant.sheets.docx_render import render_docx

        data = render_docx(sheet)
        media = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return attachment(data, media, f"faq-sheet-{'-'.join(req.region_codes)}-{stamp}.{format}", sheet.filename(format))
