"""Bureau portal: the county's follow-up queue, answers, FAQ drafts and approval, knowledge review, statistics.

Every handler scopes by the signed-in user's county; the service layer checks it again on each record.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from assistant.api.deps import DB, BureauForm, BureauUser, FaqId, RecordId, State
from assistant.api.templating import render
from assistant.knowledge.faq import MIN_PARAPHRASES
from assistant.services import bureau_contacts, faq, file_faq, followups, routing, users
from assistant.services.county_knowledge import by_urgency, county_knowledge
from assistant.services.errors import ForbiddenError, InvalidError
from assistant.services.periods import parse_period
from assistant.services.statistics import county_stats

router = APIRouter(prefix="/portal/bureau", include_in_schema=False)
QUEUE_STATES = {"open": followups.OPEN, "answered": followups.ANSWERED, "all": None}


def _scope(s, state, who) -> set[str]:
    """The follow-up regions this bureau takes up (a listed city bureau: also its counties without an account)."""
    return routing.bureau_scope(s, state.runtime.regions, who.county)


@router.get("/queue")
def queue(request: Request, who: BureauUser, db: DB, state_: State,
          state: Annotated[str, Query(pattern="^(open|answered|all)$")] = "open",
          q: Annotated[str | None, Query(max_length=100)] = None,
          topic: Annotated[str | None, Query(max_length=40)] = None) -> Response:
    groups = followups.bureau_queue(db, _scope(db, state_, who), QUEUE_STATES[state], q, topic or None)
    return render(request, "bureau_queue.html", who, groups=groups, state=state, q=q, topic=topic,
                  title="待跟进的问题", withheld=followups.withheld_count(db, who.county))


@router.get("/followups/{followup_id}")
def followup_detail(request: Request, who: BureauUser, db: DB, state: State, followup_id: RecordId) -> Response:
    fu = followups.get_followup(db, followup_id)
    followups.check_region(fu, _scope(db, state, who))
    members = followups.group_members(db, fu)
    faq_id = faq.drafted_from(db, [m.id for m in members])
    return render(request, "bureau_followup.html", who, fu=fu, members=members, events=followups.bureau_history(fu),
                  faq_id=faq_id, title=f"跟进事项 {fu.id}")


@router.post("/followups/{followup_id}/answer")
def answer(state: State, who: BureauForm, followup_id: RecordId,
           answer: Annotated[str, Form(max_length=5000)]) -> Response:
    with state.runtime.database.session() as s:
        followups.answer_followup(s, followup_id, answer, who, region_code=_scope(s, state, who))
    return RedirectResponse("/portal/bureau/queue?done=answered", 303)


@router.post("/followups/{followup_id}/close")
def close(state: State, who: BureauForm, followup_id: RecordId, note: Annotated[str, Form(max_length=500)]) -> Response:
    if not note.strip():
        raise InvalidError("请写明关闭原因")
    with state.runtime.database.session() as s:
        followups.close_followup(s, followup_id, who, note.strip(), region_code=_scope(s, state, who))
    return RedirectResponse(f"/portal/bureau/followups/{followup_id}?done=closed", 303)


@router.post("/followups/{followup_id}/draft")
def draft(state: State, who: BureauForm, followup_id: RecordId) -> Response:
    with state.runtime.database.session() as s:
        faq_id = faq.draft_from_followup(s, state.runtime.kb, followup_id, who, region_code=who.county).id
    return RedirectResponse(f"/portal/bureau/faq/{faq_id}", 303)


@router.get("/faq")
def faq_list(request: Request, who: BureauUser, db: DB) -> Response:
    published = faq.records(db, who.county, "approved")
    withdrawn = faq.records(db, who.county, faq.WITHDRAWN)
    return render(request, "bureau_faq.html", who, drafts=faq.drafts(db, who.county), published=published,
                  withdrawn=withdrawn, title="本县问答")


@router.post("/faq/{faq_id}/reopen")
def faq_reopen(state: State, who: BureauForm, faq_id: FaqId) -> Response:
    """Edit a published entry: back to draft (off the kiosks at once) until it is approved again."""
    with state.runtime.database.session() as s:
        faq.reopen(s, faq_id, who.county, by=who)
    state.runtime.unpublish_faq(faq_id)
    return RedirectResponse(f"/portal/bureau/faq/{faq_id}?done=saved", 303)


@router.post("/faq/{faq_id}/withdraw")
def faq_withdraw(state: State, who: BureauForm, faq_id: FaqId,
                 note: Annotated[str, Form(max_length=500)] = "") -> Response:
    with state.runtime.database.session() as s:
        faq.withdraw(s, faq_id, who.county, by=who, note=note)
    state.runtime.unpublish_faq(faq_id)
    return RedirectResponse("/portal/bureau/faq", 303)


@router.post("/faq/{faq_id}/merge")
def faq_merge(state: State, who: BureauForm, faq_id: FaqId, into: Annotated[str, Form(max_length=80)]) -> Response:
    """Merge this entry into `into`: its wordings become paraphrases there, and this one is withdrawn."""
    runtime = state.runtime
    with runtime.database.session() as s:
        _, entry = faq.merge(s, runtime.kb, into.strip(), faq_id, who.county, by=who)
    runtime.unpublish_faq(faq_id)
    if entry is not None:
        runtime.publish_faq(entry)
    return RedirectResponse(f"/portal/bureau/faq/{into.strip()}", 303)


def _faq_page(request: Request, who: users.Principal, record: faq.FaqRecord, error: str = "",
              status_code: int = 200) -> Response:
    topics = list(request.app.state.service.runtime.kb.topics.values())
    rows = [*record.sources, *({} for _ in range(2))]  # two empty rows to add sources
    others = [] if record.status == faq.WITHDRAWN else _mergeable(request, record)
    return render(request, "bureau_faq_edit.html", who, status_code=status_code, record=record, topics=topics,
                  others=others,
                  error=error, min_paraphrases=MIN_PARAPHRASES, source_rows=rows, kinds=faq.EDITABLE_KINDS,
                  title=f"问答 {record.id}")


def _mergeable(request: Request, record: faq.FaqRecord) -> list[faq.FaqRecord]:
    """The county's other drafts and published entries this one may be merged into."""
    with request.app.state.service.runtime.database.session() as s:
        return faq.mergeable(s, record)


