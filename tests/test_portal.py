"""The staff and bureau portal through HTTP: sign-in, scopes, the bureau and prison flows, exports, sheets."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from helpers import PORTAL_BASE, PORTAL_PASSWORD
from helpers import portal_sign_in as sign_in
from sqlalchemy import func, select

from assistant.api.main import create_app
from assistant.services import followups, users
from assistant.storage.models import AuditEvent, FaqRecord, FollowUp, InmateLink, Kiosk, Question

PASSWORD = PORTAL_PASSWORD
LIANYUAN, WENGNIUTE = "431382", "150426"
BASE = PORTAL_BASE


@pytest.fixture(scope="module")
def full_runtime(fake_full_runtime):
    """The portal's rules need the real counties and documents, not the model's semantics: the real knowledge
    base with the fake embedder."""
    return fake_full_runtime


@pytest.fixture(scope="module")
def app(full_runtime):
    app = create_app(runtime=full_runtime)
    with TestClient(app, base_url=BASE):
        assert app.state.service.ready.wait(120)
        yield app


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def make_user(runtime, role: str, prison: str | None = None, region: str | None = None) -> str:
    name = unique(role)
    with runtime.database.session() as s:
        users.add_user(s, name, PASSWORD, role, f"测试{role}", prison, region)
    return name


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def add_question(runtime, text: str, region: str, prison: str, inmate: str | None = None,
                 status: str = "flagged") -> int:
    """A logged, flagged question with its follow-up (as the kiosk would leave it). Returns the follow-up id."""
    with runtime.database.session() as s:
        q = Question(client_id=str(uuid.uuid4()), prison=prison, kiosk="教育室", region_code=region,
                     topic="medical_insurance", text=text, status=status, answer="", sources=[], items=[])
        s.add(q)
        s.flush()
        fu = followups.open_followup(s, q, "flagged", inmate, "kiosk")
        q.followup_id = fu.id
        return fu.id


def followup_state(runtime, followup_id: int) -> str:
    with runtime.database.session() as s:
        return s.get(FollowUp, followup_id).state


def audit_count(runtime, action: str, actor: str) -> int:
    with runtime.database.session() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action,
                                                                            AuditEvent.actor == actor))


# --- accounts, sessions, CSRF, throttling ---------------------------------------------------------------------

def test_sign_in_sets_a_strict_secure_cookie_and_every_sign_in_gets_a_new_session(app, full_runtime):
    name = make_user(full_runtime, "bureau", region=LIANYUAN)
    client = TestClient(app, base_url=BASE, follow_redirects=False)
    client.cookies.set("bj_portal", "planted-by-attacker", domain="testserver.local", path="/portal")
    page = client.get("/portal/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)
    r = client.post("/portal/login", data={"username": name, "password": PASSWORD, "login_csrf": token,
                                           "next": "//evil.example/"})
    assert r.status_code == 303 and r.headers["location"] == "/portal/"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie and "Path=/portal" in cookie
    first = r.cookies["bj_portal"]
    assert first != "planted-by-attacker"
    again = sign_in(app, name)
    assert again.cookies["bj_portal"] != first
    assert audit_count(full_runtime, "login", name) == 2


def test_wrong_password_is_refused_audited_and_throttled(app, full_runtime):
    name = make_user(full_runtime, "prison", prison="雁北监狱")
    client = TestClient(app, base_url=BASE, follow_redirects=False)
    for _ in range(5):
        token = re.search(r'name="login_csrf" value="([^"]+)"', client.get("/portal/login").text).group(1)
        r = client.post("/portal/login", data={"username": name, "password": "wrong-password!", "login_csrf": token})
        assert r.status_code == 401 and "用户名或密码不正确" in r.text
    token = re.search(r'name="login_csrf" value="([^"]+)"', client.get("/portal/login").text).group(1)
    r = client.post("/portal/login", data={"username": name, "password": PASSWORD, "login_csrf": token})
    assert r.status_code == 429 and "15 分钟" in r.text and "bj_portal" not in r.cookies
    assert audit_count(full_runtime, "login_failed", f"login:{name}") == 6
    other = make_user(full_runtime, "prison", prison="雁北监狱")
    assert sign_in(app, other).get("/portal/prison/deliveries").status_code == 200


def test_login_form_needs_its_own_token(app, full_runtime):
    name = make_user(full_runtime, "admin")
    client = TestClient(app, base_url=BASE, follow_redirects=False)
    r = client.post("/portal/login", data={"username": name, "password": PASSWORD, "login_csrf": "forged"})
    assert r.status_code == 403 and "bj_portal" not in r.cookies


def test_pages_send_anonymous_visitors_to_sign_in(app):
    client = TestClient(app, base_url=BASE, follow_redirects=False)
    for path in ("/portal/", "/portal/bureau/queue", "/portal/prison/deliveries", "/portal/admin/users",
                 "/portal/kiosks", "/portal/exports/download?kind=questions&format=csv"):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/portal/login"), path
    r = client.post("/portal/bureau/followups/1/answer", data={"answer": "x", "csrf_token": "x"})
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/login")


def test_each_role_reaches_only_its_own_pages(app, full_runtime):
    bureau = sign_in(app, make_user(full_runtime, "bureau", region=LIANYUAN))
    prison = sign_in(app, make_user(full_runtime, "prison", prison="雁北监狱"))
    admin = sign_in(app, make_user(full_runtime, "admin"))
    pages = {"bureau": ["/portal/bureau/queue", "/portal/bureau/faq", "/portal/bureau/knowledge",
                        "/portal/bureau/stats"],
             "prison": ["/portal/prison/deliveries", "/portal/prison/questions", "/portal/prison/sheets"],
             "admin": ["/portal/admin/users", "/portal/admin/audit"]}
    allowed = {"bureau": {"bureau"}, "prison": {"prison"}, "admin": {"admin"}}
    for role, client in (("bureau", bureau), ("prison", prison), ("admin", admin)):
        for group, paths in pages.items():
            for path in paths:
                r = client.get(path)
                assert r.status_code == (200 if group in allowed[role] else 403), (role, path, r.status_code)
        assert client.get("/portal/exports").status_code == 200
    assert bureau.get("/portal/kiosks").status_code == 403
    assert prison.get("/portal/kiosks").status_code == 200 and admin.get("/portal/kiosks").status_code == 200


def test_portal_pages_carry_security_headers(app, full_runtime):
    client = sign_in(app, make_user(full_runtime, "admin"))
    r = client.get("/portal/admin/users")
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert '<html lang="zh-CN">' in r.text and 'href="#main"' in r.text


def test_a_form_without_the_session_token_changes_nothing(app, full_runtime):
    fid = add_question(full_runtime, "刑满释放后医保断了多久能补交", LIANYUAN, "雁北监狱")
    bureau = sign_in(app, make_user(full_runtime, "bureau", region=LIANYUAN))
    for token in (None, "forged"):
        data = {"answer": "请到县医保局办理"} | ({"csrf_token": token} if token else {})
        r = bureau.post(f"/portal/bureau/followups/{fid}/answer", data=data)
        assert r.status_code == 403 and "CSRF" in r.text
    assert followup_state(full_runtime, fid) == "open"


def test_logout_ends_the_session(app, full_runtime):
    client = sign_in(app, make_user(full_runtime, "admin"))
    token = client.cookies["bj_portal"]
    assert client.post("/portal/logout", data={"csrf_token": client.csrf}).status_code == 303
    stale = TestClient(app, base_url=BASE, follow_redirects=False)
    stale.cookies.set("bj_portal", token, domain="testserver.local", path="/portal")
    assert stale.get("/portal/admin/users").status_code == 303


# --- bureau ---------------------------------------------------------------------------------------------------

def test_bureau_answers_a_group_of_its_own_county_only(app, full_runtime):
    marker = unique("医保断缴")
    a = add_question(full_runtime, f"出狱以后{marker}怎么补交？", LIANYUAN, "雁北监狱", inmate="B-7701")
    b = add_question(full_runtime, f"出狱以后{marker}怎么补交", LIANYUAN, "长沙监狱", inmate="B-7702")
    elsewhere = add_question(full_runtime, f"{marker}翁牛特旗怎么办理", WENGNIUTE, "雁北监狱")
    mine = sign_in(app, make_user(full_runtime, "bureau", region=LIANYUAN))
    other = sign_in(app, make_user(full_runtime, "bureau", region=WENGNIUTE))

    page = mine.get("/portal/bureau/queue").text
    assert marker in page and "2 人问过" in page and "翁牛特旗怎么办理" not in page
    assert "B-7701" not in page and "雁北监狱" not in page
    detail = mine.get(f"/portal/bureau/followups/{a}")
    assert detail.status_code == 200 and "B-7702" not in detail.text
    assert mine.get(f"/portal/bureau/followups/{elsewhere}").status_code == 403

    r = other.post(f"/portal/bureau/followups/{a}/answer", data={"answer": "不是我们县", "csrf_token": other.csrf})
    assert r.status_code == 403 and followup_state(full_runtime, a) == "open"
    r = mine.post(f"/portal/bureau/followups/{a}/answer", data={"answer": "请带释放证明到县医保局补办。",
                                                                "csrf_token": mine.csrf})
    assert r.status_code == 303
    assert followup_state(full_runtime, a) == followup_state(full_runtime, b) == "answered"
    assert "已答复" in mine.get(r.headers["location"]).text
    r = mine.post(f"/portal/bureau/followups/{a}/answer", data={"answer": "再答一次", "csrf_token": mine.csrf})
    assert r.status_code == 409 and "已答复" in r.text
    r = mine.post(f"/portal/bureau/followups/{a}/answer", data={"answer": "  ", "csrf_token": mine.csrf})
    assert r.status_code in (400, 409)
    with full_runtime.database.session() as s:
        assert s.get(FollowUp, b).answer == "请带释放证明到县医保局补办。"
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "followup_answered",
                                                    AuditEvent.target == f"followup:{a}")).all()
    assert len(events) == 1 and events[0].scope == LIANYUAN


def test_question_text_is_shown_inert(app, full_runtime):
    marker = unique("xss")
    fid = add_question(full_runtime, f"<script>alert('{marker}')</script><img src=x onerror=alert(1)>", LIANYUAN,
                       "雁北监狱")
    page = sign_in(app, make_user(full_runtime, "bureau", region=LIANYUAN)).get(f"/portal/bureau/followups/{fid}").text
    assert f"<script>alert('{marker}')" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page


def test_answer_becomes_an_faq_that_the_kiosk_answers_at_once(app, full_runtime):
    question = "涟源刑满释放人员办理临时救助要到哪个窗口申请"
    fid = add_question(full_runtime, question, LIANYUAN, "雁北监狱")
    bureau = sign_in(app, make_user(full_runtime, "bureau", region=LIANYUAN))
    answer = "到户籍所在地乡镇人民政府（街道办事处）社会救助窗口申请临时救助，带身份证和释放证明。"
    bureau.post(f"/portal/bureau/followups/{fid}/answer", data={"answer": answer, "csrf_token": bureau.csrf})
    other = sign_in(app, make_user(full_runtime, "bureau", region=WENGNIUTE))
    assert other.post(f"/portal/bureau/followups/{fid}/draft", data={"csrf_token": other.csrf}).status_code == 403

    r = bureau.post(f"/portal/bureau/followups/{fid}/draft", data={"csrf_token": bureau.csrf})
    assert r.status_code == 303
    faq_url = r.headers["location"]
    faq_id = faq_url.rsplit("/", 1)[1]
    assert other.get(faq_url).status_code == 403
    form = {"question": "涟源临时救助去哪里申请？", "answer": answer, "topics": ["social_assistance"],
            "paraphrases": "临时救助在哪申请\n", "csrf_token": bureau.csrf, "action": "approve"}
    r = bureau.post(faq_url, data=form)
    assert r.status_code == 422 and "至少补充" in r.text and "草稿已保存" in r.text
    with full_runtime.database.session() as s:
        record = s.get(FaqRecord, faq_id)
        assert record.status == "draft" and record.question == "涟源临时救助去哪里申请？"

    form["paraphrases"] = "临时救助在哪申请\n出来没钱了临时救助找谁\n涟源的临时救助咋个申请\n急难救助去哪个窗口"
    r = bureau.post(faq_url, data=form)
    assert r.status_code == 303 and r.headers["location"].endswith("done=published")
    assert "已发布" in bureau.get(r.headers["location"]).text
    result = full_runtime.answerer.run("出来没钱了临时救助找谁", LIANYUAN)
    assert any(faq_id in p.item_ids for p in result.parts), result
    elsewhere = full_runtime.answerer.run("出来没钱了临时救助找谁", WENGNIUTE)
    assert all(faq_id not in p.item_ids for p in elsewhere.parts)
    assert faq_id in bureau.get("/portal/bureau/faq").text
    knowledge = bureau.get("/portal/bureau/knowledge").text
    due = datetime.now(UTC).date() + timedelta(days=365)
    assert "涟源临时救助去哪里申请？" in knowledge and str(due) in knowledge
    assert bureau.post(faq_url, data=form).status_code == 409  # published entries are not edited as drafts


def test_knowledge_page_lists_the_countys_documents_and_faq_with_review_dates(app, full_runtime):
    page = sign_in(app, make_user(full_runtime, "bureau", region=LIANYUAN)).get("/portal/bureau/knowledge").text
    own = [d for d in full_runtime.kb.documents if d.region == LIANYUAN]
    assert own and all(d.title in page for d in own)
    assert "复核期限" in page and str(own[0].review_due) in page
    national = next(d for d in full_runtime.kb.documents if d.region == "000000")
    assert national.title not in page


def test_statistics_count_the_countys_questions(app, full_runtime):
    marker = unique("统计")
    for _ in range(3):
        add_question(full_runtime, f"{marker}低保怎么申请", WENGNIUTE, "雁北监狱")
    page = sign_in(app, make_user(full_runtime, "bureau", region=WENGNIUTE)).get("/portal/bureau/stats").text
    assert f"{marker}低保怎么申请（3 次" in page
    assert "每周提问数" in page and "转司法局" in page
    bad = sign_in(app, make_user(full_runtime, "bureau", region=WENGNIUTE)).get("/portal/bureau/stats?since=2026-99-01")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text


# --- prison ---------------------------------------------------------------------------------------------------

def test_prison_delivers_answers_with_the_inmate_link_only_it_sees(app, full_runtime):
    prison = unique("监狱")
    fid = add_question(full_runtime, unique("假释后能不能出省打工"), LIANYUAN, prison, inmate="C-4410")
    with full_runtime.database.session() as s:
        followups.answer_followup(s, fid, "假释期间离开所居住的市、县需经批准。", "bureau-test")
    staff = sign_in(app, make_user(full_runtime, "prison", prison=prison))
    stranger = sign_in(app, make_user(full_runtime, "prison", prison=unique("监狱")))
    page = staff.get("/portal/prison/deliveries").text
    assert "C-4410" in page and "需经批准" in page
    assert "C-4410" not in stranger.get("/portal/prison/deliveries").text
    r = stranger.post(f"/portal/prison/followups/{fid}/deliver", data={"csrf_token": stranger.csrf})
    assert r.status_code == 403 and followup_state(full_runtime, fid) == "answered"
    r = staff.post(f"/portal/prison/followups/{fid}/deliver", data={"csrf_token": staff.csrf})
    assert r.status_code == 303 and followup_state(full_runtime, fid) == "delivered"
    assert "C-4410" not in staff.get("/portal/prison/deliveries").text
    questions = staff.get("/portal/prison/questions").text
    assert "假释后能不能出省打工" in questions
    assert "假释后能不能出省打工" not in stranger.get("/portal/prison/questions").text


@pytest.mark.slow  # renders a PDF with the CJK font
def test_faq_sheet_downloads_as_pdf_and_docx(app, full_runtime):
    staff = sign_in(app, make_user(full_runtime, "prison", prison="雁北监狱"))
    assert "打印问答单" in staff.get("/portal/prison/sheets").text
    r = staff.get("/portal/prison/sheets/download", params={"county": [LIANYUAN], "format": "pdf"})
    assert r.status_code == 200 and r.content.startswith(b"%PDF") and r.headers["content-type"] == "application/pdf"
    assert "attachment" in r.headers["content-disposition"]
    r = staff.get("/portal/prison/sheets/download", params={"county": [LIANYUAN, WENGNIUTE], "topic": ["employment"],
                                                            "format": "docx"})
    assert r.status_code == 200 and r.content.startswith(b"PK")
    r = staff.get("/portal/prison/sheets/download", params={"county": ["999999"], "format": "pdf"})
    assert r.status_code == 400
    r = staff.get("/portal/prison/sheets/download", params={"format": "pdf"})
    assert r.status_code == 400 and "县" in r.text
    r = staff.get("/portal/prison/sheets/download", params={"county": [LIANYUAN], "format": "../../etc/passwd"})
    assert r.status_code == 422
    # any county of the whole tree by its code in the "other county" box; an empty box is ignored
    r = staff.get("/portal/prison/sheets/download", params={"county": ["", "430321"], "format": "docx"})
    assert r.status_code == 200 and r.content.startswith(b"PK")


def test_kiosks_are_registered_listed_and_revoked_within_the_prison(app, full_runtime):
    prison = unique("监狱")
    staff = sign_in(app, make_user(full_runtime, "prison", prison=prison))
    kiosk_name = unique("三监区教育室")
    r = staff.post("/portal/kiosks", data={"name": kiosk_name, "prison": "别的监狱", "csrf_token": staff.csrf})
    assert r.status_code == 200 and "终端登记码" in r.text and r.headers["cache-control"] == "no-store"
    with full_runtime.database.session() as s:
        kiosk = s.scalars(select(Kiosk).where(Kiosk.prison == prison)).one()  # the form's prison is ignored
        kiosk_id = kiosk.id
    assert kiosk_name in staff.get("/portal/kiosks").text and "从未使用" in staff.get("/portal/kiosks").text
    stranger = sign_in(app, make_user(full_runtime, "prison", prison=unique("监狱")))
    assert kiosk_name not in stranger.get("/portal/kiosks").text
    r = stranger.post(f"/portal/kiosks/{kiosk_id}/revoke", data={"csrf_token": stranger.csrf})
    assert r.status_code == 403
    r = staff.post(f"/portal/kiosks/{kiosk_id}/revoke", data={"csrf_token": staff.csrf})
    assert r.status_code == 303
    with full_runtime.database.session() as s:
        assert s.get(Kiosk, kiosk_id).revoked_at is not None


# --- exports --------------------------------------------------------------------------------------------------

def rows_of(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_exports_stay_within_the_users_scope(app, full_runtime):
    marker = unique("导出")
    add_question(full_runtime, f"{marker}涟源", LIANYUAN, "雁北监狱", inmate="D-1")
    add_question(full_runtime, f"{marker}翁牛特", WENGNIUTE, "长沙监狱")
    bureau = sign_in(app, make_user(full_runtime, "bureau", region=LIANYUAN))
    r = bureau.get("/portal/exports/download", params={"kind": "questions", "format": "csv"})
    rows = rows_of(r.content)
    assert "监狱" not in rows[0] and "户籍地" in rows[0]
    texts = {row[rows[0].index("问题（已脱敏）")] for row in rows[1:]}
    assert f"{marker}涟源" in texts and f"{marker}翁牛特" not in texts
    assert {row[rows[0].index("户籍地")] for row in rows[1:]} == {"涟源市"}
    followup_rows = rows_of(bureau.get("/portal/exports/download",
                                       params={"kind": "followups", "format": "csv"}).content)
    assert "D-1" not in str(followup_rows) and all(row[followup_rows[0].index("户籍地")] == "涟源市"
                                                    for row in followup_rows[1:])
    assert bureau.get("/portal/exports/download", params={"county": WENGNIUTE}).status_code == 403

    prison = sign_in(app, make_user(full_runtime, "prison", prison="长沙监狱"))
    rows = rows_of(prison.get("/portal/exports/download", params={"format": "csv"}).content)
    assert {row[rows[0].index("监狱")] for row in rows[1:]} == {"长沙监狱"}
    assert prison.get("/portal/exports/download", params={"prison": "雁北监狱"}).status_code == 403

    admin = sign_in(app, make_user(full_runtime, "admin"))
    r = admin.get("/portal/exports/download", params={"format": "xlsx", "county": WENGNIUTE})
    assert r.status_code == 200 and r.content.startswith(b"PK")
    assert admin.get("/portal/exports/download", params={"format": "pdf"}).status_code == 422
    assert admin.get("/portal/exports/download", params={"since": "yesterday"}).status_code == 400
    assert admin.get("/portal/exports/download", params={"status": "gone", "format": "csv"}).status_code == 400
    r = admin.get("/portal/exports/download", params={"kind": "followups", "status": "open", "format": "csv"})
    assert r.status_code == 200 and all(row[7] == "待答复" for row in rows_of(r.content)[1:])


# --- admin ----------------------------------------------------------------------------------------------------

def test_admin_adds_and_disables_accounts_and_reads_the_audit_log(app, full_runtime):
    admin = sign_in(app, make_user(full_runtime, "admin"))
    name = unique("bureau")
    form = {"username": name, "password": PASSWORD, "role": "bureau", "region_code": LIANYUAN,
            "display_name": "涟源司法局小李", "csrf_token": admin.csrf}
    assert admin.post("/portal/admin/users", data=form).status_code == 303
    r = admin.post("/portal/admin/users", data=form)
    assert r.status_code == 400 and "已存在" in r.text
    r = admin.post("/portal/admin/users", data=form | {"username": unique("b"), "region_code": "999999"})
    assert r.status_code == 400 and "未知" in r.text
    r = admin.post("/portal/admin/users", data=form | {"username": unique("b"), "password": "short"})
    assert r.status_code == 400 and "10" in r.text

    newcomer = sign_in(app, name)
    assert newcomer.get("/portal/bureau/queue").status_code == 200
    with full_runtime.database.session() as s:
        user_id = s.scalars(select(users.User).where(users.User.username == name)).one().id
    r = admin.post(f"/portal/admin/users/{user_id}/password", data={"password": "short", "csrf_token": admin.csrf})
    assert r.status_code == 400 and newcomer.get("/portal/bureau/queue").status_code == 200
    r = admin.post(f"/portal/admin/users/{user_id}/password", data={"password": "a-new-long-password",
                                                                    "csrf_token": admin.csrf})
    assert r.status_code == 303 and newcomer.get("/portal/bureau/queue").status_code == 303  # sessions ended
    newcomer = sign_in(app, name, "a-new-long-password")
    assert admin.post(f"/portal/admin/users/{user_id}/disable", data={"csrf_token": admin.csrf}).status_code == 303
    assert newcomer.get("/portal/bureau/queue").status_code == 303  # its session ended
    page = admin.get("/portal/admin/audit", params={"action": "user_disabled"}).text
    assert name in page and "停用账号" in page


def test_bureau_pages_never_show_the_inmate_link(app, full_runtime):
    fid = add_question(full_runtime, unique("子女参军政审"), LIANYUAN, "雁北监狱", inmate="SECRET-9911")
    with full_runtime.database.session() as s:
        assert s.scalar(select(InmateLink.inmate_number).where(InmateLink.followup_id == fid)) == "SECRET-9911"
    bureau = sign_in(app, make_user(full_runtime, "bureau", region=LIANYUAN))
    for path in ("/portal/bureau/queue", f"/portal/bureau/followups/{fid}", "/portal/bureau/stats",
                 "/portal/exports/download?kind=followups&format=csv", "/portal/exports/download?format=csv"):
        r = bureau.get(path)
        assert r.status_code == 200 and "SECRET-9911" not in r.content.decode("utf-8-sig"), path


def test_bureau_contact_details_reach_the_kiosk_and_the_sheets_at_once(app, full_runtime):
    bureau = sign_in(app, make_user(full_runtime, "bureau", region=WENGNIUTE))
    form = bureau.get("/portal/bureau/contact")
    assert form.status_code == 200 and "本局联系方式" in form.text
    bad = bureau.post("/portal/bureau/contact", data={"phone": "打110", "csrf_token": bureau.csrf})
    assert bad.status_code == 400 and "电话" in bad.text
    phone = f"0476-{uuid.uuid4().int % 10_000_000:07d}"
    r = bureau.post("/portal/bureau/contact", data={"name": "翁牛特旗司法局", "phone": phone,
                                                    "hours": "工作日 8:30-17:30", "csrf_token": bureau.csrf})
    assert r.status_code == 303 and "已保存" in bureau.get(r.headers["location"]).text
    regions = {x["code"]: x for x in TestClient(app, base_url=BASE).get("/api/regions").json()}
    assert regions[WENGNIUTE]["bureau"]["phone"] == phone and regions[LIANYUAN]["bureau"]["phone"] != phone
    staff = sign_in(app, make_user(full_runtime, "prison", prison="雁北监狱"))
    sheet = staff.get("/portal/prison/sheets/download", params={"county": [WENGNIUTE], "format": "docx"})
    from docx import Document

    text = "\n".join(cell.text for table in Document(io.BytesIO(sheet.content)).tables
                     for row in table.rows for cell in row.cells)
    assert phone in text
    with full_runtime.database.session() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "contact_updated")
                          .order_by(AuditEvent.id.desc())).first()
        assert event.scope == WENGNIUTE and phone in event.detail


def test_bureau_adds_a_source_to_a_draft_before_approving(app, full_runtime):
    fid = add_question(full_runtime, unique("出狱后城乡居民医保个人缴费有补贴吗"), LIANYUAN, "雁北监狱")
    bureau = sign_in(app, make_user(full_runtime, "bureau", region=LIANYUAN))
    bureau.post(f"/portal/bureau/followups/{fid}/answer",
                data={"answer": "享受低保的，个人缴费部分由政府补贴，具体以县医保局为准。", "csrf_token": bureau.csrf})
    url = bureau.post(f"/portal/bureau/followups/{fid}/draft", data={"csrf_token": bureau.csrf}).headers["location"]
    page = bureau.get(url).text
    assert page.count('name="src_title"') == 3  # the bureau's own answer and two empty rows
    with full_runtime.database.session() as s:
        own = s.get(FaqRecord, url.rsplit("/", 1)[1]).sources[0]
    form = {"question": "低保人员医保个人缴费有补贴吗？",
            "answer": "享受低保的，个人缴费部分由政府补贴，具体以县医保局为准。", "topics": ["medical_insurance"],
            "paraphrases": "低保户医保要自己交钱吗\n吃低保的医保咋交\n医保费交不起有补贴没",
            "src_title": [own["title"], "中华人民共和国社会保险法", ""], "src_kind": ["local", "law", "law"],
            "src_article": ["", "", ""], "src_version": [own["version"], "2018年修正", ""],
            "action": "approve", "csrf_token": bureau.csrf}
    r = bureau.post(url, data=form)
    assert r.status_code == 422 and "条号" in r.text  # a statute needs its article
    form["src_article"] = ["", "25", ""]
    assert bureau.post(url, data=form).status_code == 303
    with full_runtime.database.session() as s:
        record = s.get(FaqRecord, url.rsplit("/", 1)[1])
        assert record.status == "approved" and record.sources[0] == own
        assert record.sources[1]["article"] == "25" and record.sources[1]["confidence"] == "secondary"


def test_users_change_their_own_password(app, full_runtime):
    name = make_user(full_runtime, "prison", prison="雁北监狱")
    client = sign_in(app, name)
    assert "当前密码" in client.get("/portal/account").text
    new = "my-new-password-2026"
    form = {"current": PASSWORD, "password": new, "confirm": new + "x", "csrf_token": client.csrf}
    assert client.post("/portal/account/password", data=form).status_code == 400
    form |= {"confirm": new, "current": "not-my-password"}
    assert client.post("/portal/account/password", data=form).status_code == 403
    form |= {"current": PASSWORD}
    r = client.post("/portal/account/password", data=form)
    assert r.status_code == 303 and r.headers["location"] == "/portal/login"
    assert client.get("/portal/prison/deliveries").status_code == 303  # signed out everywhere
    assert sign_in(app, name, new).get("/portal/prison/deliveries").status_code == 200


def test_unopened_counties_view_and_a_new_bureau_signs_in_to_its_backlog(app, full_runtime):
    marker = unique("户口迁移")
    add_question(full_runtime, f"{marker}要什么材料", "430321", "雁北监狱")  # 湘潭县: no account yet
    hengyang_county = add_question(full_runtime, f"{marker}衡阳县怎么办", "430421", "雁北监狱")
    unknown_home = add_question(full_runtime, f"{marker}户籍不详的问题", "000000", "雁北监狱", inmate="C-1")
    admin = sign_in(app, make_user(full_runtime, "admin"))
    page = admin.get("/portal/admin/unopened").text
    assert "湖南省湘潭市湘潭县" in page and "430321" in page and "户籍不详" in page
    # 衡阳县 is covered once 衡阳市司法局 (a city bureau taking part directly) has an account
    city = sign_in(app, make_user(full_runtime, "bureau", region="430400"))
    assert marker in city.get("/portal/bureau/queue").text
    assert city.get(f"/portal/bureau/followups/{hengyang_county}").status_code == 200
    assert city.get(f"/portal/bureau/followups/{unknown_home}").status_code == 403
    assert "衡阳县" not in admin.get("/portal/admin/unopened").text
    # the prison where a 户籍不详 question was asked sees it
    prison = sign_in(app, make_user(full_runtime, "prison", prison="雁北监狱"))
    deliveries = prison.get("/portal/prison/deliveries").text
    assert f"{marker}户籍不详的问题" in deliveries and "C-1" in deliveries
    # the admin opens 湘潭县: its first sign-in lands on the backlog, and the county leaves the view
    name = unique("xiangtan")
    r = admin.post("/portal/admin/users", data={"username": name, "password": PASSWORD, "role": "bureau",
                                                "region_code": "430321", "csrf_token": admin.csrf})
    assert r.status_code == 303
    assert f"{marker}要什么材料" in sign_in(app, name).get("/portal/bureau/queue").text
    assert "430321" not in admin.get("/portal/admin/unopened").text
