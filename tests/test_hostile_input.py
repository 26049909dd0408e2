"""Hostile and odd input at the kiosk API and the portal, and schema-driven fuzzing (schemathesis): clear 4xx
errors or sensible answers, never a 500, nothing stored from a rejected request, and text shown inert."""

from __future__ import annotations

import uuid

import pytest
import schemathesis
from fastapi.testclient import TestClient
from helpers import PORTAL_BASE, PORTAL_PASSWORD, portal_sign_in
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from sqlalchemy import func, select

from assistant.api.main import create_app
from assistant.services import kiosks, users
from assistant.storage.models import FollowUp, Question

pytestmark = pytest.mark.slow
BASE = PORTAL_BASE
PASSWORD = PORTAL_PASSWORD


@pytest.fixture(scope="module")
def hostile_app(full_runtime):
    app = create_app(runtime=full_runtime, rate="100000/minute")
    with TestClient(app, base_url=BASE):
        assert app.state.service.ready.wait(120)
        yield app


@pytest.fixture(scope="module")
def kiosk_headers(hostile_app, full_runtime) -> dict[str, str]:
    with full_runtime.database.session() as s:
        reg = kiosks.register(s, "雁北监狱", f"模糊测试终端{uuid.uuid4().hex[:6]}")
    client = TestClient(hostile_app, base_url=BASE)
    r = client.post("/api/session", json={"county": "涟源", "pin": reg.pin, "inmate_number": "F-1"},
                    headers={"X-Kiosk-Token": reg.token})
    return {"X-Kiosk-Token": reg.token, "X-Kiosk-Session": r.json()["session"], "X-Officer-Pin": reg.pin}


def questions(runtime) -> int:
    with runtime.database.session() as s:
        return s.scalar(select(func.count()).select_from(Question))


REJECTED = {
    "empty": "",
    "whitespace": " \t\n\u3000 ",
    "control characters only": "\x00\x01\x1b\x7f\u200b\u200d",
    "100k characters": "医保" * 50_000,
}
ANSWERED_OR_FLAGGED = {
    "emoji": "出狱后医保咋整😭🙏",
    "traditional Chinese": "出獄後醫療保險怎麼辦理？",
    "mixed English and pinyin": "chu yu hou yibao zenme ban, medical insurance after release?",
    "HTML/JS": "<script>alert(1)</script>出狱后低保怎么申请<img src=x onerror=alert(2)>",
    "SQL-looking": "'; DROP TABLE questions; -- 出狱后养老保险怎么办",
    "control characters inside": "出狱后\x00医保\x1b怎么\x7f办",
    "path tricks": "../../etc/passwd 出狱后户口怎么办",
}


def test_rejected_questions_get_a_clear_error_and_store_nothing(hostile_app, kiosk_headers, full_runtime):
    client = TestClient(hostile_app, base_url=BASE)
    for name, text in REJECTED.items():
        before = questions(full_runtime)
        r = client.post("/api/ask", json={"question": text}, headers=kiosk_headers)
        assert r.status_code == (413 if len(text.encode()) > 64 * 1024 else 422), name  # 413: over the body cap
        error = r.json()["error"]
        if r.status_code == 413:
            assert "太大" in error["message"]["zh"] and questions(full_runtime) == before, name
            continue
        assert error["message"]["zh"] and error["details"][0]["zh"], name
        assert questions(full_runtime) == before, name
    for body in (b"\xff\xfe{\"question\": \"\xc3\x28\"}", b"{\"question\": ", b"null", b"[]"):
        r = client.post("/api/ask", content=body, headers=kiosk_headers | {"Content-Type": "application/json"})
        assert r.status_code == 422 and r.json()["error"]["message"]["zh"], body


def test_odd_questions_are_answered_or_flagged_and_logged_once(hostile_app, kiosk_headers, full_runtime):
    client = TestClient(hostile_app, base_url=BASE)
    for name, text in ANSWERED_OR_FLAGGED.items():
        before = questions(full_runtime)
        r = client.post("/api/ask", json={"question": text}, headers=kiosk_headers)
        assert r.status_code == 200, (name, r.text)
        body = r.json()
        assert body["status"] in ("answered", "suggested", "flagged", "out_of_scope"), name
        assert questions(full_runtime) == before + 1, name
        with full_runtime.database.session() as s:
            stored = s.get(Question, body["question_id"]).text
        assert "\x00" not in stored and "\x1b" not in stored, name
    assert questions(full_runtime) > 0  # the SQL-looking question dropped nothing


