"""Published FAQ entries can be edited (re-approval), withdrawn (off the kiosks at once, kept as history) and
merged with a near-duplicate (issue 15). The index partition refresh itself is tested in
test_answer_to_knowledge; here it is recorded, so no model is loaded."""

from __future__ import annotations

import time

import pytest
from helpers import KNOWLEDGE, PORTAL_PASSWORD, portal_sign_in
from sqlalchemy import select

from assistant.api.main import create_app
from assistant.core.config import Settings
from assistant.runtime import Runtime
from assistant.services import faq, followups, users
from assistant.storage.models import AuditEvent, FaqRecord, Question

LIANYUAN = "431382"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    runtime = Runtime(Settings(data_dir=tmp_path_factory.mktemp("faqpub"), knowledge_dir=KNOWLEDGE))
    runtime.refreshed = []
    runtime._refresh_faq_partition = runtime.refreshed.append  # what would be re-indexed
    return create_app(runtime=runtime)


def published(app, question: str, paraphrases: list[str]) -> str:
    """A follow-up answered, drafted and approved as the bureau would; returns the FAQ id."""
    runtime = app.state.service.runtime
    with runtime.database.session() as s:
        q = Question(client_id=str(time.time_ns()), prison="雁北监狱", kiosk="k", region_code=LIANYUAN,
                     topic="restricted_jobs", text=question, status="flagged", answer="", sources=[], items=[])
        s.add(q)
        s.flush()
        fu = followups.open_followup(s, q, "flagged", None, "kiosk")
        followups.answer_followup(s, fu.id, f"{question}：可以报名，以当地征兵办答复为准。", "bureau")
        record = faq.draft_from_followup(s, runtime.kb, fu.id, "bureau", paraphrases=paraphrases,
                                         topics=["restricted_jobs"])
        entry = faq.approve(s, runtime.kb, record.id, "bureau")
    runtime.publish_faq(entry)
    return record.id


def live_ids(app) -> set[str]:
    return {f.id for f in app.state.service.runtime.kb.approved_faq}


@pytest.fixture(scope="module")
def bureau(app):
    name = f"faqb{time.time_ns() % 10**9}"
    with app.state.service.runtime.database.session() as s:
        users.add_user(s, name, PORTAL_PASSWORD, users.BUREAU, region_code=LIANYUAN)
    return portal_sign_in(app, name)


def test_withdraw_takes_an_entry_off_at_once_and_keeps_it_as_history(app, bureau):
    fid = published(app, "儿子能不能去当兵", ["娃想参军行不行", "孩子当兵政审过得了吗", "儿子参军受影响吗"])
    assert fid in live_ids(app)
    r = bureau.post(f"/portal/bureau/faq/{fid}/withdraw", data={"note": "政策已变", "csrf_token": bureau.csrf})
    assert r.status_code == 303
    assert fid not in live_ids(app) and app.state.service.runtime.refreshed[-1] == LIANYUAN
    page = bureau.get("/portal/bureau/faq").text
    assert "已撤回" in page and "儿子能不能去当兵" in page
    assert "已撤回" in bureau.get(f"/portal/bureau/faq/{fid}").text
    with app.state.service.runtime.database.session() as s:
        assert s.get(FaqRecord, fid).status == faq.WITHDRAWN
        assert s.scalar(select(AuditEvent.detail).where(AuditEvent.action == "faq_withdrawn",
                                                        AuditEvent.target == fid)) == "政策已变"
        assert fid not in {e.id for e in faq.approved_entries(s, app.state.service.runtime.kb)}


def test_edit_a_published_entry_goes_through_approval_again(app, bureau):
    fid = published(app, "出来以后能当兵吗", ["坐过牢还能参军吗", "刑满了当兵行不行", "出狱后去部队可以吗"])
    r = bureau.post(f"/portal/bureau/faq/{fid}/reopen", data={"csrf_token": bureau.csrf})
    assert r.status_code == 303 and fid not in live_ids(app)
    assert "保存草稿" in bureau.get(f"/portal/bureau/faq/{fid}").text  # the edit form again
    r = bureau.post(f"/portal/bureau/faq/{fid}", data={
        "question": "出狱以后还能当兵吗", "answer": "按征兵政审规定办理，以当地征兵办答复为准。",
        "paraphrases": "坐过牢还能参军吗\n刑满了当兵行不行\n出狱后去部队可以吗", "topics": "restricted_jobs",
        "action": "approve", "csrf_token": bureau.csrf})
    assert r.status_code == 303, r.text
    assert fid in live_ids(app)
    live = next(f for f in app.state.service.runtime.kb.approved_faq if f.id == fid)
    assert live.question == "出狱以后还能当兵吗"


def test_merging_near_duplicates_leaves_one_entry_with_both_wordings(app, bureau):
    keep = published(app, "我娃能当兵不", ["孩子能参军吗", "儿子想当兵行吗", "娃去部队受不受影响"])
    dup = published(app, "孩子当兵受我影响吗", ["我坐牢娃还能当兵吗", "父亲服刑孩子能参军吗", "当兵政审看父母吗"])
    r = bureau.post(f"/portal/bureau/faq/{dup}/merge", data={"into": keep, "csrf_token": bureau.csrf})
    assert r.status_code == 303 and r.headers["location"].endswith(keep)
    assert dup not in live_ids(app) and keep in live_ids(app)
    live = next(f for f in app.state.service.runtime.kb.approved_faq if f.id == keep)
    assert {"孩子当兵受我影响吗", "父亲服刑孩子能参军吗", "孩子能参军吗"} <= set(live.paraphrases)
    again = bureau.post(f"/portal/bureau/faq/{dup}/merge", data={"into": keep, "csrf_token": bureau.csrf})
    assert again.status_code == 409  # a withdrawn entry cannot be merged again
    assert bureau.post(f"/portal/bureau/faq/{keep}/merge", data={"into": keep, "csrf_token": bureau.csrf}
                       ).status_code == 400


def test_another_county_cannot_withdraw(app):
    fid = published(app, "能不能去当兵呢", ["当兵可以吗", "能参军吗", "部队要我吗"])
    name = f"faqo{time.time_ns() % 10**9}"
    with app.state.service.runtime.database.session() as s:
        users.add_user(s, name, PORTAL_PASSWORD, users.BUREAU, region_code="150426")
    other = portal_sign_in(app, name)
    assert other.post(f"/portal/bureau/faq/{fid}/withdraw", data={"csrf_token": other.csrf}).status_code == 403
    assert fid in live_ids(app)
