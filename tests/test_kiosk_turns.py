"""Who a kiosk's questions belong to (issue 15): kiosks by id, the inmate's turn, "没解决", crisis routing.
No model is loaded: questions are logged through the question log as the ask route would."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from helpers import KNOWLEDGE, PORTAL_BASE

from assistant.answering.models import Answer
from assistant.api.main import create_app
from assistant.core.config import Settings
from assistant.runtime import Runtime
from assistant.services import kiosks
from assistant.services.questions import AskContext
from assistant.storage.models import InmateLink, Kiosk, Question

PRISON = "雁北监狱"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    runtime = Runtime(Settings(data_dir=tmp_path_factory.mktemp("turns"), knowledge_dir=KNOWLEDGE))
    app = create_app(runtime=runtime)
    app.state.service.ready.set()  # the routes used here need the database only, not the model
    return app


@pytest.fixture
def client(app) -> TestClient:
    return TestClient(app, base_url=PORTAL_BASE)


def register(app, name: str | None = None, prison: str = PRISON) -> kiosks.Registration:
    with app.state.service.runtime.database.session() as s:
        return kiosks.register(s, prison, name or f"教育室{time.time_ns() % 10**9}")


def open_session(client: TestClient, reg: kiosks.Registration, county: str = "涟源",
                 inmate: str | None = "A-1029") -> dict:
    r = client.post("/api/session", json={"county": county, "pin": reg.pin, "inmate_number": inmate},
                    headers={"X-Kiosk-Token": reg.token})
    assert r.status_code == 200, r.text
    return {"X-Kiosk-Token": reg.token, "X-Kiosk-Session": r.json()["session"]}


def asked(app, reg: kiosks.Registration, text: str, status: str = "flagged", alert: str | None = None,
          inmate: str | None = "A-1029") -> int:
    """Log a question as /api/ask does for kiosk `reg`; returns its id."""
    with app.state.service.runtime.database.session() as s:
        name = s.get(Kiosk, reg.kiosk_id).name
    answer = Answer(text, "涟源市", status, "回答", [], alert, [], region_code="431382", topic="medical_insurance")
    logged = app.state.service.qlog.record(answer, AskContext(prison=PRISON, kiosk=name, inmate_number=inmate,
                                                              kiosk_id=reg.kiosk_id))
    return logged.question_id


def test_a_second_kiosk_with_the_same_name_sees_and_touches_nothing_of_the_first(app, client):
    first, second = register(app, "教育室1号"), register(app, "教育室1号")
    flagged = asked(app, first, "我的减刑什么时候批")
    answered = asked(app, first, "出狱后医保咋整", status="answered")
    own = client.get("/api/followups", headers={"X-Kiosk-Token": first.token}).json()
    assert len(own) == 1
    assert client.get("/api/followups", headers={"X-Kiosk-Token": second.token}).json() == []
    headers = open_session(client, second)
    for qid in (flagged, answered):
        r = client.post("/api/feedback", json={"question_id": qid}, headers=headers)
        assert r.status_code == 404, r.text
    mine = client.post("/api/feedback", json={"question_id": answered}, headers=open_session(client, first))
    assert mine.status_code == 200 and mine.json()["followup_id"]


def test_not_solved_keeps_the_inmate_number_for_the_prison(app, client):
    """"没解决" on an answered question opens a follow-up that the prison can hand back to the asker."""
    from assistant.services import followups

    reg = register(app)
    headers = open_session(client, reg, inmate="B-3001")
    qid = asked(app, reg, "出狱后医保到哪里交", status="answered", inmate="B-3001")
    r = client.post("/api/feedback", json={"question_id": qid}, headers=headers)
    assert r.status_code == 200, r.text
    fid = r.json()["followup_id"]
    with app.state.service.runtime.database.session() as s:
        followups.answer_followup(s, fid, "请到乡镇社保站办理。", "涟源市司法局")
        waiting = {i.id: i for i in followups.prison_queue(s, PRISON)}
    assert waiting[fid].inmate_number == "B-3001"


def test_not_solved_spooled_during_an_outage_keeps_the_inmate_number(app, tmp_path):
    from assistant.services.questions import QuestionLog
    from assistant.storage.spool import Spool

    reg = register(app)
    qid = asked(app, reg, "出狱后养老保险怎么续", status="answered")
    db = app.state.service.runtime.database
    qlog = QuestionLog(db, Spool(tmp_path / "spool.jsonl"))
    qlog.spool.append({"kind": "unresolved", "client_id": "c1", "question_id": qid, "kiosk": "k",
                       "kiosk_id": reg.kiosk_id, "prison": PRISON, "inmate_number": "C-77"})
    assert qlog.replay() == 1
    with db.session() as s:
        fid = s.get(Question, qid).followup_id
        assert s.query(InmateLink).filter_by(followup_id=fid).one().inmate_number == "C-77"


def test_the_bureau_history_names_no_kiosk_and_no_prison_account(app):
    """A follow-up created at a kiosk and delivered by a prison account: the bureau's page shows neither name."""
    from helpers import PORTAL_PASSWORD, portal_sign_in

    from assistant.services import followups, users

    reg = register(app, "教育室1号")
    qid = asked(app, reg, "我的减刑什么时候批")
    runtime = app.state.service.runtime
    stamp = time.time_ns() % 10**9
    with runtime.database.session() as s:
        fid = s.get(Question, qid).followup_id
        users.add_user(s, f"prisonwang{stamp}", PORTAL_PASSWORD, users.PRISON, "王警官", prison=PRISON)
        users.add_user(s, f"lybureau{stamp}", PORTAL_PASSWORD, users.BUREAU, region_code="431382")
        followups.answer_followup(s, fid, "请等候监狱通知。", f"lybureau{stamp}")
        followups.deliver_followup(s, fid, f"prisonwang{stamp}", PRISON)
    page = portal_sign_in(app, f"lybureau{stamp}").get(f"/portal/bureau/followups/{fid}").text
    assert "处理记录" in page and "监狱终端" in page and "监狱民警" in page
    for name in ("教育室1号", f"prisonwang{stamp}", "王警官", PRISON):
        assert name not in page, name


