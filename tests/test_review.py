"""Bureau review of what the kiosk answered: the list and its scope, grouping, the weekly sample, the three actions
with their effects and audit rows, referral rules (and `must_refer`), and review coverage. SQLite, no model."""

from __future__ import annotations

import uuid
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from helpers import knowledge_of
from sqlalchemy import select

from assistant.answering.models import Answer
from assistant.answering.referral import Rule, must_refer
from assistant.services import faq, followups, review
from assistant.services.errors import ForbiddenError, InvalidError, StateError
from assistant.services.questions import AskContext, QuestionLog
from assistant.services.users import Principal
from assistant.storage.db import Database
from assistant.storage.models import (
    AuditEvent,
    FaqRecord,
    FollowUp,
    InmateLink,
    Question,
    QuestionInmateLink,
    QuestionReview,
)
from assistant.storage.spool import Spool

LIANYUAN, WENGNIUTE = "431382", "150426"
BUREAU = Principal(1, "ly-bureau", "涟源市司法局 李科员", "bureau", None, LIANYUAN)
OTHER = Principal(2, "wnt-bureau", "翁牛特旗司法局", "bureau", None, WENGNIUTE)
MONDAY = datetime(2026, 11, 16, 3, tzinfo=UTC)  # ISO week 2026-W47


@pytest.fixture
def db(tmp_path: Path):
    database = Database(f"sqlite:///{tmp_path / 'review.db'}")
    yield database
    database.dispose()


@pytest.fixture
def kb(mini_kb: Path):
    return knowledge_of(mini_kb)


def ask(db: Database, text: str, region: str = LIANYUAN, status: str = "answered",
        items: tuple[str, ...] = ("faq-lianyuan-medical",), topic: str | None = "medical_insurance",
        when: datetime = MONDAY, prison: str = "雁北监狱", kiosk: str = "教育室1号", inmate: str | None = None,
        alert: str | None = None, answer: str = "医保可以直接去乡镇站交费办理。") -> int:
    """A logged question as the kiosk leaves it (with the prison-side inmate link when entered)."""
    with db.session() as s:
        q = Question(client_id=str(uuid.uuid4()), asked_at=when, prison=prison, kiosk=kiosk, region_code=region,
                     topic=topic, text=text, status=status, alert=alert, answer=answer,
                     sources=[{"title": "监地携手", "citation": "《监地携手》", "region": "涟源市"}], items=list(items))
        s.add(q)
        s.flush()
        if inmate:
            s.add(QuestionInmateLink(question_id=q.id, prison=prison, inmate_number=inmate))
        return q.id


def audit_rows(db: Database, action: str) -> list[AuditEvent]:
    with db.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- must_refer (pure) ---------------------------------------------------------------------------------------

def test_must_refer_applies_only_in_the_rules_county_to_its_item_document_or_topic():
    rules = [Rule(LIANYUAN, item_id="faq-lianyuan-medical"), Rule(LIANYUAN, item_id="national-medical"),
             Rule(WENGNIUTE, topic="social_assistance")]
    assert must_refer(rules, LIANYUAN, "faq-lianyuan-medical", "medical_insurance")
    assert not must_refer(rules, WENGNIUTE, "faq-lianyuan-medical", "medical_insurance")
    assert must_refer(rules, LIANYUAN, "national-medical#2", ())  # a document covers each of its passages
    assert not must_refer(rules, LIANYUAN, "national-medical-other#1", ())
    assert must_refer(rules, WENGNIUTE, "faq-dibao", ("employment", "social_assistance"))
    assert must_refer(rules, WENGNIUTE, "faq-dibao", "social_assistance")
    assert not must_refer(rules, LIANYUAN, "faq-dibao", "social_assistance")
    assert not must_refer([], LIANYUAN, "faq-lianyuan-medical", "medical_insurance")
    assert not must_refer(rules, LIANYUAN, None, None)


# --- the list: scope, filters, grouping, sample --------------------------------------------------------------

