"""把这个说法加进这条问答 (issue 12 item 4): on the review list, the wording of an asker who took one of the
"你是想问……？" choices joins the chosen entry's paraphrases, through the portal. No model: the partition refresh
is recorded (the refresh itself is tested in test_file_faq and test_answer_to_knowledge)."""

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
from assistant.services import faq, users
from assistant.storage.models import AuditEvent, FaqOverride, FaqRecord, Question

LIANYUAN, WENGNIUTE = "431382", "150426"
FILE_ENTRY, NATIONAL_ENTRY, DB_ENTRY = "faq-lianyuan-medical", "faq-medical-enrol", f"faq-bureau-{LIANYUAN}-1"
BUTTON = re.compile(r'action="/portal/review/(\d+)/add-wording"')


def make_runtime(data_dir: Path, knowledge: Path) -> Runtime:
    runtime = Runtime(Settings(data_dir=data_dir, knowledge_dir=knowledge))
    runtime.refreshed = []
    runtime._refresh_faq_partition = runtime.refreshed.append  # what would be re-indexed
    return runtime


@pytest.fixture
def world(tmp_path: Path, mini_kb: Path):
    runtime = make_runtime(tmp_path / "data", mini_kb)
    with runtime.database.session() as s:  # a bureau-published entry, in the database before the kb is loaded
        s.add(FaqRecord(id=DB_ENTRY, region_code=LIANYUAN, topics=["medical_insurance"], status="approved",
                        question="涟源低保怎么申请？", paraphrases=["涟源低保咋办", "回涟源能吃低保不", "低保去哪申请"],
                        answer="到户籍地乡镇（街道）提出申请，具体以当地民政部门答复为准。",
                        sources=[faq.bureau_source("涟源市司法局", 1, datetime.now(UTC).date())],
                        created_by="seed", approved_by="seed", approved_at=datetime(2026, 1, 5, tzinfo=UTC)))
    app = create_app(runtime=runtime)  # no lifespan: the index is never built
    names = {}
    with runtime.database.session() as s:
        for role, region in (("bureau", LIANYUAN), ("other", WENGNIUTE), ("admin", None)):
            names[role] = f"{role}{uuid.uuid4().hex[:6]}"
            users.add_user(s, names[role], PORTAL_PASSWORD, "bureau" if role == "other" else role, role,
                           region_code=region)
    yield app, runtime, {role: portal_sign_in(app, name) for role, name in names.items()}
    runtime.database.dispose()


def ask(runtime, text: str, chosen: str | None, region: str = LIANYUAN) -> int:
    """A question for which the kiosk offered choices; `chosen` is the one the asker took (None: none taken)."""
    with runtime.database.session() as s:
        q = Question(client_id=str(uuid.uuid4()), asked_at=datetime.now(UTC), prison="雁北监狱", kiosk="教育室1号",
                     region_code=region, topic="medical_insurance", text=text, status="suggested", answer="",
                     sources=[], items=[], offered=[FILE_ENTRY, NATIONAL_ENTRY, DB_ENTRY], chosen=chosen)
        s.add(q)
        s.flush()
        return q.id


def post(client, qid: int, **data):
    return client.post(f"/portal/review/{qid}/add-wording", data={"csrf_token": client.csrf, **data})


def buttons(client) -> set[int]:
    return {int(i) for i in BUTTON.findall(client.get("/portal/review", params={"status": "suggested"}).text)}


def live(runtime, faq_id: str):
    return next(f for f in runtime.kb.approved_faq if f.id == faq_id)


def count(runtime, model, *where) -> int:
    with runtime.database.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_the_button_is_on_rows_with_a_chosen_entry_the_user_may_change(world):
    _, runtime, c = world
    mine = ask(runtime, "医保断了回去咋续", FILE_ENTRY)
    mine_db = ask(runtime, "低保那个咋弄", DB_ENTRY)
    national = ask(runtime, "看病的保险咋整", NATIONAL_ENTRY)  # a national entry: the admin's, not the bureau's
    ask(runtime, "那个事怎么说", None)  # nothing chosen
    there = ask(runtime, "涟源医保去哪交", FILE_ENTRY)  # already a paraphrase of the entry
    foreign = ask(runtime, "涟源医保咋续", FILE_ENTRY, region=WENGNIUTE)  # another county's entry
    assert buttons(c["bureau"]) == {mine, mine_db}
    page = c["bureau"].get("/portal/review", params={"status": "suggested"}).text
    assert "这个说法已在这条问答里" in page and str(national) not in BUTTON.findall(page) and there not in buttons(
        c["bureau"])
    assert foreign not in buttons(c["other"]) and "涟源医保咋续" in c["other"].get(
        "/portal/review", params={"status": "suggested"}).text