def test_a_crisis_goes_to_the_prison_with_the_inmate_number_and_never_to_the_bureau(app):
    """"我想死" (logged with a wrong topic): not in the bureau's queue, detail, statistics or exports — the bureau
    sees only that a question was withheld; the prison sees it with the inmate number."""
    from helpers import PORTAL_PASSWORD, portal_sign_in

    from assistant.services import users

    reg = register(app)
    runtime = app.state.service.runtime
    text = "我想死，活着真没意思"
    qid = asked(app, reg, text, status="flagged", alert="crisis", inmate="D-4040")
    ordinary = asked(app, reg, "我老婆的低保批了没有", inmate="D-4041")
    stamp = time.time_ns() % 10**9
    with runtime.database.session() as s:
        fid = s.get(Question, qid).followup_id
        users.add_user(s, f"crisisb{stamp}", PORTAL_PASSWORD, users.BUREAU, region_code="431382")
        users.add_user(s, f"crisisp{stamp}", PORTAL_PASSWORD, users.PRISON, prison=PRISON)
        assert s.get(Question, ordinary).followup_id != fid
    bureau = portal_sign_in(app, f"crisisb{stamp}")
    queue = bureau.get("/portal/bureau/queue", params={"state": "all"}).text
    assert "我老婆的低保批了没有" in queue and text not in queue and "涉及人身安全" in queue
    assert bureau.get(f"/portal/bureau/followups/{fid}").status_code == 404
    r = bureau.post(f"/portal/bureau/followups/{fid}/answer", data={"answer": "x", "csrf_token": bureau.csrf})
    assert r.status_code == 404
    assert text not in bureau.get("/portal/bureau/stats").text
    for kind in ("questions", "followups"):
        export = bureau.get("/portal/exports/download", params={"kind": kind, "format": "csv"})
        assert export.status_code == 200 and text not in export.content.decode("utf-8-sig")
    prison = portal_sign_in(app, f"crisisp{stamp}").get("/portal/prison/deliveries").text
    assert text in prison and "D-4040" in prison
