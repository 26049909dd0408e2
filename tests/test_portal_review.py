"""The review pages through HTTP (no model: the pages never touch the index): scope, the three actions, rules,
coverage for a bureau and the admin, CSRF and the return address."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import PORTAL_PASSWORD, portal_sign_in
from sqlalchemy import func, select

from assistant.api.main import create_app
from assistant.core.config import Settings
from assistant.runtime import Runtime
from assistant.services import users
from assistant.storage.models import (
    AuditEvent,
    FaqRecord,
    FollowUp,
    Question,
    QuestionInmateLink,
    QuestionReview,
    ReferralRule,
)

LIANYUAN, WENGNIUTE = "431382", "150426"


@pytest.fixture
def world(tmp_path: Path, mini_kb: Path):
    runtime = Runtime(Settings(data_dir=tmp_path / "data", knowledge_dir=mini_kb))
    app = create_app(runtime=runtime)  # no lifespan: the index is never built
    names = {}
    with runtime.database.session() as s:
        for role, scope in (("bureau", {"region_code": LIANYUAN}), ("other", {"region_code": WENGNIUTE}),
                            ("prison", {"prison": "雁北监狱"}), ("admin", {})):
            names[role] = f"{role}{uuid.uuid4().hex[:6]}"
            users.add_user(s, names[role], PORTAL_PASSWORD, "bureau" if role == "other" else role, role, **scope)
    yield app, runtime, {role: portal_sign_in(app, name) for role, name in names.items()}
    runtime.database.dispose()


def ask(runtime, text: str, region: str = LIANYUAN, inmate: str | None = "A-1029", status: str = "answered",
        items: tuple[str, ...] = ("faq-lianyuan-medical",)) -> int:
    with runtime.database.session() as s:
        q = Question(client_id=str(uuid.uuid4()), asked_at=datetime.now(UTC), prison="雁北监狱", kiosk="教育室1号",
                     region_code=region, topic="medical_insurance", text=text, status=status, answer="到乡镇站交。",
                     sources=[{"title": "监地携手", "citation": "《监地携手》", "region": "涟源市"}], items=list(items))
        s.add(q)
        s.flush()
        if inmate:
            s.add(QuestionInmateLink(question_id=q.id, prison="雁北监狱", inmate_number=inmate))
        return q.id


def count(runtime, model, *where) -> int:
    with runtime.database.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def post(client, url: str, **data):
    return client.post(url, data={"csrf_token": client.csrf, **data})


def test_a_bureau_sees_its_countys_questions_and_no_identity(world):
    _, runtime, c = world
    ask(runtime, "回涟源了医保咋弄")
    ask(runtime, "涟源的医保在哪办呢")
    ask(runtime, "翁牛特旗医保在哪交", region=WENGNIUTE)
    page = c["bureau"].get("/portal/review").text
    assert "回涟源了医保咋弄" in page and "涟源的医保在哪办呢" in page and "翁牛特旗医保在哪交" not in page
    assert "到乡镇站交" in page and "《监地携手》" in page
    for identity in ("A-1029", "雁北", "教育室"):
        assert identity not in page
    other = c["other"].get("/portal/review").text
    assert "翁牛特旗医保在哪交" in other and "回涟源了医保咋弄" not in other
    assert c["prison"].get("/portal/review").status_code == 403
    assert c["admin"].get("/portal/review").status_code == 403
    searched = c["bureau"].get("/portal/review", params={"q": "回涟源"}).text
    assert "回涟源了医保咋弄" in searched and "涟源的医保在哪办呢" not in searched
    assert c["bureau"].get("/portal/review", params={"since": "2026-13-01"}).status_code == 400
    assert c["bureau"].get("/portal/review", params={"sample": "bad"}).status_code == 400
    sample = c["bureau"].get("/portal/review", params={"sample": "2000-W01"}).text
    assert "2000-W01 的随机样本" in sample and "没有符合条件的问题" in sample


def test_the_bureau_sees_what_a_follow_up_meant_and_which_choice_the_asker_took(world):
    _, runtime, c = world
    follow = ask(runtime, "那我女儿呢？")
    chose = ask(runtime, "医保那个事", status="suggested", items=())
    with runtime.database.session() as s:
        s.get(Question, follow).resolved = "我女儿以后能当兵不"
        q = s.get(Question, chose)
        q.offered, q.chosen = ["faq-lianyuan-medical", "faq-medical-enrol"], "faq-lianyuan-medical"
    page = c["bureau"].get("/portal/review").text
    assert "按“我女儿以后能当兵不”查找" in page
    page = c["bureau"].get("/portal/review", params={"status": "suggested"}).text
    chosen = re.search(r"选了：“([^”]+)”", page)
    assert chosen and chosen.group(1) != "faq-lianyuan-medical"  # named by the entry's question, not its id
    assert "给出选项" in page


def test_right_and_refer_through_the_portal_with_audit_and_rules(world):
    _, runtime, c = world
    a, b = ask(runtime, "涟源医保去哪交"), ask(runtime, "涟源低保多少钱", items=("faq-lianyuan-dibao",))
    other = ask(runtime, "翁牛特旗医保在哪交", region=WENGNIUTE)
    r = post(c["other"], "/portal/review/right", qid=str(a))
    assert r.status_code == 403 and count(runtime, QuestionReview) == 0
    r = c["bureau"].post("/portal/review/right", data={"qid": str(a)})  # no CSRF token
    assert r.status_code == 403 and count(runtime, QuestionReview) == 0
    r = post(c["bureau"], "/portal/review/right", qid=str(a), back="https://evil.example/portal/review")
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/review?done=review_right")
    r = post(c["bureau"], "/portal/review/right", qid=str(other))
    assert r.status_code == 403
    assert count(runtime, QuestionReview, QuestionReview.verdict == "right") == 1
    assert count(runtime, AuditEvent, AuditEvent.action == "review_right") == 1
    page = c["bureau"].get("/portal/review?unreviewed=1").text
    assert "涟源医保去哪交" not in page and "涟源低保多少钱" in page

    r = post(c["bureau"], "/portal/review/refer", qid=str(b), scope="item", note="金额以本县当年标准为准",
             send="true", back="/portal/review?unreviewed=1")
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/review?unreviewed=1&done=review_refer")
    ask(runtime, "涟源医保咋交")
    after = c["bureau"].get(r.headers["location"]).text
    assert "不再自动回答" in after
    assert 'name="back" value="/portal/review?unreviewed=1"' in after  # the notice is not carried along
    with runtime.database.session() as s:
        rule = s.scalar(select(ReferralRule))
        assert (rule.region_code, rule.item_id) == (LIANYUAN, "faq-lianyuan-dibao")
        fu = s.get(FollowUp, s.get(Question, b).followup_id)
        assert fu.state == "open" and fu.reason == "review"
    rules = c["bureau"].get("/portal/review/rules").text
    assert "faq-lianyuan-dibao" in rules and "金额以本县当年标准为准" in rules
    medical = c["bureau"].get("/portal/review").text  # the refer choice names the entry by its question
    assert "用这个条目回答的问题（“涟源出狱后医保去哪交？”）" in medical
    assert "faq-lianyuan-dibao" not in c["other"].get("/portal/review/rules").text
    assert post(c["other"], f"/portal/review/rules/{rule.id}/withdraw").status_code == 403
    r = post(c["bureau"], f"/portal/review/rules/{rule.id}/withdraw")
    assert r.status_code == 303 and count(runtime, ReferralRule, ReferralRule.withdrawn_at.is_not(None)) == 1
    assert count(runtime, AuditEvent, AuditEvent.action.in_(["review_refer", "referral_rule_added",
                                                             "referral_rule_withdrawn"])) == 3
    assert post(c["bureau"], "/portal/review/rules/99999999999/withdraw").status_code == 422


def test_wrong_reaches_the_prison_with_the_inmate_number_and_the_bureaus_draft(world):
    _, runtime, c = world
    a = ask(runtime, "回涟源了医保咋弄", inmate="A-1029")
    right = "在户籍地乡镇便民服务中心缴费，具体以当地医保部门答复为准。"
    r = post(c["bureau"], "/portal/review/wrong", qid=str(a), note="没说在哪个窗口", right_answer=right)
    assert r.status_code == 303
    faq_id = re.search(r"faq=([a-z0-9-]+)", r.headers["location"]).group(1)
    page = c["bureau"].get(r.headers["location"]).text
    assert "已开更正跟进" in page and f"/portal/bureau/faq/{faq_id}" in page and "A-1029" not in page
    assert "涟源出狱后医保去哪交" in c["bureau"].get(f"/portal/bureau/faq/{faq_id}").text
    deliveries = c["prison"].get("/portal/prison/deliveries").text
    assert "回涟源了医保咋弄" in deliveries and "A-1029" in deliveries and right in deliveries
    with runtime.database.session() as s:
        assert s.get(FaqRecord, faq_id).status == "draft"
    assert count(runtime, AuditEvent, AuditEvent.action == "review_wrong") == 1
    assert post(c["bureau"], "/portal/review/wrong", qid=str(a), note="再来").status_code == 409


def test_coverage_for_the_bureau_and_for_the_admin_across_counties(world):
    _, runtime, c = world
    a = ask(runtime, "涟源医保去哪交")
    ask(runtime, "翁牛特旗医保在哪交", region=WENGNIUTE)
    post(c["bureau"], "/portal/review/wrong", qid=str(a), note="缺窗口")
    mine = c["bureau"].get("/portal/review/coverage").text
    assert "系统直接回答了 1 个问题，已审核 1 个（100%）；其中答得不对 1 个" in mine and "各县区" not in mine
    assert "涟源医保去哪交（1 次" in mine and "涟源出狱后医保去哪交？（faq-lianyuan-medical，1 次）" in mine
    everyone = c["admin"].get("/portal/review/coverage").text
    assert "系统直接回答了 2 个问题，已审核 1 个（50%）" in everyone
    assert "涟源市（431382）" in everyone and "（150426）" in everyone
    assert c["prison"].get("/portal/review/coverage").status_code == 403