def test_the_wording_joins_a_file_entry_live_audited_and_once(world, tmp_path):
    _, runtime, c = world
    qid = ask(runtime, "医保断了回去咋续", FILE_ENTRY)
    r = post(c["bureau"], qid, back="/portal/review?status=suggested")
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/review?status=suggested&done=")
    assert "医保断了回去咋续" in live(runtime, FILE_ENTRY).paraphrases
    assert runtime.refreshed == [LIANYUAN]  # the entry's partition, as an edit refreshes it
    after = c["bureau"].get(r.headers["location"]).text
    assert f"已把提问人的说法加进问答 {FILE_ENTRY}" in after and qid not in buttons(c["bureau"])
    edit_page = c["bureau"].get(f"/portal/knowledge-faq/{FILE_ENTRY}").text
    assert "医保断了回去咋续" in edit_page
    with runtime.database.session() as s:
        row = s.scalar(select(FaqOverride).where(FaqOverride.faq_id == FILE_ENTRY, FaqOverride.active.is_(True)))
        assert row.action == "edited" and "医保断了回去咋续" in row.paraphrases and row.created_by.startswith("bureau")
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "faq_wording_added"))
        assert (event.target, event.scope) == (FILE_ENTRY, LIANYUAN) and "医保断了回去咋续" in event.detail
    r = post(c["bureau"], qid)
    assert r.status_code == 409 and "已经是问答" in r.text
    assert count(runtime, AuditEvent, AuditEvent.action == "faq_wording_added") == 1
    assert count(runtime, FaqOverride, FaqOverride.faq_id == FILE_ENTRY) == 1
    restarted = make_runtime(runtime.settings.data_dir, runtime.settings.knowledge_dir)
    try:  # the knowledge merged by the runtime after a restart keeps it
        assert "医保断了回去咋续" in live(restarted, FILE_ENTRY).paraphrases
    finally:
        restarted.database.dispose()


def test_the_wording_joins_a_bureau_published_entry_approved_again(world):
    _, runtime, c = world
    qid = ask(runtime, "低保那个咋弄", DB_ENTRY)
    r = post(c["bureau"], qid)
    assert r.status_code == 303 and f"entry={DB_ENTRY}" in r.headers["location"]
    entry = live(runtime, DB_ENTRY)
    assert "低保那个咋弄" in entry.paraphrases and entry.reviewed == datetime.now(UTC).date()
    with runtime.database.session() as s:
        record = s.get(FaqRecord, DB_ENTRY)
        assert record.status == "approved" and record.paraphrases[-1] == "低保那个咋弄"
        assert record.approved_by.startswith("bureau")
    assert "低保那个咋弄" in c["bureau"].get(f"/portal/bureau/faq/{DB_ENTRY}").text
    assert runtime.refreshed == [LIANYUAN]
    assert count(runtime, AuditEvent, AuditEvent.action == "faq_wording_added", AuditEvent.target == DB_ENTRY) == 1
    assert post(c["bureau"], qid).status_code == 409


def test_refusals_change_nothing(world):
    _, runtime, c = world
    mine = ask(runtime, "医保断了回去咋续", FILE_ENTRY)
    national = ask(runtime, "看病的保险咋整", NATIONAL_ENTRY)
    unchosen = ask(runtime, "那个事怎么说", None)
    empty = ask(runtime, "   ", FILE_ENTRY)
    foreign = ask(runtime, "涟源医保咋续", FILE_ENTRY, region=WENGNIUTE)
    before = live(runtime, FILE_ENTRY).paraphrases
    assert c["bureau"].post(f"/portal/review/{mine}/add-wording").status_code == 403  # no CSRF token
    assert post(c["other"], mine).status_code == 403  # another county's question
    assert post(c["other"], foreign).status_code == 403  # its own question, but another county's entry
    assert c["admin"].post(f"/portal/review/{mine}/add-wording",
                           data={"csrf_token": c["admin"].csrf}).status_code == 403
    r = post(c["bureau"], national)
    assert r.status_code == 403 and "不由本县（区）修改" in r.text
    r = post(c["bureau"], unchosen)
    assert r.status_code == 400 and "没有在“你是想问”里选过问答" in r.text
    r = post(c["bureau"], empty)
    assert r.status_code == 400 and "内容为空" in r.text
    assert post(c["bureau"], 99999).status_code == 404
    assert post(c["bureau"], 0).status_code == 422
    assert live(runtime, FILE_ENTRY).paraphrases == before and "看病的保险咋整" not in live(
        runtime, NATIONAL_ENTRY).paraphrases
    assert count(runtime, AuditEvent, AuditEvent.action == "faq_wording_added") == 0
    assert count(runtime, FaqOverride) == 0 and runtime.refreshed == []


@pytest.mark.slow
def test_the_next_asker_with_the_wording_is_matched(tmp_path, mini_kb, embedder):
    """With the model: the button's post refreshes the entry's partition (no full rebuild), and the same words
    asked again are answered by the chosen entry."""
    runtime = Runtime(Settings(data_dir=tmp_path / "data", knowledge_dir=mini_kb), embedder=embedder)
    built_at = runtime.ensure_index().manifest.built_at
    app = create_app(runtime=runtime)
    name = f"bureau{uuid.uuid4().hex[:6]}"
    with runtime.database.session() as s:
        users.add_user(s, name, PORTAL_PASSWORD, "bureau", name, region_code=LIANYUAN)
    bureau = portal_sign_in(app, name)
    wording = "蹲完号子回老家看病报销的那个断了还能补上不"
    before = runtime.answerer.run(wording, LIANYUAN)
    assert not (before.status == "answered" and before.parts[0].item_ids == [FILE_ENTRY])
    qid = ask(runtime, wording, FILE_ENTRY)
    assert post(bureau, qid).status_code == 303
    index = runtime.ensure_index()
    assert index.manifest.built_at == built_at  # one partition, not a rebuild
    after = runtime.answerer.run(wording, LIANYUAN)
    assert after.status == "answered" and after.parts[0].item_ids == [FILE_ENTRY]
    runtime.database.dispose()
