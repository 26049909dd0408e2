"""Follow-ups: open → answered → delivered (→ closed), grouped by near-duplicate text per county.

Bureau views never include the inmate link; prison views include it only for their own prison.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.services import audit
from assistant.services.audit import Actor, actor_name, scope_of
from assistant.services.errors import ForbiddenError, InvalidError, NotFoundError, StateError
from assistant.services.grouping import is_near_duplicate
from assistant.services.search_filter import matches
from assistant.storage.models import FollowUp, FollowUpEvent, InmateLink, Question

OPEN, ANSWERED, DELIVERED, CLOSED = "open", "answered", "delivered", "closed"
CRISIS = "crisis"  # a follow-up reason: held for the prison (with the inmate link), never shown to a bureau
TRANSITIONS = {OPEN: {ANSWERED, CLOSED}, ANSWERED: {DELIVERED, CLOSED}, DELIVERED: {CLOSED}, CLOSED: set()}
STATE_NAMES = {OPEN: "待答复", ANSWERED: "已答复", DELIVERED: "已转交", CLOSED: "已关闭"}


def _now() -> datetime:
    return datetime.now(UTC)


def _event(s: Session, fu: FollowUp, actor: str, action: str, before: str | None, after: str | None,
           note: str = "") -> None:
    s.add(FollowUpEvent(followup_id=fu.id, actor=actor, action=action, from_state=before, to_state=after,
                        note=note))


def open_followup(s: Session, q: Question, reason: str, inmate_number: str | None, actor: str) -> FollowUp:
    """A follow-up for question `q`, joined to an open near-duplicate of the same county if there is one."""
    leader = None
    candidates = select(FollowUp).where(FollowUp.region_code == q.region_code, FollowUp.state == OPEN,
                                        FollowUp.group_id.is_(None), FollowUp.reason != CRISIS)
    for other in s.scalars(candidates) if reason != CRISIS else ():
        if is_near_duplicate(other.text, q.text):
            leader = other
            break
    fu = FollowUp(region_code=q.region_code, prison=q.prison, topic=q.topic, text=q.text, reason=reason,
                  state=OPEN, group_id=leader.id if leader else None)
    s.add(fu)
    s.flush()
    _event(s, fu, actor, "created", None, OPEN, f"grouped with #{leader.id}" if leader else "")
    if inmate_number:
        s.add(InmateLink(followup_id=fu.id, prison=q.prison, inmate_number=inmate_number.strip()))
    return fu


@dataclass(frozen=True)
class BureauItem:
    """What a bureau sees of a follow-up group: redacted text, counts, age. No inmate link, no prison."""

    id: int
    region_code: str
    topic: str | None
    text: str
    state: str
    count: int
    member_ids: tuple[int, ...]
    variants: tuple[str, ...]
    created_at: datetime
    answer: str | None

    @property
    def age_days(self) -> int:
        created = self.created_at if self.created_at.tzinfo else self.created_at.replace(tzinfo=UTC)
        return (_now() - created).days


@dataclass(frozen=True)
class PrisonItem:
    """What a prison sees: its own follow-ups with the inmate link, to deliver the reply."""

    id: int
    region_code: str
    text: str
    state: str
    answer: str | None
    inmate_number: str | None
    updated_at: datetime


def get_followup(s: Session, followup_id: int) -> FollowUp:
    fu = s.get(FollowUp, followup_id)
    if fu is None:
        raise NotFoundError(f"没有编号为 {followup_id} 的跟进事项")
    return fu


Scope = str | Collection[str] | None  # one region code, the codes a bureau covers (routing.bureau_scope), or all


def _codes(scope: str | Collection[str]) -> set[str]:
    return {scope} if isinstance(scope, str) else set(scope)


def check_region(fu: FollowUp, region_code: Scope) -> None:
    """A bureau (`region_code` given) may act only on its counties' follow-ups, and never on a crisis."""
    if region_code is not None and fu.region_code not in _codes(region_code):
        raise ForbiddenError(f"跟进事项 {fu.id} 不属于本县（区）司法局")
    if region_code is not None and fu.reason == CRISIS:
        raise NotFoundError(f"没有编号为 {fu.id} 的跟进事项")


def bureau_queue(s: Session, region_code: str | Collection[str], state: str | None = OPEN, text: str | None = None,
                 topic: str | None = None) -> list[BureauItem]:
    """Groups of follow-ups for one county (or the counties a city bureau covers), oldest first; a group is
    answered once. `text` keeps follow-ups whose question or answer contains every word typed; `topic` one topic."""
    query = (select(FollowUp).where(FollowUp.region_code.in_(_codes(region_code)), FollowUp.reason != CRISIS,
                                    matches(text, FollowUp.text, FollowUp.answer))
             .order_by(FollowUp.id))
    if topic:
        query = query.where(FollowUp.topic == topic)
    if state:
        query = query.where(FollowUp.state == state)
    rows = list(s.scalars(query))
    groups: dict[int, list[FollowUp]] = {}
    for fu in rows:
        groups.setdefault(fu.group_id or fu.id, []).append(fu)
    out = []
    for leader_id, members in groups.items():
        leader = next((m for m in members if m.id == leader_id), members[0])
        out.append(BureauItem(leader.id, leader.region_code, leader.topic, leader.text, leader.state, len(members),
                              tuple(m.id for m in members), tuple(dict.fromkeys(m.text for m in members)),
                              leader.created_at, leader.answer))
    return out


def group_members(s: Session, fu: FollowUp) -> list[FollowUp]:
    leader_id = fu.group_id or fu.id
    return list(s.scalars(select(FollowUp).where((FollowUp.id == leader_id) | (FollowUp.group_id == leader_id))
                          .order_by(FollowUp.id)))


