"""FAQ entries from the knowledge files can be edited (a new reviewed version), withdrawn, merged and restored in
the portal (issue 15 item 9), by the bureau of the entry's own county or the administrator for national and
provincial entries; the files are never changed. The index partition refresh is recorded, so no model is loaded
(the refresh itself is tested in test_answer_to_knowledge)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from helpers import KNOWLEDGE, PORTAL_PASSWORD, knowledge_of, portal_sign_in
from sqlalchemy import select

from assistant.api.main import create_app
from assistant.core.config import Settings
from assistant.runtime import Runtime
from assistant.services import file_faq, users
from assistant.sheets.content import SheetRequest, build_sheet
from assistant.storage.models import AuditEvent, FaqOverride

LIANYUAN, NINGXIANG = "431382", "430182"
MEDICAL, PARTY, JOB = "faq-lianyuan-medical-insurance", "faq-lianyuan-child-party", "faq-lianyuan-transition-job"
HUNAN = "faq-hunan-bangjiao-years"  # provincial
NATIONAL = "faq-medical-how-to-enrol-after-release"


def make_runtime(data_dir) -> Runtime:
    runtime = Runtime(Settings(data_dir=data_dir, knowledge_dir=KNOWLEDGE))
    runtime.refreshed = []
    runtime._refresh_faq_partition = runtime.refreshed.append  # what would be re-indexed
    return runtime


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("filefaq")


@pytest.fixture(scope="module")
def app(data_dir):
    return create_app(runtime=make_runtime(data_dir))


def sign_in_as(app, role: str, region: str | None = None, prison: str | None = None):
    name = f"ff{role[:3]}{time.time_ns() % 10**9}"
    with app.state.service.runtime.database.session() as s:
        users.add_user(s, name, PORTAL_PASSWORD, role, prison=prison, region_code=region)
    client = portal_sign_in(app, name)
    client.name = name
    return client


@pytest.fixture(scope="module")
def bureau(app):
    return sign_in_as(app, users.BUREAU, LIANYUAN)


@pytest.fixture(scope="module")
def other_bureau(app):
    return sign_in_as(app, users.BUREAU, NINGXIANG)


@pytest.fixture(scope="module")
def admin(app):
    return sign_in_as(app, users.ADMIN)


def runtime_of(app) -> Runtime:
    return app.state.service.runtime


def live(app, faq_id: str):
    return next((f for f in runtime_of(app).kb.approved_faq if f.id == faq_id), None)


def file_version(faq_id: str):
    return next(f for f in runtime_of_files().approved_faq if f.id == faq_id)


def runtime_of_files():
    return knowledge_of(KNOWLEDGE)  # read again whenever the files changed


def audited(app, action: str, target: str) -> list[AuditEvent]:
    with runtime_of(app).database.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action, AuditEvent.target == target)))


def post(client, path: str, **data):
    return client.post(path, data={**data, "csrf_token": client.csrf})


def sheet_ids(app, region: str = LIANYUAN) -> set[str]:
    runtime = runtime_of(app)
    with runtime.database.session() as s:
        sheet = build_sheet(s, runtime.kb, runtime.regions, SheetRequest((region,), limit=50))
    return {e.faq_id for e in sheet.entries}


def test_the_bureau_sees_its_countys_file_entries_only(app, bureau, admin):
    page = bureau.get("/portal/knowledge-faq")
    assert page.status_code == 200 and MEDICAL in page.text and "文件版本" in page.text
    assert NATIONAL not in page.text and HUNAN not in page.text
    listed = admin.get("/portal/knowledge-faq").text
    assert HUNAN in listed and NATIONAL in listed and MEDICAL not in listed  # county entries are the county's
    assert "知识库问答" in bureau.get("/portal/bureau/faq").text  # in the menu


def test_edit_is_a_new_reviewed_version_live_at_once_and_restore_brings_the_file_back(app, bureau):
    runtime = runtime_of(app)
    original = file_version(MEDICAL)
    answer = original.answer + "办理时请带身份证和释放证明。"
    wordings = [*original.paraphrases, "回涟源以后看病的保险咋续上"]
    r = post(bureau, f"/portal/knowledge-faq/{MEDICAL}/edit", answer=answer, paraphrases="\n".join(wordings),
             note="补充要带的材料")
    assert r.status_code == 303 and r.headers["location"].endswith("done=file_edited")
    now = live(app, MEDICAL)
    assert now.answer == answer.strip() and "回涟源以后看病的保险咋续上" in now.paraphrases
    assert now.reviewed == datetime.now(UTC).date() != original.reviewed  # reviewed on the day it was edited
    assert runtime.refreshed[-1] == LIANYUAN  # its partition re-indexed, as for bureau-published entries
    assert (KNOWLEDGE / original.path).read_text(encoding="utf-8").count("办理时请带身份证和释放证明") == 0
    [event] = audited(app, "faq_file_edited", MEDICAL)
    assert event.actor == bureau.name and event.scope == LIANYUAN and "补充要带的材料" in event.detail
    page = bureau.get(f"/portal/knowledge-faq/{MEDICAL}").text
    assert "已修改" in page and "恢复成知识库文件里的版本" in page
    # a restart reads the change from the database, and the index is stale (rebuilt with the new version)
    before = runtime.database_faq_hash()
    restarted = make_runtime(runtime.settings.data_dir)
    assert next(f for f in restarted.kb.approved_faq if f.id == MEDICAL).answer == answer.strip()
    assert restarted.database_faq_hash() == before
    r = post(bureau, f"/portal/knowledge-faq/{MEDICAL}/restore")
    assert r.status_code == 303
    assert live(app, MEDICAL) == original  # the file version, as it was
    assert runtime.database_faq_hash() != before and audited(app, "faq_file_restored", MEDICAL)
    with runtime.database.session() as s:
        rows = list(s.scalars(select(FaqOverride).where(FaqOverride.faq_id == MEDICAL)))
        assert len(rows) == 1 and not rows[0].active and rows[0].ended_by == bureau.name  # kept as history


def test_an_edit_is_checked_like_a_file_entry(app, bureau):
    original = file_version(PARTY)
    few = post(bureau, f"/portal/knowledge-faq/{PARTY}/edit", answer=original.answer, paraphrases="就一种问法")
    assert few.status_code == 400 and "口语问法" in few.text
    empty = post(bureau, f"/portal/knowledge-faq/{PARTY}/edit", answer="  ",
                 paraphrases="\n".join(original.paraphrases))
    assert empty.status_code in (400, 422)
    assert live(app, PARTY) == original and not audited(app, "faq_file_edited", PARTY)


def test_withdraw_takes_it_off_answering_and_sheets_and_restore_puts_it_back(app, bureau):
    runtime = runtime_of(app)
    assert JOB in sheet_ids(app)
    order = [f.id for f in runtime.kb.faq]
    r = post(bureau, f"/portal/knowledge-faq/{JOB}/withdraw", note="政策已调整")
    assert r.status_code == 303
    assert live(app, JOB) is None and JOB not in sheet_ids(app)
    assert JOB not in {f.id for f in make_runtime(runtime.settings.data_dir).kb.approved_faq}  # after a restart too
    assert audited(app, "faq_file_withdrawn", JOB)[0].detail == "政策已调整"
    again = post(bureau, f"/portal/knowledge-faq/{JOB}/withdraw")
    assert again.status_code == 409
    cannot_edit = post(bureau, f"/portal/knowledge-faq/{JOB}/edit", answer="新答复", paraphrases="a\nb\nc")
    assert cannot_edit.status_code == 409
    assert post(bureau, f"/portal/knowledge-faq/{JOB}/restore").status_code == 303
    assert live(app, JOB) == file_version(JOB) and JOB in sheet_ids(app)
    assert [f.id for f in runtime.kb.faq] == order  # back in its place (sheets list unasked entries in order)
    nothing = post(bureau, f"/portal/knowledge-faq/{JOB}/restore")
    assert nothing.status_code == 409 and "文件里的版本" in nothing.text


def test_merge_moves_the_wordings_and_withdraws_restore_takes_them_back(app, bureau):
    keep, dup = file_version(MEDICAL), file_version(PARTY)
    r = post(bureau, f"/portal/knowledge-faq/{PARTY}/merge", into=MEDICAL)
    assert r.status_code == 303
    assert live(app, PARTY) is None
    merged = live(app, MEDICAL)
    assert dup.question in merged.paraphrases and set(dup.paraphrases) <= set(merged.paraphrases)
    assert merged.answer == keep.answer  # the answer kept is the target's
    assert audited(app, "faq_file_merged", PARTY)[0].detail.startswith(f"并入 {MEDICAL}")
    assert post(bureau, f"/portal/knowledge-faq/{PARTY}/merge", into=MEDICAL).status_code == 409
    assert post(bureau, f"/portal/knowledge-faq/{MEDICAL}/merge", into=MEDICAL).status_code == 400
    assert post(bureau, f"/portal/knowledge-faq/{MEDICAL}/merge", into=NATIONAL).status_code == 400  # other region
    assert post(bureau, f"/portal/knowledge-faq/{PARTY}/restore").status_code == 303
    assert live(app, PARTY) == dup and live(app, MEDICAL) == keep  # both exactly the file versions again


def test_merge_over_the_wording_limit_is_refused_and_changes_nothing(app, bureau, monkeypatch):
    keep, dup = file_version(MEDICAL), file_version(PARTY)
    total = len(keep.paraphrases) + 1 + len(dup.paraphrases)  # the merged question becomes a wording too
    monkeypatch.setattr(file_faq, "MAX_PARAPHRASES", total - 1)
    merges = len(audited(app, "faq_file_merged", PARTY))
    r = post(bureau, f"/portal/knowledge-faq/{PARTY}/merge", into=MEDICAL)
    assert r.status_code == 400 and f"会有 {total} 种问法" in r.text
    assert live(app, PARTY) == dup and live(app, MEDICAL) == keep  # no wording cut, nothing withdrawn
    assert len(audited(app, "faq_file_merged", PARTY)) == merges


def test_scope_refusals_change_nothing(app, bureau, other_bureau, admin):
    def overrides() -> int:
        with runtime_of(app).database.session() as s:
            return len(list(s.scalars(select(FaqOverride))))

    before = overrides()
    original = file_version(MEDICAL)
    for client, faq_id in ((other_bureau, MEDICAL), (bureau, NATIONAL), (bureau, HUNAN), (admin, MEDICAL)):
        assert client.get(f"/portal/knowledge-faq/{faq_id}").status_code == 403
        for action, data in (("edit", {"answer": "改了", "paraphrases": "一\n二\n三"}), ("withdraw", {}),
                             ("merge", {"into": PARTY}), ("restore", {})):
            r = post(client, f"/portal/knowledge-faq/{faq_id}/{action}", **data)
            assert r.status_code == 403, (client.name, faq_id, action)
    assert bureau.post(f"/portal/knowledge-faq/{MEDICAL}/withdraw", data={}).status_code == 403  # no CSRF token
    prison = sign_in_as(app, users.PRISON, prison="雁北监狱")
    assert prison.get("/portal/knowledge-faq").status_code == 403
    assert post(prison, f"/portal/knowledge-faq/{MEDICAL}/withdraw").status_code == 403
    assert bureau.get("/portal/knowledge-faq/faq-no-such-entry").status_code == 404
    assert overrides() == before and live(app, MEDICAL) == original


def test_the_admin_changes_a_provincial_entry(app, admin, bureau):
    original = file_version(HUNAN)
    r = post(admin, f"/portal/knowledge-faq/{HUNAN}/withdraw", note="待更新")
    assert r.status_code == 303 and live(app, HUNAN) is None
    [event] = audited(app, "faq_file_withdrawn", HUNAN)
    assert event.role == users.ADMIN and event.scope == "430000"
    assert post(admin, f"/portal/knowledge-faq/{HUNAN}/restore").status_code == 303
    assert live(app, HUNAN) == original


@pytest.mark.slow
def test_changes_reach_the_index_partition_and_survive_a_restart(tmp_path, mini_kb, embedder):
    """Edit, withdraw and restore through the service and the runtime, on a small knowledge base with the model:
    the county's partition changes at once (no full rebuild), and a restart loads the same index."""
    from assistant.services import file_faq

    lianyuan = "faq-lianyuan-medical"
    runtime = Runtime(Settings(data_dir=tmp_path / "data", knowledge_dir=mini_kb), embedder=embedder)
    built_at = runtime.ensure_index().manifest.built_at
    who = users.Principal(1, "涟源司法局", "涟源司法局", users.BUREAU, None, LIANYUAN)
    before = runtime.answerer.run("回涟源了医保咋弄", LIANYUAN)
    assert before.status == "answered" and before.parts[0].item_ids == [lianyuan]
    original = next(f for f in runtime.knowledge_files.faq if f.id == lianyuan)

    new_answer = "涟源市司法局复核：出狱后到户籍所在乡镇（街道）医保服务站参保缴费，带身份证，具体以当地为准。"
    with runtime.database.session() as s:
        entry = file_faq.edit(s, runtime.knowledge_files, runtime.kb, lianyuan, who, new_answer,
                              [*original.paraphrases, "涟源出来以后医保在哪里续"])
    runtime.publish_faq(entry)
    index = runtime.ensure_index()
    assert index.manifest.built_at == built_at and index.items[lianyuan].text == new_answer  # one partition
    edited = runtime.answerer.run("回涟源了医保咋弄", LIANYUAN)
    assert edited.parts[0].item_ids == [lianyuan] and "医保服务站参保缴费" in edited.answer
    assert f"本条内容复核于{datetime.now(UTC).date().year}年" in edited.basis and edited.basis != before.basis

    restarted = Runtime(Settings(data_dir=tmp_path / "data", knowledge_dir=mini_kb), embedder=embedder)
    assert restarted.ensure_index().items[lianyuan].text == new_answer and restarted.last_build is None

    with runtime.database.session() as s:
        file_faq.withdraw(s, runtime.knowledge_files, lianyuan, who)
    runtime.unpublish_faq(lianyuan)
    assert lianyuan not in runtime.ensure_index().items
    gone = runtime.answerer.run("回涟源了医保咋弄", LIANYUAN)
    assert lianyuan not in [i for p in gone.parts for i in p.item_ids]

    with runtime.database.session() as s:
        restored, _ = file_faq.restore(s, runtime.knowledge_files, runtime.kb, lianyuan, who)
    runtime.publish_faq(restored)
    assert runtime.ensure_index().items[lianyuan].text == original.answer
    back = runtime.answerer.run("回涟源了医保咋弄", LIANYUAN)
    assert back.parts[0].item_ids == [lianyuan] and back.basis == before.basis


def test_the_service_audits_each_change_whoever_calls_it(app):
    """The audit rule lives in `services/file_faq`: a change made without any route is audited too."""
    from assistant.services import file_faq

    runtime = runtime_of(app)
    who = users.Principal(99, "服务调用者", "涟源司法局", users.BUREAU, None, LIANYUAN)
    before = {a: len(audited(app, a, JOB)) for a in ("faq_file_withdrawn", "faq_file_restored")}
    with runtime.database.session() as s:
        file_faq.withdraw(s, runtime.knowledge_files, JOB, who, "不经网页撤回")
    with runtime.database.session() as s:
        file_faq.restore(s, runtime.knowledge_files, runtime.kb, JOB, who)
    withdrawn = audited(app, "faq_file_withdrawn", JOB)
    assert len(withdrawn) == before["faq_file_withdrawn"] + 1 and withdrawn[-1].detail == "不经网页撤回"
    assert withdrawn[-1].scope == LIANYUAN
    assert len(audited(app, "faq_file_restored", JOB)) == before["faq_file_restored"] + 1
