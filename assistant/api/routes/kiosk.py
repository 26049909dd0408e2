"""The kiosk API: regions, topics, sessions, ask, "没解决", own follow-ups, officer alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request
from sqlalchemy.exc import SQLAlchemyError

from assistant.api.conversation_store import turn_from_answer
from assistant.api.deps import DB, CurrentKiosk, CurrentSession, ReadyState, State
from assistant.api.schemas import (
    AlertOut,
    AskRequest,
    AskResponse,
    Bureau,
    ChoiceOut,
    ChoiceRequest,
    EndedOut,
    FeedbackOut,
    FeedbackRequest,
    FollowupOut,
    KioskOut,
    PairingOut,
    PairOut,
    PairRequest,
    RegionOut,
    SessionOut,
    SessionRequest,
    TopicOut,
)
from assistant.api.state import PAIRING_SECONDS
from assistant.knowledge.models import NATIONAL_CODE
from assistant.knowledge.regions import UNKNOWN_HOME, RegionTree, UnknownRegionError
from assistant.services import followups, kiosks, questions
from assistant.services.errors import ForbiddenError, InvalidError, NotFoundError, ThrottledError
from assistant.services.followups import STATE_NAMES
from assistant.services.most_asked import most_asked
from assistant.services.questions import AskContext, request_client_id

router = APIRouter(prefix="/api", tags=["kiosk"])
TOP_QUESTIONS = 6


def _region_dict(runtime, r, old_name: str | None = None) -> dict:
    out = {"code": r.code, "name": r.name, "level": r.level, "parent": r.parent, "aliases": list(r.aliases),
           "bureau": r.bureau.__dict__}
    if old_name is not None or r.level == "county":
        out |= {"full_name": runtime.regions.display_name(r.code), "old_name": old_name}
    return out


def _prison_homes(state, token: str | None) -> dict[str, int]:
    """The calling kiosk's prison's most frequent home counties (none for a caller that is not a kiosk)."""
    if not token:
        return {}
    try:
        with state.runtime.database.session() as s:
            return kiosks.home_counts(s, kiosks.authenticate(s, token).prison)
    except (ForbiddenError, SQLAlchemyError):
        return {}


@router.get("/regions", response_model=list[RegionOut], response_model_exclude_unset=True)
def regions(state: State,
            q: Annotated[str | None, Query(max_length=30, description="汉字、拼音首字母（xt）或代码")] = None,
            limit: Annotated[int | None, Query(ge=1, le=200)] = None,
            offset: Annotated[int, Query(ge=0)] = 0,
            x_kiosk_token: Annotated[str | None, Header()] = None) -> list[dict]:
    """Regions for the county picker (bureau contact fields empty until a bureau fills them).

    Without parameters: the regions taking part (regions.yaml), as before. With `q`: county-level units found
    by 汉字, pinyin initials or code, ranked, the calling kiosk's prison's most frequent home counties first
    (old names find today's county, `old_name` says which). With only `limit`/`offset`: a page of the whole tree.
    """
    runtime = state.runtime
    if q is not None and q.strip():
        hits = runtime.regions.search(q, limit or 10, _prison_homes(state, x_kiosk_token))
        return [_region_dict(runtime, r, old) for r, old in hits]
    if limit is None and not offset:
        return [_region_dict(runtime, r) for r in runtime.regions.listed()]
    return [_region_dict(runtime, r) for r in runtime.regions.all()[offset:offset + (limit or 100)]]


@router.get("/topics", response_model=list[TopicOut])
def topics(state: State, db: DB, county: Annotated[str | None, Query(max_length=30)] = None) -> list[dict]:
    """Topics, each with the questions most asked in the county's scope (approved FAQ entries)."""
    runtime = state.runtime
    code = None
    if county:
        try:
            code = runtime.regions.resolve(county).code
        except UnknownRegionError as exc:
            raise InvalidError(str(exc)) from exc
    ranked = [a.entry for a in most_asked(db, runtime.kb, runtime.regions, code)]
    out = []
    for topic in runtime.kb.topics.values():
        entries = [f for f in ranked if topic.key in f.topics][:TOP_QUESTIONS]
        out.append({"key": topic.key, "name": topic.name, "description": topic.description,
                    "questions": [{"id": f.id, "question": f.question} for f in entries]})
    return out


@router.get("/kiosk", response_model=KioskOut)
def this_kiosk(kiosk: CurrentKiosk) -> dict:
    """Which kiosk a device code belongs to: the page checks a code before keeping it (403 if unknown or revoked)."""
    return {"id": kiosk.id, "name": kiosk.name, "prison": kiosk.prison}


def check_officer_pin(request: Request, state: State, kiosk: kiosks.KioskInfo, pin: str) -> None:
    """The officer's PIN, counted before it is checked: after too many wrong ones the kiosk's PIN is locked for
    a while (429, whatever the PIN); every wrong PIN and every lock is audited."""
    address = request.client.host if request.client else "unknown"
    if not state.pin_attempt(kiosk.id):
        with state.runtime.database.session() as s:
            kiosks.pin_refused(s, kiosk, address, locked=True)
        raise ThrottledError("民警口令错误次数太多，已锁定 15 分钟 "
                             "(too many wrong officer PINs, locked for 15 minutes)")
    try:
        kiosks.check_pin(kiosk, pin)
    except ForbiddenError:
        with state.runtime.database.session() as s:
            kiosks.pin_refused(s, kiosk, address, locked=False)
        raise
    state.pin_succeeded(kiosk.id)


@router.post("/session", response_model=SessionOut)
def open_session(request: Request, body: SessionRequest, state: State, db: DB, kiosk: CurrentKiosk) -> dict:
    """The supervising officer opens a session for one asker (home county, optional inmate number)."""
    region = home_region(state.runtime.regions, body.county)
    check_officer_pin(request, state, kiosk, body.pin)
    token = kiosks.open_session(db, kiosk, region.code, body.inmate_number)
    state.conversations.clear_kiosk(kiosk.id)  # earlier sessions of the kiosk ended: their turns go
    name = UNKNOWN_HOME if region.code == NATIONAL_CODE else state.runtime.regions.display_name(region.code)
    return {"session": token, "county": {"code": region.code, "name": name}, "kiosk": kiosk.name}


def home_region(tree: RegionTree, county: str):
    """An inmate's home: a county-level unit, or 户籍不详 (answered from national rules, followed up by the
    prison). A province or a city is refused: nobody could take up its follow-ups."""
    if county.strip() in (UNKNOWN_HOME, "不详"):
        return tree[NATIONAL_CODE]
    try:
        region = tree.resolve(county)
    except UnknownRegionError as exc:
        raise InvalidError(str(exc)) from exc
    if region.level != "county":
        kind = {"city": "地级市", "province": "省级地区"}.get(region.level, "全国")
        raise InvalidError(f"户籍地要选到县（区、旗、县级市）：{region.name}是{kind}，"
                           f"请在搜索框输入县名；不清楚户籍的选“{UNKNOWN_HOME}”")
    return region


@router.delete("/session", response_model=EndedOut)
def end_session(request: Request, state: State, db: DB, kiosk: CurrentKiosk,
                x_officer_pin: Annotated[str, Header(pattern=r"^\d{6}$", description="民警口令（6 位数字）")]) -> dict:
    """The officer ends every open session on the kiosk (the PIN in the X-Officer-Pin header, no body)."""
    check_officer_pin(request, state, kiosk, x_officer_pin)
    ended = kiosks.end_session(db, kiosk)
    state.conversations.clear_kiosk(kiosk.id)
    return {"ended": ended}


@router.delete("/session/current", response_model=EndedOut)
def end_turn(state: State, db: DB, kiosk: CurrentKiosk,
             x_kiosk_session: Annotated[str | None, Header()] = None) -> dict:
    """The asker's turn ends (the page cleared itself after a while without a touch): this session only, no PIN
    needed; the officer opens the next one with the county and the PIN."""
    ended = kiosks.end_own_session(db, kiosk, x_kiosk_session)
    state.last_known_good.forget(("session", kiosk.id, kiosks.token_hash(x_kiosk_session or "")))
    return {"ended": ended}


@router.post("/ask", response_model=AskResponse)
def ask(body: AskRequest, state: ReadyState, kiosk: CurrentKiosk, session: CurrentSession) -> dict:
    """Answer a question for the session's county; the same fields as `assistant ask --json`."""
    if not state.allow(kiosk.id):
        raise HTTPException(429, "too many questions from this kiosk, try again in a minute")
    runtime = state.runtime
    earlier = state.conversations.turns(session.key)  # a follow-up ("那我女儿呢？") leans on the last turn
    answer = runtime.answerer.run(body.question, session.region_code, context=earlier[-1].context if earlier else None)
    client_id = request_client_id(kiosk.id, body.request_id) if body.request_id else None
    logged = state.qlog.record(answer, AskContext(prison=kiosk.prison, kiosk=kiosk.name,
                                                  inmate_number=session.inmate_number, kiosk_id=kiosk.id), client_id)
    answer.question_id, answer.followup_id = logged.question_id, logged.followup_id
    if logged.notice:  # neither the database nor the spool took it: the asker must know
        answer.answer = f"{answer.answer}\n\n{logged.notice}"
    bureau = runtime.regions.bureau_region(session.region_code).bureau
    turn = state.conversations.append(session.key, turn_from_answer(body.question, answer))
    return {**answer.public(), "question_id": logged.question_id, "bureau": Bureau(**bureau.__dict__),
            "turn": turn.number}


@router.post("/feedback", response_model=FeedbackOut)
def unresolved(body: FeedbackRequest, state: ReadyState, kiosk: CurrentKiosk, session: CurrentSession) -> dict:
    """The asker pressed "没解决我的问题": the question goes to the bureau as a follow-up (spooled if the
    database is down, so the press is never lost)."""
    logged = state.qlog.unresolved(body.question_id, kiosk.id, kiosk.name, kiosk.prison,
                                  session.inmate_number)
    if logged.notice:
        return {"followup_id": None, "message": logged.notice}
    bureau = "户籍地司法局"
    if not logged.spooled:
        try:
            with state.runtime.database.session() as db:
                region_code = questions.region_of(db, body.question_id)
            if region_code:
                bureau = state.runtime.regions.bureau_region(region_code).bureau.name or bureau
        except SQLAlchemyError:
            pass  # recorded already; only the bureau's name is missing from the message
    return {"followup_id": logged.followup_id,
            "message": f"已经记下来了。{bureau}会认真答复，答复会通过监狱民警转交给你。"}


@router.post("/choice", response_model=ChoiceOut)
def choice(body: ChoiceRequest, state: ReadyState, kiosk: CurrentKiosk, session: CurrentSession) -> dict:
    """The asker took one of the offered choices ("你是想问……？"); the bureau sees which one."""
    state.qlog.choose(body.question_id, body.faq_id, kiosk.id)
    return {"question_id": body.question_id, "chosen": body.faq_id}


@router.get("/followups", response_model=list[FollowupOut])
def own_followups(db: DB, kiosk: CurrentKiosk) -> list[dict]:
    """Status of the follow-ups opened from this kiosk (no answers or inmate data on a shared screen)."""
    return [{"id": f.id, "state": f.state, "state_name": STATE_NAMES[f.state], "topic": f.topic,
             "created_at": f.created_at.isoformat()} for f in followups.kiosk_followups(db, kiosk.id)]


@router.get("/officer/alerts", response_model=list[AlertOut])
def officer_alerts(request: Request, state: State, db: DB, kiosk: CurrentKiosk,
                   x_officer_pin: Annotated[str | None, Header()] = None,
                   hours: Annotated[int, Query(ge=1, le=72)] = 12) -> list[dict]:
    """Crisis alerts from this prison's kiosks, newest first, for the supervising officer's view."""
    check_officer_pin(request, state, kiosk, x_officer_pin or "")
    since = datetime.now(UTC) - timedelta(hours=hours)
    return [{"question_id": a.question_id, "kiosk": a.kiosk, "asked_at": a.asked_at.isoformat(), "text": a.text,
             "inmate_number": a.inmate_number} for a in questions.crisis_alerts(db, kiosk.prison, since)]


@router.post("/officer/pairing", response_model=PairingOut)
def start_pairing(state: State, kiosk: CurrentKiosk, x_kiosk_token: Annotated[str | None, Header()] = None) -> dict:
    """The kiosk shows a six-digit pairing code, so the officer's screen needs that code and the PIN instead of
    the 43-character device code."""
    return {"code": state.new_pairing(x_kiosk_token or ""), "expires_in": PAIRING_SECONDS, "kiosk": kiosk.name}


@router.post("/officer/pair", response_model=PairOut)
def pair(request: Request, body: PairRequest, state: State) -> dict:
    """The officer's screen trades a pairing code and the officer PIN for the kiosk's device code (used once)."""
    address = request.client.host if request.client else "unknown"
    if not state.pairing_attempt(address):
        raise ThrottledError("配对尝试次数太多，请 15 分钟后再试 (too many pairing attempts)")
    device_code = state.pairing(body.code)
    if device_code is None:
        raise NotFoundError("配对码不正确或已过期，请在终端上重新获取 (unknown or expired pairing code)")
    with state.runtime.database.session() as s:
        kiosk = kiosks.info(kiosks.authenticate(s, device_code))
    check_officer_pin(request, state, kiosk, body.pin)
    state.pairing_used(body.code)
    return {"token": device_code, "kiosk": kiosk.name}