def _move(s: Session, fu: FollowUp, to: str, actor: str, action: str, note: str = "") -> None:
    if to not in TRANSITIONS[fu.state]:
        raise StateError(f"跟进事项 {fu.id} 当前是“{STATE_NAMES[fu.state]}”，不能改为“{STATE_NAMES[to]}”")
    before = fu.state
    fu.state = to
    fu.updated_at = _now()
    _event(s, fu, actor, action, before, to, note)


def answer_followup(s: Session, followup_id: int, text: str, actor: Actor, region_code: Scope = None) -> list[int]:
    """The bureau's answer, applied to every open member of the follow-up's group (audited). Returns their ids."""
    text = (text or "").strip()
    if not text:
        raise InvalidError("答复内容不能为空")
    fu = get_followup(s, followup_id)
    check_region(fu, region_code)
    members = [m for m in group_members(s, fu) if m.state == OPEN]
    if not members:
        raise StateError(f"跟进事项 {fu.id} 当前是“{STATE_NAMES[fu.state]}”，没有待答复的问题")
    for m in members:
        m.answer = text
        _move(s, m, ANSWERED, actor_name(actor), "answered", text)
    ids = [m.id for m in members]
    audit.record(s, actor, "followup_answered", f"followup:{followup_id}", f"group members {ids}: {text[:500]}",
                 scope=scope_of(actor, fu.region_code))
    return ids


def deliver_followup(s: Session, followup_id: int, actor: Actor, prison: str | None = None) -> None:
    """Prison staff handed the bureau's answer to the inmate (audited)."""
    fu = get_followup(s, followup_id)
    if prison is not None and fu.prison != prison:
        raise ForbiddenError(f"跟进事项 {fu.id} 不是本监狱的问题")
    _move(s, fu, DELIVERED, actor_name(actor), "delivered")
    audit.record(s, actor, "followup_delivered", f"followup:{followup_id}", scope=scope_of(actor, fu.prison))


def close_followup(s: Session, followup_id: int, actor: Actor, note: str = "", region_code: Scope = None) -> None:
    """Close a follow-up (audited with the note)."""
    fu = get_followup(s, followup_id)
    check_region(fu, region_code)
    _move(s, fu, CLOSED, actor_name(actor), "closed", note)
    audit.record(s, actor, "followup_closed", f"followup:{followup_id}", note[:500],
                 scope=scope_of(actor, fu.region_code))


def prison_queue(s: Session, prison: str, state: str | None = ANSWERED) -> list[PrisonItem]:
    """A prison's follow-ups (answered ones wait for delivery), with the inmate link."""
    query = (select(FollowUp, InmateLink.inmate_number)
             .outerjoin(InmateLink, InmateLink.followup_id == FollowUp.id)
             .where(FollowUp.prison == prison).order_by(FollowUp.id))
    if state:
        query = query.where(FollowUp.state == state)
    return [PrisonItem(fu.id, fu.region_code, fu.text, fu.state, fu.answer, number, fu.updated_at)
            for fu, number in s.execute(query)]


# Steps taken on the prison side: the bureau sees who in general terms, never a kiosk name or a staff account.
PRISON_SIDE = {"created": "监狱终端", "delivered": "监狱民警"}
ACTION_NAMES = {"created": "提出问题", "answered": "答复", "delivered": "转交给本人", "closed": "关闭"}


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    actor: str
    action: str
    to_state: str | None
    note: str


def bureau_history(fu: FollowUp) -> list[HistoryRow]:
    """A follow-up's history as the bureau sees it: prison-side steps without kiosk or staff names."""
    return [HistoryRow(e.at, PRISON_SIDE.get(e.action, e.actor), ACTION_NAMES.get(e.action, e.action), e.to_state,
                       e.note) for e in fu.events]


def withheld_count(s: Session, region_code: str, days: int = 30) -> int:
    """How many of the county's questions in the last `days` were crises, held by the prison (the bureau sees only
    this number)."""
    from sqlalchemy import func

    since = _now() - timedelta(days=days)
    return s.scalar(select(func.count()).select_from(FollowUp).where(
        FollowUp.region_code == region_code, FollowUp.reason == CRISIS, FollowUp.created_at >= since)) or 0


def prison_crises(s: Session, prison: str, days: int = 30) -> list[PrisonItem]:
    """The prison's crisis questions of the last `days`, newest first, with the inmate number."""
    since = _now() - timedelta(days=days)
    query = (select(FollowUp, InmateLink.inmate_number)
             .outerjoin(InmateLink, InmateLink.followup_id == FollowUp.id)
             .where(FollowUp.prison == prison, FollowUp.reason == CRISIS, FollowUp.created_at >= since)
             .order_by(FollowUp.id.desc()))
    return [PrisonItem(fu.id, fu.region_code, fu.text, fu.state, None, number, fu.created_at)
            for fu, number in s.execute(query)]


def history(s: Session, followup_id: int, region_code: Scope = None) -> list[FollowUpEvent]:
    fu = get_followup(s, followup_id)
    check_region(fu, region_code)
    return list(fu.events)


@dataclass(frozen=True)
class KioskItem:
    """A follow-up as a shared kiosk screen may show it: state and topic, no answer, no inmate data."""

    id: int
    state: str
    topic: str | None
    created_at: datetime


def kiosk_followups(s: Session, kiosk_id: int, limit: int = 50) -> list[KioskItem]:
    """The follow-ups opened from this kiosk's questions, newest first (each once)."""
    rows = s.scalars(select(FollowUp).join(Question, Question.followup_id == FollowUp.id)
                     .where(Question.kiosk_id == kiosk_id).order_by(FollowUp.id.desc()).limit(limit))
    return [KioskItem(f.id, f.state, f.topic, f.created_at) for f in dict.fromkeys(rows)]
