"""The review flow in a real browser (Debian's Chromium) against the real answering pipeline: a bureau finds an
answered question, marks it wrong with the right answer, publishes the corrected FAQ entry (the kiosk then answers
from it) and the prison hands the correction to the asker; a "应该转人工" rule stops automatic answers in that county
until withdrawn; the admin sees review coverage. Screenshots are rewritten only with BANGJIAO_UPDATE_SCREENSHOTS=1."""

from __future__ import annotations

import uuid

import pytest
from helpers import SHOTS, browser_sign_in, updating_screenshots

from assistant.services import review, users
from assistant.services.questions import AskContext, QuestionLog
from assistant.storage.models import FollowUp, Question, QuestionReview, ReferralRule
from assistant.storage.spool import Spool

pytestmark = pytest.mark.slow
PASSWORD = "correct-horse-battery"
LIANYUAN = "431382"


def shot(page, name: str, full_page: bool = False) -> None:
    if updating_screenshots():
        page.screenshot(path=str(SHOTS / name), full_page=full_page)


def account(runtime, role: str, display: str, **scope) -> str:
    name = f"{role}{uuid.uuid4().hex[:6]}"
    with runtime.database.session() as s:
        users.add_user(s, name, PASSWORD, role, display, **scope)
    return name


def sign_in(browser, base: str, username: str):
    return browser_sign_in(browser, base, username, PASSWORD)


def test_bureau_corrects_a_wrong_answer_and_refers_a_kind_of_question(server, browser, full_runtime, tmp_path):
    base, _ = server
    answerer = full_runtime.answerer
    log = QuestionLog(full_runtime.database, Spool(tmp_path / "spool.jsonl"))
    # the referred question is one the knowledge base answers with a wide margin (entries other tests of the
    # session publish for 涟源 must not turn it into a choice)
    wrong_q, refer_q = "坐过牢的人能申请低保吗", "醉驾以后多久能重新考驾照"
    first = answerer.run(wrong_q, LIANYUAN)
    assert first.status == "answered"  # answered from a passage the bureau will judge
    logged = log.record(first, AskContext("雁北监狱", "教育室1号", "A-5521"))
    refer_answer = answerer.run(refer_q, LIANYUAN)
    assert refer_answer.status == "answered"
    log.record(refer_answer, AskContext("雁北监狱", "教育室1号", None))

    bureau = sign_in(browser, base, account(full_runtime, "bureau", "涟源市司法局 李科员", region_code=LIANYUAN))
    bureau.get_by_role("link", name="审核回答").click()
    bureau.get_by_label("搜索").fill(wrong_q)
    bureau.get_by_label("只看未审核").check()
    bureau.get_by_role("button", name="筛选").click()
    card = bureau.locator("article", has_text=wrong_q).first
    assert "终端的回答" in card.inner_text() and "雁北" not in bureau.content() and "A-5521" not in bureau.content()
    card.locator("summary", has_text="答得不对/不完整").click()
    card.get_by_label("哪里不对或不完整").fill("问的是低保，回答的是就业政策")
    right = ("刑满释放后家庭人均收入低于当地低保标准的，可以向户籍地乡镇人民政府（街道办事处）申请最低生活保障，"
             "具体标准和材料以当地民政部门答复为准。")
    card.get_by_label("正确的答复").fill(right)
    shot(bureau, "review-1-wrong-answer.png", full_page=True)
    card.get_by_role("button", name="记为答得不对并更正").click()
    assert "已开更正跟进" in bureau.get_by_role("status").inner_text()

    bureau.get_by_role("link", name="去补充并发布问答草稿").click()
    bureau.get_by_label("口语问法").fill("出来了能不能吃低保\n刑满了低保咋申请\n放出来没收入能领低保不")
    bureau.get_by_role("button", name="审核通过并发布").click()
    assert "终端上现在就能直接回答" in bureau.get_by_role("status").inner_text()
    with full_runtime.database.session() as s:
        fid = s.get(Question, logged.question_id).followup_id
        draft_id = s.query(QuestionReview).filter_by(question_id=logged.question_id).one().faq_id
    again = answerer.run(wrong_q, LIANYUAN)
    assert again.status == "answered" and any(draft_id in p.item_ids for p in again.parts)  # the knowledge base

    bureau.goto(f"{base}/portal/review?q={refer_q}&unreviewed=1")
    card = bureau.locator("article", has_text=refer_q).first
    card.locator("summary", has_text="应该转人工").click()
    card.get_by_label("原因").fill("本县重新考驾照的安排以县交警大队答复为准")
    card.get_by_role("button", name="记为应该转人工").click()
    assert "不再自动回答" in bureau.get_by_role("status").inner_text()
    try:
        referred = answerer.run(refer_q, LIANYUAN)
        assert referred.status == "flagged"  # the county's rule, live at once
        bureau.goto(f"{base}/portal/review/rules")
        shot(bureau, "review-2-rules.png")
        bureau.get_by_role("button", name="撤销规则").first.click()
        assert "又会自动回答" in bureau.get_by_role("status").inner_text()
        assert answerer.run(refer_q, LIANYUAN).status == "answered"
    finally:  # never leave a rule behind for the other tests of the session
        cleaner = users.Principal(0, "test-cleanup", "", "bureau", None, LIANYUAN)
        with full_runtime.database.session() as s:
            for rule in s.query(ReferralRule).filter(ReferralRule.withdrawn_at.is_(None)).all():
                review.withdraw_rule(s, cleaner, rule.id)
        full_runtime.publish_referral_rules()

    prison = sign_in(browser, base, account(full_runtime, "prison", "雁北监狱 王警官", prison="雁北监狱"))
    item = prison.locator("article", has_text=wrong_q).first
    assert "A-5521" in item.inner_text() and right in item.inner_text()
    item.get_by_role("button", name="已转交给本人").click()
    assert prison.get_by_role("status").inner_text().startswith("已记为转交")
    with full_runtime.database.session() as s:
        assert s.get(FollowUp, fid).state == "delivered"

    bureau.goto(f"{base}/portal/review/coverage")
    assert bureau.get_by_role("heading", name="最常见的答错的问题").is_visible()
    assert wrong_q in bureau.content()
    admin = sign_in(browser, base, account(full_runtime, "admin", "省司法厅 管理员"))
    admin.get_by_role("link", name="审核统计").click()
    assert admin.get_by_role("heading", name="各县区").is_visible() and "涟源市（431382）" in admin.content()
    shot(admin, "review-3-coverage.png", full_page=True)
