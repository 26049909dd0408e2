"""Bureaus review what the kiosk answered for their county's people.

The review list shows every logged question of one county (redacted text, decision, answer and sources; never
the prison, the kiosk or the inmate), filtered, searched and grouped by near-duplicates answered the same way,
or a stable random sample of one week. Three actions, each audited in the same transaction:

- right: the question is reviewed and counted;
- wrong: a correction follow-up is opened for the question's group (the prison hands the bureau's answer to the
  asker, using the inmate link only the prison sees) and, with the right answer given, a draft FAQ entry for the
  county (approved as any draft);
- refer: a county rule that such questions (the answering item, or the topic) are never answered automatically
  (see `assistant.answering.referral`), optionally with a follow-up so the asker still gets a person's answer.

Crisis questions belong to the prison and are left out of every bureau list.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from assistant.answering.models import ANSWERED, FLAGGED, OUT_OF_SCOPE
from assistant.answering.referral import Rule, item_target
from assistant.knowledge.models import KnowledgeBase
from assistant.services import audit, faq, followups
from assistant.services.errors import ForbiddenError, InvalidError, NotFoundError, StateError
from assistant.services.grouping import cluster
from assistant.services.knowledge_changes import REFERRAL, record_change
from assistant.services.periods import within
from assistant.services.statistics import NO_TOPIC, Theme, unanswered_themes, week_label
from assistant.services.users import Principal
from assistant.storage.models import (
    FaqRecord,
    FollowUp,
    FollowUpEvent,
    InmateLink,
    Question,
    QuestionInmateLink,
    QuestionReview,
    ReferralRule,
)

RIGHT, WRONG, REFER = "right", "wrong", "refer"
VERDICT_NAMES = {RIGHT: "答得对", WRONG: "答得不对/不完整", REFER: "应该转人工"}
STATUS_NAMES = {ANSWERED: "系统已回答", "suggested": "给出选项", FLAGGED: "转司法局", OUT_OF_SCOPE: "不在范围"}
REVIEWABLE = frozenset({ANSWERED, OUT_OF_SCOPE})  # flagged questions are handled as follow-ups
CORRECTION = "review"  # follow-up reason of a correction
MAX_ROWS = 500
MAX_IDS = 200
SAMPLE_SIZE = 20
MAX_SEARCH_TERMS = 5


# --- the list ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReviewFilter:
    since: date | None = None
    until: date | None = None
    topic: str | None = None  # a topic key, or NO_TOPIC for questions without one
    status: str | None = ANSWERED
    unreviewed: bool = False
    search: str = ""

    def terms(self) -> list[str]:
        """Search words (all must occur in the question or the answer)."""
        return self.search.split()[:MAX_SEARCH_TERMS]


@dataclass(frozen=True)
class ReviewRow:
    """What a bureau sees of one question: no prison, kiosk or inmate."""

    id: int
    asked_at: datetime
    text: str
    status: str
    topic: str | None
    answer: str
    sources: tuple[dict, ...]
    items: tuple[str, ...]
    unresolved: bool
    followup_id: int | None
    verdict: str | None = None
    note: str = ""
    reviewer: str = ""
    reviewed_at: datetime | None = None
    resolved: str | None = None  # what was searched, when earlier turns gave the words their meaning
    chosen: str | None = None  # the FAQ entry the asker took among the offered choices

    @property
    def reviewable(self) -> bool:
        return self.status in REVIEWABLE and self.verdict is None


@dataclass(frozen=True)
class ReviewGroup:
    """Near-duplicate questions of one county that got the same decision from the same items."""

    rows: tuple[ReviewRow, ...]

    @property
    def leader(self) -> ReviewRow:
        return self.rows[0]

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def variants(self) -> list[str]:
        return list(dict.fromkeys(r.text for r in self.rows))

    @property
    def pending_ids(self) -> list[int]:
        return [r.id for r in self.rows if r.reviewable]

    @property
    def verdicts(self) -> Counter[str]:
        return Counter(r.verdict for r in self.rows if r.verdict)

    @property
    def unresolved(self) -> int:
        return sum(r.unresolved for r in self.rows)


def _row(q: Question, review: QuestionReview | None) -> ReviewRow:
    return ReviewRow(q.id, q.asked_at, q.text, q.status, q.topic, q.answer, tuple(q.sources or ()),
                     tuple(q.items or ()), q.unresolved, q.followup_id,
                     review.verdict if review else None, review.note if review else "",
                     review.reviewer if review else "", review.reviewed_at if review else None,
                     q.resolved if q.resolved and q.resolved != q.text else None, q.chosen)


def _county_questions(region_code: str):
    return (select(Question, QuestionReview).outerjoin(QuestionReview, QuestionReview.question_id == Question.id)
            .where(Question.region_code == region_code, Question.alert.is_(None)))


def review_rows(s: Session, region_code: str, f: ReviewFilter, limit: int = MAX_ROWS) -> tuple[list[ReviewRow], bool]:
    """The county's questions matching `f`, newest first, at most `limit`; and whether there were more."""
    query = within(_county_questions(region_code), Question.asked_at, f.since, f.until)
    if f.topic == NO_TOPIC:
        query = query.where(Question.topic.is_(None))
    elif f.topic:
        query = query.where(Question.topic == f.topic)
    if f.status:
        query = query.where(Question.status == f.status)
    if f.unreviewed:
        query = query.where(QuestionReview.id.is_(None))
    for term in f.terms():
        query = query.where(or_(Question.text.contains(term, autoescape=True),
                                Question.answer.contains(term, autoescape=True)))
    rows = [_row(q, r) for q, r in s.execute(query.order_by(Question.asked_at.desc(), Question.id.desc())
                                              .limit(limit + 1))]
    return rows[:limit], len(rows) > limit


