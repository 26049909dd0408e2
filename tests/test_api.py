"""The kiosk API through HTTP (FastAPI TestClient), on the real knowledge base."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from helpers import other_digits
from sqlalchemy import func, select

from assistant.api.main import create_app
from assistant.services import kiosks
from assistant.storage.models import AuditEvent, FollowUp, Question

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(full_runtime):
    app = create_app(runtime=full_runtime, rate="5/minute")
    with TestClient(app) as c:
        assert app.state.service.ready.wait(120)
        yield c


@pytest.fixture
def kiosk(full_runtime):
    with full_runtime.database.session() as s:
        return kiosks.register(s, "雁北监狱", f"教育室-{id(s)}")


def open_session(client, kiosk, county="涟源", inmate="A-1029") -> dict:
    r = client.post("/api/session", json={"county": county, "pin": kiosk.pin, "inmate_number": inmate},
                    headers={"X-Kiosk-Token": kiosk.token})
    assert r.status_code == 200, r.text
    return {"X-Kiosk-Token": kiosk.token, "X-Kiosk-Session": r.json()["session"]}


def count(runtime, model) -> int:
    with runtime.database.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_health_reports_readiness_and_index(client):
    body = client.get("/health").json()
    assert body["ready"] is True and body["index"]["counts"]["faq"] >= 120


def test_regions_and_topics_for_the_county_picker(client):
    regions = {r["name"]: r for r in client.get("/api/regions").json()}
    assert regions["涟源市"]["parent"] == "431300" and regions["涟源市"]["bureau"]["phone"] is None
    topics = client.get("/api/topics", params={"county": "翁牛特旗"}).json()
    assert [t["name"] for t in topics][:3] == ["就业", "医保", "养老"]
    assert all(not q["id"].startswith("faq-lianyuan") for t in topics for q in t["questions"])
    assert client.get("/api/topics", params={"county": "火星"}).status_code == 400


def test_ask_requires_a_registered_kiosk_and_an_open_session(client, kiosk, full_runtime):
    before = count(full_runtime, Question)
    assert client.post("/api/ask", json={"question": "医保"}).status_code == 403
    r = client.post("/api/ask", json={"question": "医保"}, headers={"X-Kiosk-Token": kiosk.token})
    assert r.status_code == 403 and "会话" in r.json()["error"]["message"]["zh"]
    wrong_pin = client.post("/api/session", json={"county": "涟源", "pin": other_digits(kiosk.pin)},
                            headers={"X-Kiosk-Token": kiosk.token})
    assert wrong_pin.status_code == 403
    assert count(full_runtime, Question) == before


def test_ask_answers_with_sources_and_logs_redacted(client, kiosk, full_runtime):
    headers = open_session(client, kiosk)
    r = client.post("/api/ask", json={"question": "我叫张伟，出狱以后医保该怎么弄？"}, headers=headers)
    body = r.json()
    assert r.status_code == 200 and body["status"] == "answered" and body["sources"]
    assert body["bureau"]["name"] == "涟源市司法局" and body["bureau"]["phone"] is None
    assert body["basis"].startswith("依据的法律法规截至2025年4月；本条内容复核于2026年")  # the kiosk card's line
    with full_runtime.database.session() as s:
        q = s.get(Question, body["question_id"])
        assert "张伟" not in q.text and q.kiosk == kiosk_name(full_runtime, kiosk) and q.prison == "雁北监狱"


def kiosk_name(runtime, reg) -> str:
    from assistant.storage.models import Kiosk

    with runtime.database.session() as s:
        return s.get(Kiosk, reg.kiosk_id).name


def test_flagged_question_and_unresolved_button_create_followups(client, kiosk, full_runtime):
    headers = open_session(client, kiosk, county="宁城")
    flagged = client.post("/api/ask", json={"question": "我老婆的低保批了没有"}, headers=headers).json()
    assert flagged["status"] == "flagged" and flagged["followup_id"] and "宁城县司法局" in flagged["answer"]
    assert flagged["basis"] is None  # a flag quotes no entry: no review date to show
    answered = client.post("/api/ask", json={"question": "醉驾以后多久能重新考驾照"}, headers=headers).json()
    r = client.post("/api/feedback", json={"question_id": answered["question_id"]}, headers=headers)
    assert r.status_code == 200 and "宁城县司法局" in r.json()["message"]
    own = {f["id"] for f in client.get("/api/followups", headers=headers).json()}
    assert {flagged["followup_id"], r.json()["followup_id"]} <= own
    with full_runtime.database.session() as s:
        assert s.get(FollowUp, r.json()["followup_id"]).reason == "unresolved"
    other = kiosks_register(full_runtime)
    assert client.post("/api/feedback", json={"question_id": answered["question_id"]},
                       headers=open_session(client, other)).status_code == 404


def kiosks_register(runtime):
    with runtime.database.session() as s:
        return kiosks.register(s, "赤峰监狱", "别的终端")


@pytest.mark.parametrize(("payload", "zh"), [({}, "缺少问题"), ({"question": "   "}, "问题不能为空"),
                                             ({"question": "问" * 501}, "太长"), ({"question": 5}, "格式不正确")])
def test_bad_requests_get_clear_bilingual_errors_and_store_nothing(client, kiosk, full_runtime, payload, zh):
    headers = open_session(client, kiosk)
    before = count(full_runtime, Question)
    r = client.post("/api/ask", json=payload, headers=headers)
    err = r.json()["error"]
    assert r.status_code == 422 and zh in err["message"]["zh"] and err["message"]["en"]
    assert count(full_runtime, Question) == before


def test_rate_limit_per_kiosk(client, kiosk):
    headers = open_session(client, kiosk)
    codes = [client.post("/api/ask", json={"question": f"第{i}个问题医保"}, headers=headers).status_code
             for i in range(7)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
    other = open_session(client, kiosks_register_named("另一台"))
    assert client.post("/api/ask", json={"question": "医保"}, headers=other).status_code == 200


_RUNTIME = {}


def kiosks_register_named(name):
    runtime = _RUNTIME["rt"]
    with runtime.database.session() as s:
        return kiosks.register(s, "雁北监狱", name)


@pytest.fixture(autouse=True)
def _remember_runtime(full_runtime):
    _RUNTIME["rt"] = full_runtime


def test_crisis_reaches_the_officer_view_and_session_end(client, kiosk, full_runtime):
    headers = open_session(client, kiosk)
    crisis = client.post("/api/ask", json={"question": "出去也没人要我，我不想活了"}, headers=headers).json()
    assert crisis["alert"] == "crisis" and "民警" in crisis["answer"]
    assert client.get("/api/officer/alerts", headers={"X-Kiosk-Token": kiosk.token,
                                                      "X-Officer-Pin": other_digits(kiosk.pin)}).status_code == 403
    alerts = client.get("/api/officer/alerts", headers={"X-Kiosk-Token": kiosk.token, "X-Officer-Pin": kiosk.pin})
    assert crisis["question_id"] in [a["question_id"] for a in alerts.json()]
    ended = client.delete("/api/session", headers={"X-Kiosk-Token": kiosk.token, "X-Officer-Pin": kiosk.pin})
    assert ended.json()["ended"] == 1
    assert client.post("/api/ask", json={"question": "医保"}, headers=headers).status_code == 403
    with full_runtime.database.session() as s:
        actions = [e.action for e in s.scalars(select(AuditEvent).where(AuditEvent.target == f"kiosk:{kiosk.kiosk_id}")
                                                .order_by(AuditEvent.id))]
    assert actions == ["kiosk_registered",  # the service audits the fixture's registration too
                       "kiosk_session_opened", "kiosk_pin_failed", "kiosk_session_ended"]  # PIN actions audited


def test_revoked_kiosk_is_refused_and_openapi_is_served(client, kiosk, full_runtime):
    headers = open_session(client, kiosk)
    with full_runtime.database.session() as s:
        kiosks.revoke(s, kiosk.kiosk_id)
    assert client.post("/api/ask", json={"question": "医保"}, headers=headers).status_code == 403
    spec = client.get("/openapi.json").json()
    assert "/api/ask" in spec["paths"] and client.get("/docs").status_code == 200
    page = client.get("/kiosk")
    assert page.status_code == 200 and "http" not in page.text.replace("http-equiv", "")
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_region_search_pages_and_only_county_level_homes(client, kiosk):
    listed = client.get("/api/regions").json()  # as before: the regions taking part
    assert {r["code"] for r in listed} >= {"000000", "431382", "430400"} and len(listed) < 100
    page = client.get("/api/regions", params={"limit": 50, "offset": 100}).json()
    assert len(page) == 50
    for q, code in (("湘潭县", "430321"), ("xt", "430321"), ("430321", "430321"), ("邵东县", "430582")):
        hits = client.get("/api/regions", params={"q": q, "limit": 20}).json()
        assert code in [h["code"] for h in hits] and all(h["level"] == "county" for h in hits), q
    old = client.get("/api/regions", params={"q": "望城县"}).json()[0]
    assert old["code"] == "430112" and old["old_name"] == "望城县" and old["full_name"] == "长沙市望城区"
    # the prison's frequent home counties come first for its own kiosks
    for _ in range(2):
        open_session(client, kiosk, county="430321")
    first = client.get("/api/regions", params={"q": "xt"}, headers={"X-Kiosk-Token": kiosk.token}).json()[0]
    assert first["code"] == "430321"
    for home in ("湖南省", "000000", "衡阳市", "湘潭市", "朝阳区"):  # provinces, cities, namesakes: refused
        r = client.post("/api/session", json={"county": home, "pin": kiosk.pin},
                        headers={"X-Kiosk-Token": kiosk.token})
        assert r.status_code == 400, home
    unknown = client.post("/api/session", json={"county": "户籍不详", "pin": kiosk.pin},
                          headers={"X-Kiosk-Token": kiosk.token}).json()
    assert unknown["county"] == {"code": "000000", "name": "户籍不详"}
    assert open_session(client, kiosk, county="北京市朝阳区")


def test_a_county_without_local_information_says_so(client, kiosk):
    headers = open_session(client, kiosk, county="湘潭县")
    body = client.post("/api/ask", json={"question": "出狱后医保怎么交"}, headers=headers).json()
    assert body["county"] == "湘潭县" and "湘潭县的本地政策资料暂未收录" in body["answer"]
    assert all(s["region"] in ("全国", "湖南省") for s in body["sources"])
    headers = open_session(client, kiosk, county="涟源")
    body = client.post("/api/ask", json={"question": "出狱后医保怎么交"}, headers=headers).json()
    assert "暂未收录" not in body["answer"]


def test_a_follow_up_is_answered_in_the_context_of_the_session_and_logged_with_what_was_searched(
        client, kiosk, full_runtime):
    headers = open_session(client, kiosk, county="涟源")
    first = client.post("/api/ask", json={"question": "我娃以后能当兵不"}, headers=headers).json()
    follow = client.post("/api/ask", json={"question": "那我女儿呢？"}, headers=headers).json()
    assert "女儿" in follow["resolved_question"] and "当兵" in follow["resolved_question"]
    assert follow["status"] == first["status"]
    with full_runtime.database.session() as s:
        q = s.get(Question, follow["question_id"])
        assert q.text == "那我女儿呢？" and q.resolved == follow["resolved_question"]
    # a new session starts without context: the same words are never answered blind
    fresh = open_session(client, kiosk, county="涟源")
    blind = client.post("/api/ask", json={"question": "那我女儿呢？"}, headers=fresh).json()
    assert blind["status"] == "suggested" and blind["suggestions"] == []


def test_a_choice_is_recorded_only_among_the_offered_entries_of_this_kiosk(client, kiosk, full_runtime):
    headers = open_session(client, kiosk, county="涟源")
    asked = client.post("/api/ask", json={"question": "我娃以后能当兵不"}, headers=headers).json()
    qid = asked["question_id"]
    with full_runtime.database.session() as s:
        s.get(Question, qid).offered = ["faq-family-child-army", "faq-jobs-military-self"]
    bad = client.post("/api/choice", json={"question_id": qid, "faq_id": "faq-hukou-id-lost"}, headers=headers)
    assert bad.status_code == 400
    ok = client.post("/api/choice", json={"question_id": qid, "faq_id": "faq-jobs-military-self"}, headers=headers)
    assert ok.status_code == 200
    with full_runtime.database.session() as s:
        assert s.get(Question, qid).chosen == "faq-jobs-military-self"
    other = client.post("/api/choice", json={"question_id": qid + 10_000, "faq_id": "faq-jobs-military-self"},
                        headers=headers)
    assert other.status_code == 404
