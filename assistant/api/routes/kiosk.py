"""The kiosk API: regions, topics, sessions, ask, "没解决", own follow-ups, officer alerts."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from assistant.api.conversation_store import turn_from_answer
from assistant.api.deps import DB, CurrentKiosk, CurrentSession, ReadyState, State
from assistant.api.schemas import AskRequest, AskResponse, Bureau, FeedbackRequest, PinRequest, SessionRequest
from assistant.knowledge.regions import UnknownRegionError
from assistant.services import audit, kiosks
from assistant.services.errors import InvalidError
from assistant.services.followups import STATE_NAMES
from assistant.services.questions import AskContext
from assistant.storage.models import FollowUp, Question

router = APIRouter(prefix="/api", tags=["kiosk"])
TOP_QUESTIONS = 6


@router.get("/regions")
def regions(state: State) -> list[dict]:
    """The region tree for the county picker (bureau contact fields empty until a bureau fills them)."""
    return [{"code": r.code, "name": r.name, "level": r.level, "parent": r.parent, "aliases": list(r.aliases),
             "bureau": r.bureau.__dict__} for r in state.runtime.regions.all()]


@router.get("/topics")
def topics(state: State, db: DB, county: Annotated[str | None, Query(max_length=30)] = None) -> list[dict]:
    """Topics, each with the questions most asked in the county's scope (approved FAQ entries)."""
    runtime = state.runtime
    chain: list[str] = []
    counts: Counter[str] = Counter()
    if county:
        try:
            code = runtime.regions.resolve(county).code
        except UnknownRegionError as exc:
            raise InvalidError(str(exc)) from exc
        chain = [r.code for r in runtime.regions.chain(code)]
        for items in db.scalars(select(Question.items).where(Question.region_code == code)):
            counts.update(items or [])
    out = []
    for topic in runtime.kb.topics.values():
        entries = [f for f in runtime.kb.approved_faq if topic.key in f.topics and (not chain or f.region in chain)]
        entries.sort(key=lambda f: (-counts[f.id], -runtime.regions.locality(f.region), f.id))
        out.append({"key": topic.key, "name": topic.name, "description": topic.description,
                    "questions": [{"id": f.id, "question": f.question} for f in entries[:TOP_QUESTIONS]]})
    return out


@router.post("/session")
def open_session(body: SessionRequest, state: State, db: DB, kiosk: CurrentKiosk) -> dict:
    """The supervising officer opens a session for one asker (home county, optional inmate number)."""
    try:
        region = state.runtime.regions.resolve(body.county)
    except UnknownRegionError as exc:
        raise InvalidError(str(exc)) from exc
    token = kiosks.open_session(db, kiosk, body.pin, region.code, body.inmate_number)
    state.conversations.clear_kiosk(kiosk.id)  # earlier sessions of the kiosk ended: their turns go
    audit.record(db, f"kiosk:{kiosk.id}", "kiosk_session_opened", f"kiosk:{kiosk.id}", f"户籍地 {region.code}",
                 scope=kiosk.prison)
    return {"session": token, "county": {"code": region.code, "name": region.name}, "kiosk": kiosk.name}


@router.delete("/session")
def end_session(body: PinRequest, state: State, db: DB, kiosk: CurrentKiosk) -> dict:
    ended = kiosks.end_session(db, kiosk, body.pin)
    state.conversations.clear_kiosk(kiosk.id)
    audit.record(db, f"kiosk:{kiosk.id}", "kiosk_session_ended", f"kiosk:{kiosk.id}", scope=kiosk.prison)
    return {"ended": ended}


@router.post("/ask", response_model=AskResponse)
def ask(body: AskRequest, state: ReadyState, kiosk: CurrentKiosk, session: CurrentSession) -> dict:
    """Answer a question for the session's county; the same fields as `assistant ask --json`."""
    if not state.allow(kiosk.id):
        raise HTTPException(429, "too many questions from this kiosk, try again in a minute")
    runtime = state.runtime
    answer = runtime.answerer.run(body.question, session.region_code)
    logged = state.qlog.record(answer, AskContext(prison=kiosk.prison, kiosk=kiosk.name,
                                                  inmate_number=session.inmate_number))
    answer.question_id, answer.followup_id = logged.question_id, logged.followup_id
    if logged.notice:  # neither the database nor the spool took it: the asker must know
        answer.answer = f"{answer.answer}\n\n{logged.notice}"
    bureau = runtime.regions.bureau_region(session.region_code).bureau
    turn = state.conversations.append(session.key, turn_from_answer(body.question, answer))
    return {**answer.public(), "question_id": logged.question_id, "bureau": Bureau(**bureau.__dict__),
            "turn": turn.number}


@router.post("/feedback")
def unresolved(body: FeedbackRequest, state: ReadyState, kiosk: CurrentKiosk, session: CurrentSession) -> dict:
    """The asker pressed "没解决我的问题": the question goes to the bureau as a follow-up (spooled if the
    database is down, so the press is never lost)."""
    logged = state.qlog.unresolved(body.question_id, kiosk.name, kiosk.prison)
    if logged.notice:
        return {"followup_id": None, "message": logged.notice}
    bureau = "户籍地司法局"
    if not logged.spooled:
        try:
            with state.runtime.database.session() as db:
                region_code = db.scalar(select(Question.region_code).where(Question.id == body.question_id))
            bureau = state.runtime.regions.bureau_region(region_code).bureau.name or bureau
        except SQLAlchemyError:
            pass  # recorded already; only the bureau's name is missing from the message
    return {"followup_id": logged.followup_id,
            "message": f"已经记下来了。{bureau}会认真答复，答复会通过监狱民警转交给你。"}


@router.get("/followups")
def own_followups(db: DB, kiosk: CurrentKiosk) -> list[dict]:
    """Status of the follow-ups opened from this kiosk (no answers or inmate data on a shared screen)."""
    rows = db.execute(select(FollowUp).join(Question, Question.followup_id == FollowUp.id)
                      .where(Question.kiosk == kiosk.name, Question.prison == kiosk.prison)
                      .order_by(FollowUp.id.desc()).limit(50)).scalars()
    return [{"id": f.id, "state": f.state, "state_name": STATE_NAMES[f.state], "topic": f.topic,
             "created_at": f.created_at.isoformat()} for f in dict.fromkeys(rows)]


@router.get("/officer/alerts")
def officer_alerts(db: DB, kiosk: CurrentKiosk, x_officer_pin: Annotated[str | None, Header()] = None,
                   hours: Annotated[int, Query(ge=1, le=72)] = 12) -> list[dict]:
    """Crisis alerts from this prison's kiosks, newest first, for the supervising officer's view."""
    kiosks.check_pin(kiosk, x_officer_pin or "")
    since = datetime.now(UTC) - timedelta(hours=hours)
    rows = db.scalars(select(Question).where(Question.prison == kiosk.prison, Question.alert.is_not(None),
                                             Question.asked_at >= since).order_by(Question.id.desc()))
    return [{"question_id": q.id, "kiosk": q.kiosk, "asked_at": q.asked_at.isoformat(), "text": q.text}
            for q in rows]
