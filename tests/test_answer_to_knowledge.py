"""End to end: an unanswerable kiosk question → bureau answer → FAQ draft → approval → answered at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.core.config import Settings
from assistant.runtime import Runtime
from assistant.services import faq as faq_service
from assistant.services import followups as F
from assistant.services.errors import InvalidError, StateError
from assistant.services.questions import AskContext, QuestionLog
from assistant.storage.spool import Spool

pytestmark = pytest.mark.slow


def test_bureau_answer_becomes_live_knowledge_without_a_full_rebuild(tmp_path: Path, mini_kb: Path, embedder):
    runtime = Runtime(Settings(data_dir=tmp_path / "data", knowledge_dir=mini_kb), embedder=embedder)
    qlog = QuestionLog(runtime.database, Spool(runtime.settings.spool_path))
    ctx = AskContext(prison="雁北监狱", kiosk="k1", inmate_number="A-1")

    first = runtime.answerer.run("涟源出狱的人能不能去当护林员", "431382")
    assert first.status in ("flagged", "suggested")  # not answerable: flagged, or choices then "都不是"
    logged = qlog.record(first, ctx)
    fid = logged.followup_id or qlog.mark_unresolved(logged.question_id)
    second = qlog.record(runtime.answerer.run("护林员的活涟源有没有", "431382"), AskContext(prison="雁北监狱"))
    if second.followup_id is None:  # offered choices: the asker pressed "都不是"
        qlog.mark_unresolved(second.question_id)

    with runtime.database.session() as s:
        group = F.bureau_queue(s, "431382")
        assert group[0].count == 2
        F.answer_followup(s, fid, "涟源市护林员岗位由乡镇统一招聘，刑满释放人员可以报名，以乡镇公告为准。",
                          "涟源市司法局", region_code="431382")
        draft = faq_service.draft_from_followup(s, runtime.kb, fid, "涟源市司法局", region_code="431382",
                                                topics=["employment"])
        draft_id = draft.id
        assert draft.status == "draft" and len(draft.paraphrases) == 1  # the grouped wording
    with runtime.database.session() as s, pytest.raises(InvalidError, match="至少补充 3 种"):
        faq_service.approve(s, runtime.kb, draft_id, "涟源市司法局")
    with runtime.database.session() as s:
        faq_service.update_draft(s, draft_id, region_code="431382", paraphrases=[
            "护林员的活涟源有没有", "出来了能去看林子不", "涟源招不招护林员"])
    built_at = runtime.ensure_index().manifest.built_at
    with runtime.database.session() as s:
        entry = faq_service.approve(s, runtime.kb, draft_id, "涟源市司法局", region_code="431382")
    runtime.publish_faq(entry)

    index = runtime.ensure_index()
    assert index.manifest.built_at == built_at  # no full rebuild
    assert draft_id in index.items
    again = runtime.answerer.run("我是涟源的，出去以后能当护林员吗", "431382")
    assert again.status == "answered"
    assert again.parts[0].item_ids == [draft_id]
    assert "乡镇统一招聘" in again.answer and "涟源市司法局书面答复" in again.sources[0].title
    # only the county's own askers get it
    elsewhere = runtime.answerer.run("我是翁牛特旗的，出去以后能当护林员吗", "150426")
    assert draft_id not in elsewhere.parts[0].item_ids

    # a fresh process loads the published entry from the database and keeps the index as it is
    restarted = Runtime(runtime.settings, embedder=embedder)
    assert any(f.id == draft_id for f in restarted.kb.approved_faq)
    restarted.ensure_index()
    assert restarted.last_build is None
    with runtime.database.session() as s, pytest.raises(StateError):
        faq_service.approve(s, runtime.kb, draft_id, "涟源市司法局")