@router.get("/faq/{faq_id}")
def faq_edit(request: Request, who: BureauUser, db: DB, faq_id: FaqId) -> Response:
    return _faq_page(request, who, faq.get_record(db, faq_id, who.county))


@router.post("/faq/{faq_id}")
def faq_save(request: Request, state: State, who: BureauForm, faq_id: FaqId,
             question: Annotated[str, Form(max_length=300)], answer: Annotated[str, Form(max_length=5000)],
             paraphrases: Annotated[str, Form(max_length=5000)] = "",
             topics: Annotated[list[str] | None, Form()] = None,
             src_title: Annotated[list[str] | None, Form()] = None,
             src_kind: Annotated[list[str] | None, Form()] = None,
             src_article: Annotated[list[str] | None, Form()] = None,
             src_version: Annotated[list[str] | None, Form()] = None,
             action: Annotated[str, Form(pattern="^(save|approve)$")] = "save") -> Response:
    """Save the draft (always kept), then approve and publish it if asked; problems are shown on the form."""
    runtime = state.runtime
    unknown = [t for t in topics or [] if t not in runtime.kb.topics]
    if unknown:
        raise InvalidError(f"未知的主题：{'、'.join(unknown)}")
    if not question.strip() or not answer.strip():
        raise InvalidError("标准问题和答复都不能为空")
    with runtime.database.session() as s:
        record = faq.get_record(s, faq_id, who.county)
        sources = record.sources if src_title is None else faq.sources_from_form(
            list(record.sources), src_title, src_kind or [], src_article or [], src_version or [])
        faq.update_draft(s, faq_id, who.county, by=who, question=question.strip(), answer=answer.strip(),
                         paraphrases=file_faq.wording_lines(paraphrases), topics=list(topics or []), sources=sources)
    if action == "save":
        return RedirectResponse(f"/portal/bureau/faq/{faq_id}?done=saved", 303)
    try:
        with runtime.database.session() as s:
            entry = faq.approve(s, runtime.kb, faq_id, who, who.county)
    except (InvalidError, ForbiddenError) as exc:
        with runtime.database.session() as s:
            record = faq.get_record(s, faq_id, who.county)
        return _faq_page(request, who, record, f"草稿已保存，但还不能发布：{exc}", 422)
    runtime.publish_faq(entry)
    return RedirectResponse(f"/portal/bureau/faq/{faq_id}?done=published", 303)


@router.get("/contact")
def contact_form(request: Request, who: BureauUser, db: DB, state: State) -> Response:
    region = state.runtime.regions[who.county]
    return render(request, "bureau_contact.html", who, region=region, bureau=region.bureau,
                  saved=bureau_contacts.saved_row(db, who.county), title="本局联系方式")


@router.post("/contact")
def contact_save(state: State, who: BureauForm, name: Annotated[str, Form(max_length=300)] = "",
                 phone: Annotated[str, Form(max_length=300)] = "", address: Annotated[str, Form(max_length=300)] = "",
                 hours: Annotated[str, Form(max_length=300)] = "") -> Response:
    """Save the county's contact details and put them live on the kiosks and sheets at once."""
    runtime = state.runtime
    with runtime.database.session() as s:
        bureau_contacts.save_contact(s, who.county, {"name": name, "phone": phone, "address": address,
                                                          "hours": hours}, who)
        saved = bureau_contacts.saved_contacts(s)[who.county]
    runtime.publish_contact(who.county, saved)
    return RedirectResponse("/portal/bureau/contact?done=contact_saved", 303)


@router.get("/knowledge")
def knowledge(request: Request, who: BureauUser, state: State) -> Response:
    today = datetime.now(UTC).date()
    rows = by_urgency(county_knowledge(state.runtime.kb, who.county), today)
    states = [r.state(today) for r in rows]
    return render(request, "bureau_knowledge.html", who, rows=rows, today=today, overdue=states.count("overdue"),
                  soon=states.count("soon"), title="本县知识库")


@router.get("/stats")
def stats(request: Request, who: BureauUser, db: DB, state: State,
          since: Annotated[str | None, Query(max_length=20)] = None,
          until: Annotated[str | None, Query(max_length=20)] = None) -> Response:
    start, end = parse_period(since, until)
    figures = county_stats(db, _scope(db, state, who), start, end)
    return render(request, "bureau_stats.html", who, stats=figures, since=since, until=until,
                  week_max=max((n for _, n in figures.by_week), default=1), title="统计")

