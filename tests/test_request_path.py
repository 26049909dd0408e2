"""The cost of one kiosk question (issue 18): personal data is redacted once per request, the name tagger runs
only when it could find something, and the spool is replayed off the asker's response — without weakening the
redaction or losing a record."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
import test_faults
from sqlalchemy import select
from test_faults import PRISON, Service, ask

from assistant.answering.models import Answer
from assistant.privacy import redact as redaction
from assistant.runtime import Runtime
from assistant.services.questions import QuestionLog
from assistant.storage.db import Database
from assistant.storage.models import Question
from assistant.storage.spool import Spool
from assistant.text.normalize import normalize, tidy

service = test_faults.service  # the kiosk service on the mini knowledge base, one open session (fake embedder)


@pytest.fixture
def redact_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call of `redact`, wherever it was imported (the texts it was given)."""
    real = redaction.redact
    calls: list[str] = []

    def counted(text: str, keep=()) -> str:
        calls.append(text)
        return real(text, keep)

    for module in list(sys.modules.values()):
        if module is not None and module.__name__.startswith("assistant") and getattr(module, "redact", None) is real:
            monkeypatch.setattr(module, "redact", counted)
    return calls


def stored(runtime: Runtime, question_id: int) -> Question:
    with runtime.database.session() as s:
        return s.get(Question, question_id)


QUESTIONS = ["出狱后医保怎么办", "我叫张伟，出狱后医保怎么办？我电话13812345678", "我叫张伟",
             "我老婆叫李秀英，她的低保批了没有"]


def test_one_redaction_per_question_and_nothing_personal_stored(service: Service, redact_calls):
    for question in QUESTIONS:
        redact_calls.clear()
        body = ask(service, question)
        assert len(redact_calls) == 1, redact_calls  # the answerer's; the question log stores what it made
        q = stored(service.runtime, body["question_id"])
        for secret in ("张伟", "李秀英", "13812345678"):
            assert secret not in q.text and secret not in (q.resolved or "")
            assert secret not in body["resolved_question"]
        assert q.text == redaction.redact(tidy(question))  # the same text the log stored before, redacted once
        assert q.resolved == body["resolved_question"]


def test_a_follow_up_is_redacted_once_too_and_logged_as_asked(service: Service, redact_calls):
    ask(service, "出狱后医保怎么办？")
    follow = ask(service, "那我女儿呢？")
    assert len(redact_calls) == 2
    q = stored(service.runtime, follow["question_id"])
    assert q.text == "那我女儿呢？" and q.resolved == follow["resolved_question"]


def test_a_question_of_nothing_but_personal_data_is_searched_redacted(service: Service):
    answer = service.runtime.answerer.run("我叫张伟", "431382")
    assert "张伟" not in answer.resolved_question and "张伟" not in (answer.redacted_question or "")


def test_an_answer_not_made_by_the_answerer_is_redacted_by_the_log(tmp_path: Path, redact_calls):
    qlog = QuestionLog(Database(f"sqlite:///{tmp_path / 'q.db'}"), Spool(tmp_path / "spool.jsonl"))
    answer = Answer("我叫张伟，低保怎么办", "涟源市", "flagged", "回答", [], None, [], region_code="431382",
                    resolved_question="我叫张伟，低保怎么办")
    logged = qlog.record(answer, PRISON)
    with qlog.db.session() as s:
        q = s.get(Question, logged.question_id)
    assert "张伟" not in q.text and "张伟" not in q.resolved and len(redact_calls) == 2


def test_tidy_keeps_what_a_reader_sees_and_normalises_to_the_same():
    texts = ["出狱后醫保怎麼辦？我叫張偉，電話１３８－１２３４－５６７８！", "WX号：Abc_123（急）",
             "  两个   空格\t\n\n下一行 "]
    for text in texts:
        assert normalize(tidy(text)) == normalize(text)
    assert tidy(texts[0]) == "出狱后医保怎么办？我叫张伟，电话138-1234-5678！"
    assert tidy(texts[1]) == "WX号：Abc_123（急）"


@pytest.mark.parametrize(("text", "secret"), [("电话１３８－１２３４－５６７８，低保怎么办", "1234"),
                                              ("我叫張偉，低保怎么办", "张伟"), ("V信号abc_123，能加我吗", "abc_123"),
                                              ("Vx：bateer2020，能加我吗", "bateer2020"),
                                              ("家里电话（0476）8123456，能打吗", "8123456")])
def test_the_one_redaction_is_no_weaker_than_the_two_before(text: str, secret: str):
    from assistant.answering.pipeline import redacted_question, searchable

    once, whole = redacted_question(text)
    assert whole and secret not in once and secret not in searchable(once)


NAMES_AND_WORDS = ["我叫张伟，出去以后医保怎么办", "王建国想问低保", "出狱后医保怎么办", "高中文凭能不能参加自考",
                   "林西县的张伟说可以", "我娃以后能当兵不", "刑满释放后低保怎么申请，要去哪个部门", "周末去方家玩"]