def group_rows(rows: list[ReviewRow]) -> list[ReviewGroup]:
    """Near-duplicate groups among rows with the same decision and answering items, in the rows' order (pure)."""
    by_answer: dict[tuple, list[ReviewRow]] = {}
    for row in rows:
        by_answer.setdefault((row.status, row.items), []).append(row)
    groups = []
    for members in by_answer.values():
        groups += [[members[i] for i in idx] for idx in cluster([m.text for m in members])]
    order = {row.id: n for n, row in enumerate(rows)}
    return [ReviewGroup(tuple(g)) for g in sorted(groups, key=lambda g: order[g[0].id])]


def withheld_crises(s: Session, region_code: str, f: ReviewFilter) -> int:
    """How many crisis questions of the county the period holds (shown only as a number)."""
    query = within(select(func.count()).select_from(Question).where(Question.region_code == region_code,
                                                                     Question.alert.is_not(None)),
                   Question.asked_at, f.since, f.until)
    return s.scalar(query) or 0


# --- the weekly sample ---------------------------------------------------------------------------------------

def week_days(label: str) -> tuple[date, date]:
    """Monday and Sunday of an ISO week label such as "2026-W47"."""
    try:
        year, week = label.strip().upper().split("-W")
        monday = date.fromisocalendar(int(year), int(week), 1)
    except (ValueError, AttributeError) as exc:
        raise InvalidError(f"周的格式应为 2026-W47：{label[:20]!r}") from exc
    if not 2000 <= monday.year <= 2099:
        raise InvalidError("周应在 2000 年到 2099 年之间")
    return monday, monday + timedelta(days=6)


def sample_rank(region_code: str, week: str, question_id: int) -> str:
    """A question's place in its county's weekly draw: the sample is the lowest ranks (pure, stable)."""
    return hashlib.sha256(f"{region_code}|{week}|{question_id}".encode()).hexdigest()


def weekly_sample(s: Session, region_code: str, week: str, size: int = SAMPLE_SIZE) -> list[ReviewRow]:
    """A uniform random sample of `size` answered questions of the week, the same on every visit (a question
    asked later in the week can only enter it by displacing one); oldest first."""
    monday, sunday = week_days(week)
    query = within(_county_questions(region_code).where(Question.status == ANSWERED), Question.asked_at,
                   monday, sunday)
    rows = [_row(q, r) for q, r in s.execute(query)]
    chosen = sorted(rows, key=lambda r: sample_rank(region_code, week, r.id))[:max(1, min(size, 200))]
    return sorted(chosen, key=lambda r: (r.asked_at, r.id))


def item_titles(kb: KnowledgeBase) -> dict[str, str]:
    """What a bureau reads for an item id: a document's title or an FAQ entry's question (pure)."""
    return {d.id: d.title for d in kb.documents} | {f.id: f.question for f in kb.faq}


def current_week() -> str:
    return week_label(datetime.now(UTC).date())


# --- actions -------------------------------------------------------------------------------------------------