def test_a_bureau_lists_only_its_countys_questions_without_any_identity(db):
    mine = ask(db, "回涟源了医保咋弄", inmate="A-1029")
    ask(db, "翁牛特旗医保在哪交", region=WENGNIUTE)
    ask(db, "我不想活了", alert="crisis", status="flagged", items=())
    rows, more = _rows(db, LIANYUAN, review.ReviewFilter(status=None))
    assert [r.id for r in rows] == [mine] and not more
    names = {f.name for f in fields(review.ReviewRow)}
    assert not names & {"prison", "kiosk", "kiosk_id", "inmate_number", "client_id"}
    assert "A-1029" not in repr(rows) and "雁北" not in repr(rows) and "教育室" not in repr(rows)
    with db.session() as s:
        assert review.withheld_crises(s, LIANYUAN, review.ReviewFilter()) == 1


def _rows(db: Database, region: str, f: review.ReviewFilter):
    with db.session() as s:
        return review.review_rows(s, region, f)


def test_filters_by_period_topic_decision_review_state_and_words(db):
    old = ask(db, "出狱后医保断了怎么续", when=MONDAY - timedelta(days=30))
    new = ask(db, "医保断交了还能补吗")
    flagged = ask(db, "我的低保批了没有", status="flagged", items=(), topic="social_assistance")
    ask(db, "今天天气怎么样", status="out_of_scope", items=(), topic=None)
    f = review.ReviewFilter
    assert [r.id for r in _rows(db, LIANYUAN, f(since=MONDAY.date()))[0]] == [new]
    assert [r.id for r in _rows(db, LIANYUAN, f(until=MONDAY.date() - timedelta(days=1)))[0]] == [old]
    assert [r.id for r in _rows(db, LIANYUAN, f(status="flagged"))[0]] == [flagged]
    assert len(_rows(db, LIANYUAN, f(status=None))[0]) == 4
    assert len(_rows(db, LIANYUAN, f(status=None, topic=review.NO_TOPIC))[0]) == 1
    assert [r.id for r in _rows(db, LIANYUAN, f(status=None, topic="social_assistance"))[0]] == [flagged]
    assert [r.id for r in _rows(db, LIANYUAN, f(search="断交 补"))[0]] == [new]
    assert [r.id for r in _rows(db, LIANYUAN, f(search="乡镇站 续"))[0]] == [old]  # words of the answer count too
    assert _rows(db, LIANYUAN, f(search="100%"))[0] == []  # LIKE wildcards are literal
    with db.session() as s:
        review.mark_right(s, BUREAU, [new])
    assert [r.id for r in _rows(db, LIANYUAN, f(unreviewed=True))[0]] == [old]
    rows, more = _rows(db, LIANYUAN, f(status=None))
    assert len(rows) == 4 and not more and {r.id: r.verdict for r in rows}[new] == "right"
    with db.session() as s:
        few, more = review.review_rows(s, LIANYUAN, f(status=None), limit=2)
    assert len(few) == 2 and more


def test_near_duplicates_answered_alike_form_one_group_and_different_answers_do_not():
    def row(i: int, text: str, items: tuple[str, ...]) -> review.ReviewRow:
        return review.ReviewRow(i, MONDAY, text, "answered", "medical_insurance", "回答", (), items, False, None)

    rows = [row(1, "涟源医保去哪里交", ("faq-a",)), row(2, "涟源的医保去哪里交", ("faq-a",)),
            row(3, "涟源医保去哪交", ("faq-b",)), row(4, "醉驾出来多久能考驾照", ("faq-a",))]
    groups = review.group_rows(rows)
    assert [[r.id for r in g.rows] for g in groups] == [[1, 2], [3], [4]]
    assert groups[0].pending_ids == [1, 2] and groups[0].variants == ["涟源医保去哪里交", "涟源的医保去哪里交"]