@pytest.mark.parametrize("text", NAMES_AND_WORDS)
def test_the_tagger_is_skipped_only_when_it_could_find_nothing(text: str, monkeypatch: pytest.MonkeyPatch):
    tagger = redaction._posseg()
    freq = redaction._word_freq()
    everything = [w.word for w in tagger.cut(text) if w.flag == "nr" and redaction._possible_name(w.word, (), freq)]
    cuts: list[str] = []
    real_cut = tagger.cut
    monkeypatch.setattr(tagger, "cut", lambda t, *a, **k: cuts.append(t) or real_cut(t, *a, **k))
    assert redaction._names_by_tagger(text, ()) == everything
    assert bool(cuts) == redaction.tagger_needed(text)
    if not redaction.tagger_needed(text):
        assert everything == []


def test_plain_questions_skip_the_tagger():
    assert not redaction.tagger_needed("出狱后医保怎么办")
    assert redaction.tagger_needed("王建国想问低保")


def test_the_server_replays_the_spool_off_the_response_and_loses_nothing(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'q.db'}")
    spool = Spool(tmp_path / "spool.jsonl")
    qlog = QuestionLog(db, spool, background_replay=True)
    spool.append({"client_id": "c-1", "asked_at": "2026-11-27T00:00:00+00:00", "prison": "雁北监狱", "kiosk": "k",
                  "region_code": "431382", "topic": None, "text": "暂存的问题", "status": "flagged", "alert": None,
                  "answer": "回答", "sources": []})
    release = threading.Event()
    real_write = qlog.write

    def slow_for_spooled(record: dict):
        if record["client_id"] == "c-1":
            assert release.wait(10)
        return real_write(record)

    qlog.write = slow_for_spooled  # type: ignore[method-assign]
    answer = Answer("出狱后医保怎么办", "涟源市", "answered", "回答", [], None, [], region_code="431382")
    logged = qlog.record(answer, PRISON)  # returns while the replay of the spooled record still waits
    assert logged.question_id and not logged.spooled and spool.has_pending()
    release.set()
    qlog.settle()
    assert not spool.has_pending() and spool.pending() == []
    with db.session() as s:
        texts = sorted(s.scalars(select(Question.text)))
    assert texts == ["出狱后医保怎么办", "暂存的问题"]
    assert qlog.replay_soon() is None  # nothing left: no thread is started


def test_the_cli_log_still_replays_before_it_returns(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'q.db'}")
    spool = Spool(tmp_path / "spool.jsonl")
    spool.append({"client_id": "c-2", "asked_at": "2026-11-27T00:00:00+00:00", "prison": "", "kiosk": "",
                  "region_code": "431382", "topic": None, "text": "暂存的问题", "status": "answered", "alert": None,
                  "answer": "回答", "sources": []})
    qlog = QuestionLog(db, spool)
    qlog.record(Answer("低保怎么申请", "涟源市", "answered", "回答", [], None, [], region_code="431382"), PRISON)
    assert spool.pending() == []


def test_the_service_is_ready_before_the_tagger_and_the_pinyin_table_load(tmp_path: Path, mini_kb: Path,
                                                                          fake_embedder, monkeypatch):
    from assistant.api import state as state_module
    from assistant.core.config import Settings

    runtime = Runtime(Settings(data_dir=tmp_path / "data", knowledge_dir=mini_kb), embedder=fake_embedder)
    service_state = state_module.ServiceState(runtime)
    seen: list[tuple[str, bool]] = []
    monkeypatch.setattr(state_module, "load_tagger", lambda: seen.append(("tagger", service_state.ready.is_set())))
    real_search = runtime.regions.search
    monkeypatch.setattr(runtime.regions, "search",
                        lambda *a, **k: seen.append(("pinyin", service_state.ready.is_set())) or real_search(*a, **k))
    service_state.warm_up()
    assert service_state.error is None and service_state.ready.is_set()
    assert seen == [("tagger", True), ("pinyin", True)]  # both loaded, after the service said it was ready


def test_a_question_writes_the_kiosk_and_session_times_at_most_once_a_minute(service: Service):
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import event

    from assistant.services.kiosks import TOUCH_EVERY
    from assistant.storage.models import Kiosk, KioskSession

    db = service.runtime.database
    ask(service, "出狱后医保怎么办")  # the first question after the session opened
    updates: list[str] = []
    listener = lambda _conn, _cursor, statement, *_a: updates.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        ask(service, "出狱后低保怎么申请")
        assert not [u for u in updates if u.startswith(("UPDATE kiosks", "UPDATE kiosk_sessions"))]
        with db.session() as s:
            long_ago = datetime.now(UTC) - TOUCH_EVERY - timedelta(seconds=5)
            for row in s.scalars(select(Kiosk)):
                row.last_seen_at = long_ago
            for sess in s.scalars(select(KioskSession)):
                sess.last_activity = long_ago
        updates.clear()
        ask(service, "出狱后低保怎么申请")
        touched = [u for u in updates if u.startswith("UPDATE")]
        assert any("kiosks" in u for u in touched) and any("kiosk_sessions" in u for u in touched), touched
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    with db.session() as s:
        seen = [k.last_seen_at.replace(tzinfo=UTC) for k in s.scalars(select(Kiosk))]
    assert seen and all(datetime.now(UTC) - t < TOUCH_EVERY for t in seen)


def test_a_question_without_a_possible_name_does_not_load_the_tagger(monkeypatch):
    loaded: list[bool] = []
    real = redaction._posseg
    monkeypatch.setattr(redaction, "_posseg", lambda: loaded.append(True) or real())
    assert redaction.redact("出狱后医保怎么办") == "出狱后医保怎么办" and loaded == []
    assert redaction.redact("王建国想问低保") == "【姓名】想问低保" and loaded
