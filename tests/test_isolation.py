"""Isolation matrix: every route of the app × every kind of caller.

Callers: anonymous, a kiosk of the home prison (device headers, no portal cookie), prison staff of the home
prison and of another prison, bureau staff of the home county and of another county, and an admin.
For each route the table says who may use it. Everyone else is refused (sign-in redirect or 403), and a
refused request changes nothing in the database. Pages that every caller of a role may open (a queue, a
list, an export) must not show the home records to a caller of another scope, and no bureau caller
ever sees the inmate number. A route missing from the table fails the test, so new routes get classified.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from helpers import PORTAL_BASE, PORTAL_PASSWORD, portal_sign_in
from sqlalchemy import select

from assistant.api.main import create_app
from assistant.services import faq, followups, kiosks, review, users
from assistant.storage.models import (
    BureauContact,
    FaqOverride,
    FaqRecord,
    FollowUp,
    Kiosk,
    Question,
    QuestionReview,
    ReferralRule,
    User,
)

pytestmark = pytest.mark.slow  # hundreds of requests with a database snapshot around each (but no model)
BASE = PORTAL_BASE
PASSWORD = PORTAL_PASSWORD
HOME_COUNTY, OTHER_COUNTY = "431382", "150426"
HOME_FILE_FAQ = "faq-lianyuan-bangjiao-file"  # an entry of the home county's knowledge files
ROLES = ("anonymous", "kiosk", "prison_home", "prison_other", "bureau_home", "bureau_other", "admin")


@pytest.fixture(scope="module")
def full_runtime(fake_full_runtime):
    """Who may see and change what does not depend on the model's semantics: the real knowledge base with the fake
    embedder."""
    return fake_full_runtime


@dataclass
class World:
    marker: str
    inmate: str
    open_fu: int = 0
    answered_fu: int = 0
    draft_id: str = ""
    kiosk_id: int = 0
    victim_id: int = 0
    question_id: int = 0
    answered_q: dict[str, int] = field(default_factory=dict)  # answered questions to review, one per action
    rule_id: int = 0
    clients: dict[str, TestClient] = field(default_factory=dict)
    csrf: dict[str, str] = field(default_factory=dict)
    kiosk_headers: dict[str, str] = field(default_factory=dict)


def _question(s, text: str, prison: str, kiosk_name: str, inmate: str | None) -> tuple[int, int]:
    kiosk_id = s.scalar(select(Kiosk.id).where(Kiosk.name == kiosk_name, Kiosk.prison == prison))
    q = Question(client_id=str(uuid.uuid4()), prison=prison, kiosk=kiosk_name, kiosk_id=kiosk_id,
                 region_code=HOME_COUNTY,
                 topic="employment", text=text, status="flagged", answer="", sources=[], items=[],
                 offered=["faq-employment-how-to-find-job-after-release"])
    s.add(q)
    s.flush()
    fu = followups.open_followup(s, q, "flagged", inmate, "kiosk")
    q.followup_id = fu.id
    return q.id, fu.id


@pytest.fixture(scope="module")
def world(full_runtime):
    app = create_app(runtime=full_runtime, rate="1000/minute")
    tag = uuid.uuid4().hex[:6]
    home, other = f"本监狱{tag}", f"外监狱{tag}"
    w = World(marker=f"隔离标记{tag}", inmate=f"INMATE-{tag}")
    with full_runtime.database.session() as s:
        kiosk_name = f"{w.marker}终端"  # a prison's kiosk list is a home record too
        reg = kiosks.register(s, home, kiosk_name)
        w.kiosk_id = reg.kiosk_id
        w.question_id, w.open_fu = _question(s, f"{w.marker}出去以后找工作难不难", home, kiosk_name, w.inmate)
        _, w.answered_fu = _question(s, f"{w.marker}刑满后开货车要什么证件呢", home, kiosk_name, w.inmate)
        followups.answer_followup(s, w.answered_fu, f"{w.marker}请到县交警大队咨询。", "bureau-setup")
        names = {}
        for role, scope in (("prison_home", {"prison": home}), ("prison_other", {"prison": other}),
                            ("bureau_home", {"region_code": HOME_COUNTY}),
                            ("bureau_other", {"region_code": OTHER_COUNTY}), ("admin", {})):
            names[role] = f"{role.replace('_', '')}{tag}"
            users.add_user(s, names[role], PASSWORD, role.split("_")[0], role, **scope)
        w.victim_id = users.add_user(s, f"victim{tag}", PASSWORD, "bureau", region_code=HOME_COUNTY).id
        for action in ("right", "wrong", "refer"):
            q = Question(client_id=str(uuid.uuid4()), prison=home, kiosk=kiosk_name, region_code=HOME_COUNTY,
                         topic="employment", text=f"{w.marker}出来后{action}找工作", status="answered",
                         answer=f"{w.marker}回答", sources=[], items=[f"isolation-item-{tag}"])
            s.add(q)
            s.flush()
            w.answered_q[action] = q.id
        home_bureau = users.Principal(0, "bureau-setup", "", "bureau", None, HOME_COUNTY)
        w.rule_id = review.add_rule(s, home_bureau, f"isolation-rule-{tag}", None, f"{w.marker}规则").id
    with full_runtime.database.session() as s:
        w.draft_id = faq.draft_from_followup(s, full_runtime.kb, w.answered_fu, "bureau-setup").id
    with TestClient(app, base_url=BASE, follow_redirects=False) as anonymous:
        assert app.state.service.ready.wait(120)
        w.clients["anonymous"] = anonymous
        kiosk_client = TestClient(app, base_url=BASE, follow_redirects=False)
        r = kiosk_client.post("/api/session", json={"county": HOME_COUNTY, "pin": reg.pin},
                              headers={"X-Kiosk-Token": reg.token})
        w.kiosk_headers = {"X-Kiosk-Token": reg.token, "X-Kiosk-Session": r.json()["session"],
                           "X-Officer-Pin": reg.pin}
        kiosk_client.headers.update(w.kiosk_headers)
        w.clients["kiosk"] = kiosk_client
        w.csrf["anonymous"] = w.csrf["kiosk"] = "no-session"
        for role, name in names.items():
            w.clients[role] = portal_sign_in(app, name)
            w.csrf[role] = w.clients[role].csrf
        yield app, w


def snapshot(runtime) -> dict:
    """Every row a portal or kiosk change could touch (timestamps of mere activity left out)."""
    with runtime.database.session() as s:
        return {
            "followups": [(f.id, f.state, f.answer, f.group_id)
                          for f in s.scalars(select(FollowUp).order_by(FollowUp.id))],
            "faq": [(r.id, r.status, r.question, tuple(r.paraphrases), r.answer)
                    for r in s.scalars(select(FaqRecord).order_by(FaqRecord.id))],
            "kiosks": [(k.id, k.revoked_at) for k in s.scalars(select(Kiosk).order_by(Kiosk.id))],
            "users": [(u.id, u.disabled_at, u.password_hash) for u in s.scalars(select(User).order_by(User.id))],
            "contacts": [(c.region_code, c.name, c.phone, c.address, c.hours)
                         for c in s.scalars(select(BureauContact).order_by(BureauContact.region_code))],
            "questions": [(q.id, q.unresolved, q.followup_id)
                          for q in s.scalars(select(Question).order_by(Question.id))],
            "reviews": [(r.question_id, r.verdict)
                        for r in s.scalars(select(QuestionReview).order_by(QuestionReview.id))],
            "rules": [(r.id, r.withdrawn_at) for r in s.scalars(select(ReferralRule).order_by(ReferralRule.id))],
            "overrides": [(o.id, o.faq_id, o.action, o.active)
                          for o in s.scalars(select(FaqOverride).order_by(FaqOverride.id))],
        }


PUBLIC = {"anonymous", "kiosk", "prison_home", "prison_other", "bureau_home", "bureau_other", "admin"}
PORTAL_USERS = {"prison_home", "prison_other", "bureau_home", "bureau_other", "admin"}


@dataclass(frozen=True)
class Case:
    method: str
    route: str  # the route template, as FastAPI lists it
    allowed: frozenset[str]  # may use it (2xx or a 303 that is not the sign-in page)
    url: str = ""  # filled-in path (default: route)
    data: tuple = ()
    scoped: frozenset[str] = frozenset()  # may open it, but must see none of the home records
    sees_inmate: frozenset[str] = frozenset()


def cases(w: World) -> list[Case]:
    fs = frozenset
    bureau_pages = [("GET", "/portal/bureau/queue"), ("GET", "/portal/bureau/faq"),
                    ("GET", "/portal/bureau/knowledge"), ("GET", "/portal/bureau/stats")]
    return [
        Case("GET", "/health", fs(PUBLIC)), Case("GET", "/", fs(PUBLIC)), Case("GET", "/kiosk", fs(PUBLIC)),
        Case("GET", "/officer", fs(PUBLIC)), Case("GET", "/api/regions", fs(PUBLIC)),
        Case("GET", "/api/topics", fs(PUBLIC)),
        Case("POST", "/api/session", fs({"kiosk"}), data=(("json", {"county": HOME_COUNTY,
                                                                    "pin": w.kiosk_headers["X-Officer-Pin"]}),)),
        Case("POST", "/api/ask", fs({"kiosk"}), data=(("json", {"question": "出狱后医保怎么办"}),)),
        Case("GET", "/api/speech", fs({"kiosk"})),  # the answer just given, read aloud
        Case("GET", "/api/conversation", fs({"kiosk"})), Case("DELETE", "/api/conversation", fs({"kiosk"})),
        Case("POST", "/api/feedback", fs({"kiosk"}), data=(("json", {"question_id": w.question_id}),)),
        Case("POST", "/api/choice", fs({"kiosk"}), data=(("json", {
            "question_id": w.question_id, "faq_id": "faq-employment-how-to-find-job-after-release"}),)),
        Case("GET", "/api/followups", fs({"kiosk"})),
        Case("GET", "/api/officer/alerts", fs({"kiosk"})),
        Case("GET", "/api/kiosk", fs({"kiosk"})),
        Case("POST", "/api/officer/pairing", fs({"kiosk"})),
        Case("POST", "/api/officer/pair", fs(), data=(("json", {"code": "000000", "pin": "000000"}),)),
        Case("DELETE", "/api/session/current", fs({"kiosk"})),
        Case("DELETE", "/api/session", fs({"kiosk"})),  # the officer PIN comes in X-Officer-Pin
        Case("GET", "/portal/login", fs(PUBLIC)),
        Case("POST", "/portal/login", fs(), data=(("form", {"username": "nobody", "password": PASSWORD,
                                                            "login_csrf": "forged"}),)),  # no form token, no entry
        Case("GET", "/portal/", fs(PORTAL_USERS)),
        *[Case(m, p, fs({"bureau_home"}), scoped=fs({"bureau_other"})) for m, p in bureau_pages],
        Case("GET", "/portal/review", fs({"bureau_home"}), "/portal/review?status=all", scoped=fs({"bureau_other"})),
        *[Case("POST", f"/portal/review/{action}", fs({"bureau_home"}),
               data=(("form", {"qid": str(w.answered_q[action]), "note": f"{w.marker}不对", "scope": "item",
                               "send": "true"}),)) for action in ("right", "wrong", "refer")],
        Case("POST", "/portal/review/{question_id}/add-wording", fs(),
             f"/portal/review/{w.question_id}/add-wording"),  # no choice taken: 400 for the owner
        Case("GET", "/portal/review/rules", fs({"bureau_home"}), scoped=fs({"bureau_other"})),
        Case("POST", "/portal/review/rules/{rule_id}/withdraw", fs({"bureau_home"}),
             f"/portal/review/rules/{w.rule_id}/withdraw"),
        Case("GET", "/portal/review/coverage", fs({"bureau_home", "admin"}), scoped=fs({"bureau_other"})),
        Case("GET", "/portal/bureau/contact", fs({"bureau_home", "bureau_other"})),
        Case("POST", "/portal/bureau/contact", fs({"bureau_home", "bureau_other"}),
             data=(("form", {"phone": "0738-1234567"}),)),  # each bureau edits only its own county's details
        Case("GET", "/portal/bureau/followups/{followup_id}", fs({"bureau_home"}),
             f"/portal/bureau/followups/{w.open_fu}"),
        Case("GET", "/portal/bureau/faq/{faq_id}", fs({"bureau_home"}), f"/portal/bureau/faq/{w.draft_id}"),
        Case("POST", "/portal/bureau/faq/{faq_id}", fs({"bureau_home"}), f"/portal/bureau/faq/{w.draft_id}",
             (("form", {"question": "改过的问题", "answer": "改过的答复", "paraphrases": "甲\n乙",
                        "action": "save"}),)),
        Case("POST", "/portal/bureau/faq/{faq_id}/reopen", fs(), f"/portal/bureau/faq/{w.draft_id}/reopen"),
        Case("POST", "/portal/bureau/faq/{faq_id}/merge", fs(), f"/portal/bureau/faq/{w.draft_id}/merge",
             (("form", {"into": w.draft_id}),)),  # a draft is not published; merging into itself is refused
        Case("POST", "/portal/bureau/faq/{faq_id}/withdraw", fs({"bureau_home"}),
             f"/portal/bureau/faq/{w.draft_id}/withdraw"),
        Case("POST", "/portal/bureau/followups/{followup_id}/answer", fs({"bureau_home"}),
             f"/portal/bureau/followups/{w.open_fu}/answer", (("form", {"answer": "答复"}),)),
        Case("POST", "/portal/bureau/followups/{followup_id}/draft", fs(),
             f"/portal/bureau/followups/{w.answered_fu}/draft"),  # already drafted: even the owner gets 400
        Case("POST", "/portal/bureau/followups/{followup_id}/close", fs({"bureau_home"}),
             f"/portal/bureau/followups/{w.open_fu}/close", (("form", {"note": "重复"}),)),
        Case("GET", "/portal/prison/deliveries", fs({"prison_home"}), scoped=fs({"prison_other"}),
             sees_inmate=fs({"prison_home"})),
        Case("GET", "/portal/prison/questions", fs({"prison_home"}), scoped=fs({"prison_other"})),
        Case("GET", "/portal/prison/sheets", fs({"prison_home", "prison_other"})),
        Case("GET", "/portal/prison/sheets/download", fs({"prison_home", "prison_other"}),
             f"/portal/prison/sheets/download?county={HOME_COUNTY}&format=docx"),
        Case("POST", "/portal/prison/followups/{followup_id}/deliver", fs({"prison_home"}),
             f"/portal/prison/followups/{w.answered_fu}/deliver"),
        Case("GET", "/portal/kiosks", fs({"prison_home", "admin"}), scoped=fs({"prison_other"})),
        Case("POST", "/portal/kiosks", fs({"prison_home", "prison_other", "admin"}),
             data=(("form", {"name": "新终端", "prison": "任意监狱"}),)),
        Case("POST", "/portal/kiosks/{kiosk_id}/revoke", fs({"prison_home", "admin"}),
             f"/portal/kiosks/{w.kiosk_id}/revoke"),
        Case("GET", "/portal/exports", fs(PORTAL_USERS)),
        Case("GET", "/portal/exports/download", fs({"prison_home", "bureau_home", "admin"}),
             "/portal/exports/download?kind=followups&format=csv", scoped=fs({"prison_other", "bureau_other"}),
             sees_inmate=fs()),
        Case("GET", "/portal/admin/users", fs({"admin"})),
        Case("POST", "/portal/admin/users", fs({"admin"}),
             data=(("form", {"username": f"new{uuid.uuid4().hex[:6]}", "password": PASSWORD, "role": "admin"}),)),
        Case("POST", "/portal/admin/users/{user_id}/password", fs({"admin"}),
             f"/portal/admin/users/{w.victim_id}/password", (("form", {"password": "another-long-password"}),)),
        Case("GET", "/portal/account", fs(PORTAL_USERS)),
        Case("POST", "/portal/account/password", fs(), data=(("form", {"current": "wrong-password-here",
                                                                       "password": "another-long-password",
                                                                       "confirm": "another-long-password"}),)),
        Case("POST", "/portal/admin/users/{user_id}/{change}", fs({"admin"}),
             f"/portal/admin/users/{w.victim_id}/disable"),
        Case("GET", "/portal/admin/audit", fs({"admin"})),
        Case("GET", "/portal/admin/unopened", fs({"admin"})),
        # FAQ entries of the knowledge files: the home county's bureau (admins: national/provincial entries only);
        # the withdrawal is undone by the restore case right after it
        Case("GET", "/portal/knowledge-faq", fs({"bureau_home", "bureau_other", "admin"})),
        Case("GET", "/portal/knowledge-faq/{faq_id}", fs({"bureau_home"}), f"/portal/knowledge-faq/{HOME_FILE_FAQ}"),
        Case("POST", "/portal/knowledge-faq/{faq_id}/edit", fs(), f"/portal/knowledge-faq/{HOME_FILE_FAQ}/edit",
             (("form", {"answer": "改过的答复", "paraphrases": "甲\n乙"}),)),  # too few wordings: 400 for the owner
        Case("POST", "/portal/knowledge-faq/{faq_id}/merge", fs(), f"/portal/knowledge-faq/{HOME_FILE_FAQ}/merge",
             (("form", {"into": HOME_FILE_FAQ}),)),  # into itself: 400 for the owner
        Case("POST", "/portal/knowledge-faq/{faq_id}/withdraw", fs({"bureau_home"}),
             f"/portal/knowledge-faq/{HOME_FILE_FAQ}/withdraw"),
        Case("POST", "/portal/knowledge-faq/{faq_id}/restore", fs({"bureau_home"}),
             f"/portal/knowledge-faq/{HOME_FILE_FAQ}/restore"),
        Case("POST", "/portal/logout", fs(PORTAL_USERS)),
    ]


def app_routes(app) -> set[tuple[str, str]]:
    out = set()
    stack = list(app.routes)
    while stack:
        route = stack.pop()
        if hasattr(route, "original_router"):
            stack.extend(route.original_router.routes)
        elif isinstance(route, APIRoute):
            out |= {(m, route.path) for m in route.methods if m != "HEAD"}
    return out


def call(w: World, role: str, case: Case):
    client = w.clients[role]
    url = case.url or case.route
    kind, payload = case.data[0] if case.data else ("form", {})
    if case.method == "GET":
        return client.get(url)
    if url.startswith("/api/"):
        r = client.request(case.method, url, json=payload if kind == "json" else None)
        if case.route == "/api/session" and case.method == "POST" and r.status_code == 200:
            client.headers["X-Kiosk-Session"] = r.json()["session"]  # the new session replaces the old one
        return r
    return client.request(case.method, url, data={**payload, "csrf_token": w.csrf[role]})


# Routes whose test call is invalid even for the owner (already drafted; not published; merge into itself; no
# choice taken).
OWNER_GETS_400 = {"/portal/bureau/followups/{followup_id}/draft", "/portal/bureau/faq/{faq_id}/reopen",
                  "/portal/bureau/faq/{faq_id}/merge", "/portal/knowledge-faq/{faq_id}/edit",
                  "/portal/knowledge-faq/{faq_id}/merge", "/portal/review/{question_id}/add-wording"}


def refused(response, role: str) -> bool:
    if response.status_code == 303:
        return response.headers["location"].startswith("/portal/login")
    return response.status_code in (401, 403, 404)


def test_every_route_is_in_the_matrix(world):
    app, w = world
    listed = {(c.method, c.route) for c in cases(w)}
    assert app_routes(app) == listed, "classify new routes in tests/test_isolation.py"


def test_each_caller_sees_and_changes_only_what_it_should(world, full_runtime):
    _, w = world
    problems = []
    for case in cases(w):
        order = [r for r in ROLES if r not in case.allowed] + [r for r in ROLES if r in case.allowed]
        for role in order:
            if case.route == "/portal/logout" and role in case.allowed:
                continue  # signing out would end the session the later cases need; tested in test_portal
            before = snapshot(full_runtime)
            r = call(w, role, case)
            body = r.content.decode("utf-8-sig", "replace")
            label = f"{case.method} {case.url or case.route} as {role}: {r.status_code}"
            if role in case.allowed:
                if r.status_code >= 400 or refused(r, role):
                    problems.append(f"{label} (should be allowed)")
            elif role in case.scoped:
                if r.status_code != 200 or w.marker in body or w.inmate in body:
                    problems.append(f"{label} (other scope sees home records)")
            else:
                if not refused(r, role) and not (case.route in OWNER_GETS_400 and role == "bureau_home"
                                                 and r.status_code in (400, 409)):
                    problems.append(f"{label} (should be refused)")
                if snapshot(full_runtime) != before:
                    problems.append(f"{label} changed stored data")
            if w.inmate in body and role not in case.sees_inmate:
                problems.append(f"{label} shows the inmate number")
            if role.startswith("bureau") and w.inmate in body:
                problems.append(f"{label} shows the inmate number to a bureau")
    assert not problems, "\n".join(problems)