def test_the_weekly_sample_is_random_stable_and_only_of_the_weeks_answered_questions(db):
    ids = [ask(db, f"第{i}个关于医保的问题", when=MONDAY + timedelta(hours=i)) for i in range(30)]
    ask(db, "上周的问题", when=MONDAY - timedelta(days=1))
    ask(db, "转司法局的问题", status="flagged", items=())
    ask(db, "别的县的问题", region=WENGNIUTE)
    with db.session() as s:
        first = [r.id for r in review.weekly_sample(s, LIANYUAN, "2026-W47")]
        again = [r.id for r in review.weekly_sample(s, LIANYUAN, "2026-W47")]
        other_week = review.weekly_sample(s, LIANYUAN, "2026-W48")
    assert len(first) == review.SAMPLE_SIZE and first == again and set(first) <= set(ids)
    assert first != ids[:review.SAMPLE_SIZE]  # drawn, not the first twenty
    assert other_week == []
    late = ask(db, "周日晚上问的", when=MONDAY + timedelta(days=6, hours=12))
    with db.session() as s:
        after = [r.id for r in review.weekly_sample(s, LIANYUAN, "2026-W47")]
    assert len(set(after) - set(first)) == (1 if late in after else 0)  # a late question displaces at most one
    with pytest.raises(InvalidError, match="周的格式"):
        review.week_days("2026-47")
    with pytest.raises(InvalidError):
        review.week_days("9999-W01")


# --- actions -------------------------------------------------------------------------------------------------

def test_right_reviews_the_group_once_and_is_audited(db):
    a, b = ask(db, "涟源医保去哪交"), ask(db, "涟源的医保去哪里交")
    with db.session() as s:
        assert review.mark_right(s, BUREAU, [a, b]) == [a, b]
    with db.session() as s:
        verdicts = {r.question_id: r.verdict for r in s.scalars(select(QuestionReview))}
        assert verdicts == {a: "right", b: "right"}
        assert s.scalars(select(FollowUp)).all() == []
    (event,) = audit_rows(db, "review_right")
    assert event.actor == "ly-bureau" and event.scope == LIANYUAN and event.target == f"questions:{a},{b}"
    with db.session() as s, pytest.raises(StateError, match="审核过"):
        review.mark_right(s, BUREAU, [a, b])


def test_actions_refuse_other_counties_crises_flagged_and_mixed_answers(db):
    other = ask(db, "翁牛特旗医保在哪交", region=WENGNIUTE)
    crisis = ask(db, "我不想活了", alert="crisis", status="flagged", items=())
    flagged = ask(db, "我的低保批了没有", status="flagged", items=())
    a, b = ask(db, "医保去哪交", items=("faq-a",)), ask(db, "医保去哪里交", items=("faq-b",))
    for ids, error in (([other], ForbiddenError), ([crisis], ForbiddenError), ([flagged], InvalidError),
                       ([a, b], InvalidError), ([], InvalidError)):
        with db.session() as s, pytest.raises(error):
            review.mark_right(s, BUREAU, ids)
    with db.session() as s, pytest.raises(ForbiddenError):
        review.mark_wrong(s, None, OTHER, [a], "不对", "")
    with db.session() as s:
        assert s.scalars(select(QuestionReview)).all() == []
    assert audit_rows(db, "review_right") == [] and audit_rows(db, "review_wrong") == []


