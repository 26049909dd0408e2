"""Search with filters in the prison's question log, the bureau's follow-ups and the admin's audit log (issue 15)."""

from __future__ import annotations

import time

import pytest
from helpers import KNOWLEDGE, PORTAL_PASSWORD, portal_sign_in

from assistant.answering.models import Answer
from assistant.api.main import create_app
from assistant.core.config import Settings
from assistant.runtime import Runtime
from assistant.services import audit, users
from assistant.services.questions import AskContext

PRISON = "雁北监狱"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    runtime = Runtime(Settings(data_dir=tmp_path_factory.mktemp("search"), knowledge_dir=KNOWLEDGE))
    app = create_app(runtime=runtime)
    qlog = app.state.service.qlog
    for text, topic in [("出狱后医保断缴了怎么续", "medical_insurance"), ("低保申请要带什么材料", "social_assistance"),
                        ("医保卡丢了去哪补办", "medical_insurance"), ("养老保险100%能补缴吗", "pension")]:
        answer = Answer(text, "涟源市", "flagged", "回答", [], None, [], region_code="431382", topic=topic)
        qlog.record(answer, AskContext(prison=PRISON, kiosk="教育室1号"))
    return app


def user(app, role: str, **scope) -> str:
    name = f"{role}{time.time_ns() % 10**9}"
    with app.state.service.runtime.database.session() as s:
        users.add_user(s, name, PORTAL_PASSWORD, role, **scope)
    return name


def listed(html: str) -> set[str]:
    texts = ("出狱后医保断缴了怎么续", "低保申请要带什么材料", "医保卡丢了去哪补办", "养老保险100%能补缴吗")
    return {t for t in texts if t in html}


def test_prison_question_log_search_and_topic_filter(app):
    prison = portal_sign_in(app, user(app, users.PRISON, prison=PRISON))
    page = lambda **p: listed(prison.get("/portal/prison/questions", params=p).text)  # noqa: E731
    assert page(q="医保") == {"出狱后医保断缴了怎么续", "医保卡丢了去哪补办"}
    assert page(q="医保 补办") == {"医保卡丢了去哪补办"}
    assert page(topic="social_assistance") == {"低保申请要带什么材料"}
    assert page(q="100%") == {"养老保险100%能补缴吗"} and page(q="%") == {"养老保险100%能补缴吗"}
    assert page(q="_") == set() and len(page()) == 4


def test_bureau_follow_up_search_and_topic_filter(app):
    bureau = portal_sign_in(app, user(app, users.BUREAU, region_code="431382"))
    page = lambda **p: listed(bureau.get("/portal/bureau/queue", params={"state": "all", **p}).text)  # noqa: E731
    assert page(q="补办") == {"医保卡丢了去哪补办"}
    assert page(topic="medical_insurance") == {"出狱后医保断缴了怎么续", "医保卡丢了去哪补办"}
    assert page(q="低保", topic="medical_insurance") == set()


def test_admin_audit_search_with_dates(app):
    with app.state.service.runtime.database.session() as s:
        audit.record(s, "cli:root", "kiosk_registered", "kiosk:77", "教育室九号 at 雁北监狱", scope=PRISON)
        audit.record(s, "cli:root", "kiosk_registered", "kiosk:78", "阅览室 at 雁北监狱", scope=PRISON)
    admin = portal_sign_in(app, user(app, users.ADMIN))
    html = admin.get("/portal/admin/audit", params={"q": "教育室九号"}).text
    assert "kiosk:77" in html and "kiosk:78" not in html
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert "kiosk:78" in admin.get("/portal/admin/audit", params={"q": "阅览室", "since": today}).text
    assert "kiosk:78" not in admin.get("/portal/admin/audit", params={"q": "阅览室", "until": "2020-01-01"}).text