def test_traditional_chinese_is_understood_like_simplified(full_runtime):
    simplified = full_runtime.answerer.run("出狱后医疗保险怎么办理", "431382")
    traditional = full_runtime.answerer.run("出獄後醫療保險怎麼辦理", "431382")
    assert traditional.status == simplified.status
    assert [p.item_ids[:1] for p in traditional.parts] == [p.item_ids[:1] for p in simplified.parts]


def test_hostile_text_from_the_kiosk_is_inert_in_the_bureau_portal(hostile_app, kiosk_headers, full_runtime):
    marker = "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:8])  # letters: redaction keeps them
    client = TestClient(hostile_app, base_url=BASE)
    text = f"我的减刑{marker}什么时候批<script>alert('{marker}')</script>"
    r = client.post("/api/ask", json={"question": text}, headers=kiosk_headers)
    assert r.status_code == 200 and r.json()["followup_id"], r.text  # own-case question: flagged to the bureau
    with full_runtime.database.session() as s:
        users.add_user(s, f"bureau{marker}", PASSWORD, "bureau", region_code="431382")
        followup = s.get(FollowUp, r.json()["followup_id"])
        assert "<script>" in followup.text  # stored as typed (redacted), escaped when shown
    portal = portal_sign_in(hostile_app, f"bureau{marker}")
    page = portal.get(f"/portal/bureau/followups/{r.json()['followup_id']}").text
    assert f"alert('{marker}')</script>" not in page and f"&lt;script&gt;alert(&#39;{marker}&#39;)" in page
    csv_text = portal.get("/portal/exports/download", params={"format": "csv"}).content.decode("utf-8-sig")
    assert marker in csv_text


def test_export_parameters_cannot_reach_the_file_system(hostile_app, full_runtime):
    with full_runtime.database.session() as s:
        users.add_user(s, name := f"admin{uuid.uuid4().hex[:6]}", PASSWORD, "admin")
    portal = portal_sign_in(hostile_app, name)
    for params in ({"format": "../../etc/passwd"}, {"kind": "../questions"}, {"since": "../../../etc"},
                   {"topic": "../../x", "format": "csv"}, {"prison": "/etc/shadow", "format": "csv"},
                   {"county": "../../", "format": "csv"}):
        r = portal.get("/portal/exports/download", params=params)
        assert r.status_code in (200, 400, 422), params
        assert b"root:" not in r.content
        if r.status_code == 200:
            assert "attachment" in r.headers["content-disposition"] and ".." not in r.headers["content-disposition"]


def test_fuzzed_api_requests_never_cause_a_server_error(hostile_app, kiosk_headers):
    """Every operation in the OpenAPI schema, with generated valid and invalid bodies, queries and headers,
    called as a registered kiosk with an open session (schemathesis strategies driven by hypothesis)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", hostile_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/ask", "/api/session", "/api/feedback", "/api/topics"}
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def check(case) -> None:
                headers = {**kiosk_headers, **(case.headers or {})}
                if case.path in ("/api/session", "/api/session/current") and case.method == "DELETE":
                    headers["X-Kiosk-Token"] = "fuzz"  # keep the session the other operations use
                response = case.call(headers=headers)
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.path} {case.body!r} {case.query!r}: "
                                    f"{response.status_code} {response.text[:200]}")

            try:
                check()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to make invalid (no parameters, no body)
    assert not failures, "\n".join(failures[:10])


def test_personal_data_typed_at_the_kiosk_never_reaches_the_bureau(hostile_app, kiosk_headers, full_runtime):
    client = TestClient(hostile_app, base_url=BASE)
    text = "我叫王小明，身份证430102199001011234，电话13812345678，我的减刑什么时候能批下来"
    r = client.post("/api/ask", json={"question": text}, headers=kiosk_headers)
    assert r.status_code == 200 and r.json()["followup_id"], r.text
    marker = uuid.uuid4().hex[:6]
    with full_runtime.database.session() as s:
        users.add_user(s, f"bureau{marker}", PASSWORD, "bureau", region_code="431382")
    portal = portal_sign_in(hostile_app, f"bureau{marker}")
    shown = [portal.get(f"/portal/bureau/followups/{r.json()['followup_id']}").text,
             portal.get("/portal/bureau/queue").text, portal.get("/portal/bureau/stats").text,
             portal.get("/portal/exports/download", params={"format": "csv"}).content.decode("utf-8-sig"),
             portal.get("/portal/exports/download", params={"kind": "followups", "format": "csv"})
             .content.decode("utf-8-sig")]
    assert any("减刑" in page for page in shown)
    for secret in ("430102199001011234", "13812345678", "王小明", "F-1"):
        assert all(secret not in page for page in shown), secret