def test_wrong_with_the_right_answer_reaches_the_asker_through_the_prison_and_drafts_the_county_faq(db, kb):
    a = ask(db, "回涟源了医保咋弄", inmate="A-1029")
    b = ask(db, "涟源医保在哪儿办", prison="湘南监狱", inmate="B-77")
    log = QuestionLog(db, Spool(Path(db.url.removeprefix("sqlite:///")).with_name("spool.jsonl")))
    c = ask(db, "涟源医保到哪里办")
    fid_old = log.mark_unresolved(c)  # the asker pressed 没解决: an open follow-up already exists
    right = "涟源的城乡居民医保在户籍地乡镇（街道）便民服务中心缴费，具体以当地医保部门答复为准。"
    with db.session() as s:
        done = review.mark_wrong(s, kb, BUREAU, [a, b, c], "没说具体在哪个窗口办", right)
    with db.session() as s:
        fus = [s.get(FollowUp, i) for i in done.followup_ids]
        assert [f.state for f in fus] == ["answered"] * 3 and {f.answer for f in fus} == {right}
        assert {f.group_id for f in fus[1:]} == {fus[0].id} and fus[0].group_id is None
        assert {f.reason for f in fus} == {"review"}
        assert s.get(FollowUp, fid_old).state == "closed"  # folded into the correction, answered once
        links = {link.followup_id: link.inmate_number for link in s.scalars(select(InmateLink))}
        assert links[done.followup_ids[0]] == "A-1029" and links[done.followup_ids[1]] == "B-77"
        assert s.get(Question, a).followup_id == done.followup_ids[0]
        record = s.get(FaqRecord, done.faq_id)
        assert record.status == "draft" and record.region_code == LIANYUAN and record.answer == right
        assert record.question == "涟源出狱后医保去哪交？"  # the wrong county entry is edited, not duplicated
        assert "回涟源了医保咋弄" in record.paraphrases and "涟源医保去哪交" in record.paraphrases
        reviews = {r.question_id: r for r in s.scalars(select(QuestionReview))}
        assert {r.verdict for r in reviews.values()} == {"wrong"}
        assert reviews[a].corrects_item == "faq-lianyuan-medical" and reviews[a].faq_id == done.faq_id
        assert reviews[b].note == "没说具体在哪个窗口办"
    with db.session() as s:
        yanbei = followups.prison_queue(s, "雁北监狱")
    assert [(i.text, i.inmate_number, i.answer) for i in yanbei] == [("回涟源了医保咋弄", "A-1029", right),
                                                                      ("涟源医保到哪里办", None, right)]
    (event,) = audit_rows(db, "review_wrong")
    assert event.target == f"questions:{a},{b},{c}" and done.faq_id in event.detail
    assert [e.target for e in audit_rows(db, "faq_drafted")] == [done.faq_id]
    with db.session() as s:  # the bureau's queue shows the group, never the inmate link
        queue = followups.bureau_queue(s, LIANYUAN, None)
        assert "A-1029" not in repr(queue) and "雁北" not in repr(queue)
        faq.update_draft(s, done.faq_id, LIANYUAN,
                         paraphrases=["涟源医保去哪交", "回涟源了医保咋弄", "涟源医保在哪儿办"])
        faq.approve(s, kb, done.faq_id, "ly-bureau", LIANYUAN)
    with db.session() as s:
        cov = review.coverage(s, LIANYUAN)
    assert (cov.total.answered, cov.total.reviewed, cov.total.wrong, cov.total.corrected, cov.total.published) == \
        (3, 3, 3, 3, 3)


def test_wrong_without_an_answer_opens_the_follow_up_for_the_queue(db, kb):
    a = ask(db, "出狱后医保咋整", items=("national-medical#1",))
    with db.session() as s:
        done = review.mark_wrong(s, kb, BUREAU, [a], "全国的规定不够，要说本县的窗口")
    assert done.faq_id is None
    with db.session() as s:
        (group,) = followups.bureau_queue(s, LIANYUAN)
        assert group.id == done.followup_ids[0] and group.text == "出狱后医保咋整"
        assert s.scalar(select(QuestionReview)).corrects_item == "national-medical"
        followups.answer_followup(s, group.id, "到乡镇便民服务中心办。", "ly-bureau", LIANYUAN)
        draft = faq.draft_from_followup(s, kb, group.id, "ly-bureau", LIANYUAN)  # as today, from the queue
        assert draft.question == "出狱后医保咋整"
    with db.session() as s, pytest.raises(InvalidError, match="哪里不对"):
        review.mark_wrong(s, kb, BUREAU, [ask(db, "又一个")], "  ")