def _pending(s: Session, region_code: str, question_ids: list[int]) -> list[Question]:
    """The not yet reviewed questions among `question_ids`, all of the county and answered alike."""
    ids = list(dict.fromkeys(question_ids))
    if not ids:
        raise InvalidError("没有选中问题")
    if len(ids) > MAX_IDS:
        raise InvalidError(f"一次最多审核 {MAX_IDS} 个问题")
    found = {q.id: q for q in s.scalars(select(Question).where(Question.id.in_(ids)))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFoundError(f"没有编号为 {missing[0]} 的问题")
    questions = [found[i] for i in sorted(ids)]
    for q in questions:
        if q.region_code != region_code:
            raise ForbiddenError(f"问题 {q.id} 不属于本县（区）")
        if q.alert:
            raise ForbiddenError(f"问题 {q.id} 由监狱处理，不在审核范围")
        if q.status not in REVIEWABLE:
            raise InvalidError(f"问题 {q.id} 已转司法局，请在“待跟进”里答复")
    if len({(q.status, tuple(q.items or ())) for q in questions}) > 1:
        raise InvalidError("只能一起审核得到相同回答的问题")
    done = set(s.scalars(select(QuestionReview.question_id).where(QuestionReview.question_id.in_(ids))))
    pending = [q for q in questions if q.id not in done]
    if not pending:
        raise StateError("这些问题都已经审核过了")
    return pending


def _record(s: Session, who: Principal, questions: list[Question], verdict: str, note: str = "",
            followup_ids: dict[int, int] | None = None, faq_id: str | None = None,
            rule_id: int | None = None) -> None:
    for q in questions:
        item = item_target(q.items[0]) if q.items else None
        s.add(QuestionReview(question_id=q.id, region_code=q.region_code, verdict=verdict, note=note,
                             reviewer=who.username, followup_id=(followup_ids or {}).get(q.id), faq_id=faq_id,
                             corrects_item=item if verdict != RIGHT else None, rule_id=rule_id))


def _targets(questions: list[Question]) -> str:
    return "questions:" + ",".join(str(q.id) for q in questions)


def mark_right(s: Session, who: Principal, question_ids: list[int]) -> list[int]:
    """答得对: the questions are reviewed and counted. Returns their ids."""
    questions = _pending(s, who.region_code or "", question_ids)
    _record(s, who, questions, RIGHT)
    audit.record(s, who, "review_right", _targets(questions), f"{len(questions)} 个问题")
    return [q.id for q in questions]


def _inmate_number(s: Session, q: Question) -> str | None:
    link = s.get(QuestionInmateLink, q.id)
    if link is not None:
        return link.inmate_number
    if q.followup_id is not None:
        return s.scalar(select(InmateLink.inmate_number).where(InmateLink.followup_id == q.followup_id))
    return None


def open_corrections(s: Session, questions: list[Question], actor: str, note: str) -> dict[int, int]:
    """One correction follow-up per question, all in one group (the first leads), each carrying the inmate link
    the prison holds. A question's own open follow-up (after "没解决") is closed into the correction so the bureau
    answers it once. Returns question id → follow-up id."""
    out: dict[int, int] = {}
    leader: FollowUp | None = None
    for q in questions:
        old = s.get(FollowUp, q.followup_id) if q.followup_id else None
        fu = FollowUp(region_code=q.region_code, prison=q.prison, topic=q.topic, text=q.text, reason=CORRECTION,
                      state=followups.OPEN, group_id=leader.id if leader else None)
        s.add(fu)
        s.flush()
        leader = leader or fu
        s.add(FollowUpEvent(followup_id=fu.id, actor=actor, action="created", to_state=followups.OPEN,
                            note=f"审核认为终端的回答不对或不完整：{note}"[:2000]))
        number = _inmate_number(s, q)
        if number:
            s.add(InmateLink(followup_id=fu.id, prison=q.prison, inmate_number=number))
        if old is not None and old.state == followups.OPEN:
            followups.close_followup(s, old.id, actor, f"并入审核更正第 {fu.id} 号")
        q.followup_id = fu.id
        out[q.id] = fu.id
    return out


@dataclass(frozen=True)
class Correction:
    question_ids: list[int]
    followup_ids: list[int]
    faq_id: str | None


def _draft_fields(kb: KnowledgeBase, questions: list[Question]) -> dict:
    """Question, wordings and topics of the draft: the wrongly answering county FAQ entry's (an edit of it), else
    the asker's words (a new entry)."""
    target = item_target(questions[0].items[0]) if questions[0].items else None
    entry = next((e for e in kb.faq if e.id == target and e.region == questions[0].region_code), None)
    texts = list(dict.fromkeys(q.text for q in questions))
    if entry is not None:
        wordings = [w for w in (*entry.paraphrases, *texts) if w != entry.question]
        return {"question": entry.question, "paraphrases": list(dict.fromkeys(wordings)),
                "topics": list(entry.topics)}
    topics = [questions[0].topic] if questions[0].topic else None
    return {"question": texts[0], "paraphrases": texts[1:], "topics": topics}


def mark_wrong(s: Session, kb: KnowledgeBase, who: Principal, question_ids: list[int], note: str,
               right_answer: str = "") -> Correction:
    """答得不对/不完整: reviewed as wrong with the bureau's note; a correction follow-up for the group. With the
    right answer, the group is answered at once (the prison hands it over) and a draft FAQ entry is made."""
    note, right_answer = (note or "").strip(), (right_answer or "").strip()
    if not note:
        raise InvalidError("请写明哪里不对或不完整")
    region = who.region_code or ""
    questions = _pending(s, region, question_ids)
    opened = open_corrections(s, questions, who.username, note)
    leader_id = min(opened.values())
    faq_id = None
    if right_answer:
        followups.answer_followup(s, leader_id, right_answer, who, region_code=region)  # both audit themselves
        faq_id = faq.draft_from_followup(s, kb, leader_id, who, region_code=region,
                                         **_draft_fields(kb, questions)).id
    _record(s, who, questions, WRONG, note, opened, faq_id)
    audit.record(s, who, "review_wrong", _targets(questions),
                 f"更正跟进 {sorted(opened.values())}；草稿 {faq_id or '（待答复后生成）'}；{note[:300]}")
    return Correction([q.id for q in questions], sorted(opened.values()), faq_id)


def add_rule(s: Session, who: Principal, item_id: str | None, topic: str | None, note: str = "") -> ReferralRule:
    """A county rule (item or topic); an identical active rule is reused."""
    if bool(item_id) == bool(topic):
        raise InvalidError("转人工规则要指定一个条目或一个主题")
    region = who.region_code or ""
    same = ReferralRule.item_id == item_id if item_id else ReferralRule.topic == topic
    existing = s.scalar(select(ReferralRule).where(ReferralRule.region_code == region, same,
                                                   ReferralRule.withdrawn_at.is_(None)))
    if existing is not None:
        return existing
    rule = ReferralRule(region_code=region, item_id=item_id, topic=topic, note=note[:1000], created_by=who.username)
    s.add(rule)
    s.flush()
    record_change(s, REFERRAL, region)
    what = f"条目 {item_id}" if item_id else f"主题 {topic}"
    audit.record(s, who, "referral_rule_added", f"rule:{rule.id}", f"{what}；{note[:300]}")
    return rule


def mark_refer(s: Session, who: Principal, question_ids: list[int], scope: str, note: str = "",
               send_to_bureau: bool = True) -> tuple[ReferralRule, list[int]]:
    """应该转人工: a county rule for the answering item (scope "item") or the question's topic (scope "topic");
    with `send_to_bureau` the group also gets a follow-up so a person answers the askers."""
    if scope not in ("item", "topic"):
        raise InvalidError("请选择按条目还是按主题转人工")
    note = (note or "").strip()
    questions = _pending(s, who.region_code or "", question_ids)
    first = questions[0]
    if scope == "item" and not first.items:
        raise InvalidError("这个问题没有回答它的条目，请按主题转人工")
    if scope == "topic" and not first.topic:
        raise InvalidError("这个问题没有主题，请按条目转人工")
    rule = add_rule(s, who, item_target(first.items[0]) if scope == "item" else None,
                    first.topic if scope == "topic" else None, note)
    opened = open_corrections(s, questions, who.username, note or "应该由工作人员答复") if send_to_bureau else {}
    _record(s, who, questions, REFER, note, opened, rule_id=rule.id)
    audit.record(s, who, "review_refer", _targets(questions),
                 f"规则 {rule.id}；跟进 {sorted(opened.values())}；{note[:300]}")
    return rule, sorted(opened.values())


def withdraw_rule(s: Session, who: Principal, rule_id: int) -> ReferralRule:
    rule = s.get(ReferralRule, rule_id)
    if rule is None:
        raise NotFoundError(f"没有编号为 {rule_id} 的转人工规则")
    if rule.region_code != who.region_code:
        raise ForbiddenError(f"转人工规则 {rule_id} 不属于本县（区）")
    if rule.withdrawn_at is not None:
        raise StateError(f"转人工规则 {rule_id} 已经撤销")
    rule.withdrawn_at, rule.withdrawn_by = datetime.now(UTC), who.username
    record_change(s, REFERRAL, rule.region_code)
    audit.record(s, who, "referral_rule_withdrawn", f"rule:{rule.id}", rule.item_id or rule.topic or "")
    return rule


def county_rules(s: Session, region_code: str) -> list[ReferralRule]:
    """The county's rules, active first, newest first."""
    return list(s.scalars(select(ReferralRule).where(ReferralRule.region_code == region_code)
                          .order_by(ReferralRule.withdrawn_at.is_not(None), ReferralRule.id.desc())))


def active_rules(s: Session) -> tuple[Rule, ...]:
    """Every county's active rules, for the answering code (`must_refer`)."""
    return tuple(Rule(r.region_code, r.item_id, r.topic)
                 for r in s.scalars(select(ReferralRule).where(ReferralRule.withdrawn_at.is_(None))))


# --- coverage ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CoverageRow:
    """Answered questions of one week, topic or county and what review did with them."""

    key: str
    answered: int = 0
    reviewed: int = 0
    wrong: int = 0
    referred: int = 0
    corrected: int = 0  # wrong or referred, and the bureau's answer is on its way to the asker (or handed over)
    delivered: int = 0  # ... and the prison handed it over
    published: int = 0  # ... and an FAQ entry made from the correction is approved

    def share(self, part: int) -> float:
        return part / self.answered if self.answered else 0.0


@dataclass(frozen=True)
class Coverage:
    total: CoverageRow
    by_week: list[CoverageRow]
    by_topic: list[CoverageRow]
    by_region: list[CoverageRow]
    wrong_themes: list[Theme]
    wrong_items: list[tuple[str, int]]


_FIELDS = ("answered", "reviewed", "wrong", "referred", "corrected", "delivered", "published")


def _rows(counts: dict[str, Counter[str]]) -> list[CoverageRow]:
    return [CoverageRow(key, **{f: c[f] for f in _FIELDS}) for key, c in counts.items()]


def coverage(s: Session, region_code: str | None, since: date | None = None, until: date | None = None,
             theme_limit: int = 10) -> Coverage:
    """Review coverage of answered questions asked in [since, until]: one county, or every county (None)."""
    query = (select(Question.id, Question.region_code, Question.asked_at, Question.topic, Question.text,
                    QuestionReview.verdict, QuestionReview.followup_id, QuestionReview.corrects_item)
             .outerjoin(QuestionReview, QuestionReview.question_id == Question.id)
             .where(Question.status == ANSWERED, Question.alert.is_(None)))
    if region_code is not None:
        query = query.where(Question.region_code == region_code)
    rows = list(s.execute(within(query, Question.asked_at, since, until)))
    fu_ids = {r.followup_id for r in rows if r.followup_id}
    fus = {f.id: f for f in s.scalars(select(FollowUp).where(FollowUp.id.in_(fu_ids)))} if fu_ids else {}
    leaders = {f.group_id or f.id for f in fus.values()}
    approved_from = set(s.scalars(select(FaqRecord.followup_id).where(FaqRecord.status == "approved",
                                                                       FaqRecord.followup_id.is_not(None))))
    published_from: set[int] = set()
    if approved_from:
        published_from = {f.group_id or f.id for f in s.scalars(select(FollowUp).where(
            FollowUp.id.in_(approved_from)))} & leaders
    total: Counter[str] = Counter()
    weeks: dict[str, Counter[str]] = {}
    topics: dict[str, Counter[str]] = {}
    regions: dict[str, Counter[str]] = {}
    for r in rows:
        flags = {"answered"}
        if r.verdict:
            flags.add("reviewed")
        if r.verdict == WRONG:
            flags.add("wrong")
        if r.verdict == REFER:
            flags.add("referred")
        fu = fus.get(r.followup_id)
        if fu is not None and fu.answer and fu.state in (followups.ANSWERED, followups.DELIVERED):
            flags.add("corrected")
            if fu.state == followups.DELIVERED:
                flags.add("delivered")
        if fu is not None and (fu.group_id or fu.id) in published_from:
            flags.add("published")
        for bucket in (total, weeks.setdefault(week_label(r.asked_at.date()), Counter()),
                       topics.setdefault(r.topic or NO_TOPIC, Counter()),
                       regions.setdefault(r.region_code, Counter())):
            bucket.update(flags)
    wrong = [r for r in rows if r.verdict == WRONG]
    return Coverage(
        total=CoverageRow("合计", **{f: total[f] for f in _FIELDS}),
        by_week=sorted(_rows(weeks), key=lambda c: c.key),
        by_topic=sorted(_rows(topics), key=lambda c: -c.answered),
        by_region=sorted(_rows(regions), key=lambda c: c.key),
        wrong_themes=unanswered_themes([(r.text, r.topic) for r in wrong], theme_limit),
        wrong_items=Counter(r.corrects_item for r in wrong if r.corrects_item).most_common(theme_limit))