def test_refer_adds_a_county_rule_the_answering_code_sees_and_withdrawing_it_is_audited(db):
    a = ask(db, "涟源低保一个月多少钱", items=("faq-lianyuan-dibao",), topic="social_assistance")
    b = ask(db, "涟源低保标准是多少", items=("faq-lianyuan-dibao",), topic="social_assistance")
    with db.session() as s:
        rule, opened = review.mark_refer(s, BUREAU, [a], "item", "金额以本县当年标准为准")
    with db.session() as s:
        rules = review.active_rules(s)
    assert rules == (Rule(LIANYUAN, "faq-lianyuan-dibao", None),)
    assert must_refer(rules, LIANYUAN, "faq-lianyuan-dibao", ()) and not must_refer(rules, WENGNIUTE,
                                                                                      "faq-lianyuan-dibao", ())
    assert len(opened) == 1
    with db.session() as s:
        assert s.get(FollowUp, opened[0]).state == "open"
        again, none = review.mark_refer(s, BUREAU, [b], "item", send_to_bureau=False)
        assert again.id == rule.id and none == []  # the same rule, not a second one
        topic_rule, _ = review.mark_refer(s, BUREAU, [ask(db, "低保咋申请", items=("x",), topic="social_assistance")],
                                          "topic", send_to_bureau=False)
        assert topic_rule.topic == "social_assistance" and topic_rule.item_id is None
    assert len(audit_rows(db, "referral_rule_added")) == 2 and len(audit_rows(db, "review_refer")) == 3
    with db.session() as s, pytest.raises(ForbiddenError):
        review.withdraw_rule(s, OTHER, rule.id)
    with db.session() as s:
        review.withdraw_rule(s, BUREAU, rule.id)
    with db.session() as s:
        assert review.active_rules(s) == (Rule(LIANYUAN, None, "social_assistance"),)
        with pytest.raises(StateError):
            review.withdraw_rule(s, BUREAU, rule.id)
    (event,) = audit_rows(db, "referral_rule_withdrawn")
    assert event.target == f"rule:{rule.id}" and event.actor == "ly-bureau"


# --- coverage and the log ------------------------------------------------------------------------------------

def test_coverage_per_week_topic_and_county_with_the_commonest_wrong_answers(db, kb):
    w47 = [ask(db, f"涟源医保问题{i}") for i in range(4)]
    w48 = ask(db, "出狱后找工作难不难", items=("faq-job",), topic="employment", when=MONDAY + timedelta(days=7))
    ask(db, "翁牛特旗医保问题", region=WENGNIUTE)
    ask(db, "转司法局的", status="flagged", items=())
    with db.session() as s:
        review.mark_right(s, BUREAU, w47[:1])
        review.mark_wrong(s, kb, BUREAU, w47[1:3], "缺了窗口地址")
        review.mark_refer(s, BUREAU, [w48], "topic", send_to_bureau=False)
    with db.session() as s:
        mine = review.coverage(s, LIANYUAN)
        everyone = review.coverage(s, None)
        since = review.coverage(s, LIANYUAN, since=date(2026, 11, 23))
    t = mine.total
    assert (t.answered, t.reviewed, t.wrong, t.referred, t.corrected) == (5, 4, 2, 1, 0)
    assert t.share(t.reviewed) == 0.8
    assert [(c.key, c.answered, c.reviewed, c.wrong) for c in mine.by_week] == [("2026-W47", 4, 3, 2),
                                                                               ("2026-W48", 1, 1, 0)]
    assert [(c.key, c.answered, c.referred) for c in mine.by_topic] == [("medical_insurance", 4, 0),
                                                                       ("employment", 1, 1)]
    assert [(c.key, c.answered) for c in everyone.by_region] == [(WENGNIUTE, 1), (LIANYUAN, 5)]
    assert [c.key for c in mine.by_region] == [LIANYUAN]
    assert since.total.answered == 1
    assert mine.wrong_items == [("faq-lianyuan-medical", 2)] and mine.wrong_themes[0].count == 2


def test_the_log_keeps_the_inmate_number_of_any_question_on_the_prison_side(db, tmp_path):
    log = QuestionLog(db, Spool(tmp_path / "spool.jsonl"))
    answered = Answer("回涟源了医保咋弄", "涟源市", "answered", "回答", [], None, [], region_code=LIANYUAN)
    result = log.record(answered, AskContext("雁北监狱", "教育室1号", " A-1029 "))
    anonymous = log.record(answered, AskContext("雁北监狱", "教育室1号", None))
    with db.session() as s:
        link = s.get(QuestionInmateLink, result.question_id)
        assert (link.prison, link.inmate_number) == ("雁北监狱", "A-1029")
        assert s.get(QuestionInmateLink, anonymous.question_id) is None
