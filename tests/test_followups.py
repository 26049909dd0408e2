"""Question log, follow-ups, grouping, the inmate link, exports and the spool; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from sqlalchemy import text as sql_text

from assistant.answering.models import Answer, SourceRef
from assistant.services import audit
from assistant.services import followups as F
from assistant.services.errors import ForbiddenError, InvalidError, StateError
from assistant.services.exports import ExportFilter, export_followups, export_questions
from assistant.services.principal import BUREAU, Principal
from assistant.services.questions import AskContext, QuestionLog
from assistant.storage.db import Database
from assistant.storage.models import FollowUpEvent, InmateLink, Question
from assistant.storage.spool import Spool

PG_ENV = "BANGJIAO_TEST_POSTGRES_URL"


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(sql_text("DROP SCHEMA public CASCADE"))
        conn.execute(sql_text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path: Path):
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'test.db'}")
    else:
        url = os.environ.get(PG_ENV)
        if not url:
            if os.environ.get("CI"):
                pytest.fail(f"{PG_ENV} must be set in CI (./scripts/test.sh starts PostgreSQL)")
            pytest.skip(f"{PG_ENV} not set")
        _reset_postgres(url)
        database = Database(url)
    yield database
    database.dispose()


@pytest.fixture
def qlog(db: Database, tmp_path: Path) -> QuestionLog:
    return QuestionLog(db, Spool(tmp_path / "spool.jsonl"))


def answer(text: str, status: str = "flagged", region: str = "431382", alert: str | None = None,
           topic: str | None = "medical_insurance") -> Answer:
    law = SourceRef("中华人民共和国社会保险法", "《中华人民共和国社会保险法》第25条", "全国")
    sources = [law] if status == "answered" else []
    return Answer(text, "涟源市", status, "回答", sources, alert, [], region_code=region, topic=topic)


PRISON = AskContext(prison="雁北监狱", kiosk="k1", inmate_number="A-1029")


def test_every_question_is_logged_redacted(qlog: QuestionLog, db: Database):
    res = qlog.record(answer("我叫张伟，电话13812345678，出狱后医保咋整", "answered"), PRISON)
    assert res.question_id and res.followup_id is None and not res.spooled
    with db.session() as s:
        q = s.get(Question, res.question_id)
        assert "张伟" not in q.text and "13812345678" not in q.text and "医保" in q.text
        assert (q.prison, q.kiosk, q.region_code, q.status, q.topic) == ("雁北监狱", "k1", "431382", "answered",
                                                                         "medical_insurance")
        assert q.sources[0]["citation"].startswith("《中华人民共和国社会保险法》")


def test_flagged_question_becomes_a_followup_with_prison_only_inmate_link(qlog: QuestionLog, db: Database):
    res = qlog.record(answer("我的减刑什么时候批"), PRISON)
    assert res.followup_id
    with db.session() as s:
        queue = F.bureau_queue(s, "431382")
        assert [i.id for i in queue] == [res.followup_id]
        assert not hasattr(queue[0], "inmate_number") and not hasattr(queue[0], "prison")
        assert F.bureau_queue(s, "150426") == []  # another county sees nothing
        link = s.query(InmateLink).one()
        assert link.inmate_number == "A-1029"


def test_near_duplicates_are_grouped_and_answered_once(qlog: QuestionLog, db: Database):
    a = qlog.record(answer("涟源有没有护林员的岗位"), PRISON).followup_id
    other_inmate = AskContext(prison="雁北监狱", inmate_number="B-7")
    b = qlog.record(answer("护林员岗位涟源有没有，我想去"), other_inmate).followup_id
    c = qlog.record(answer("出狱后低保怎么申请"), PRISON).followup_id
    other_county = qlog.record(answer("护林员岗位有没有", region="150426"), PRISON).followup_id
    with db.session() as s:
        queue = F.bureau_queue(s, "431382")
        assert [(i.id, i.count) for i in queue] == [(a, 2), (c, 1)]
        assert set(queue[0].member_ids) == {a, b}
        ids = F.answer_followup(s, b, "涟源市林业局每年招聘，具体以公告为准。", "涟源司法局-李", region_code="431382")
        assert set(ids) == {a, b}
    with db.session() as s:
        assert [i.id for i in F.bureau_queue(s, "431382")] == [c]
        assert F.bureau_queue(s, "150426")[0].id == other_county
        waiting = F.prison_queue(s, "雁北监狱")
        assert {(w.id, w.inmate_number) for w in waiting} == {(a, "A-1029"), (b, "B-7")}


def test_state_machine_history_and_scope(qlog: QuestionLog, db: Database):
    fid = qlog.record(answer("我的减刑什么时候批"), PRISON).followup_id
    with db.session() as s, pytest.raises(ForbiddenError):
        F.answer_followup(s, fid, "答复", "翁旗司法局", region_code="150426")
    with db.session() as s, pytest.raises(StateError, match="待答复"):
        F.deliver_followup(s, fid, "民警王")
    with db.session() as s, pytest.raises(InvalidError):
        F.answer_followup(s, fid, "   ", "涟源司法局")
    with db.session() as s:
        F.answer_followup(s, fid, "请向监狱刑罚执行科询问。", "涟源司法局", region_code="431382")
    with db.session() as s, pytest.raises(ForbiddenError):
        F.deliver_followup(s, fid, "民警王", prison="赤峰监狱")
    with db.session() as s:
        F.deliver_followup(s, fid, "民警王", prison="雁北监狱")
        F.close_followup(s, fid, "民警王")
    with db.session() as s:
        events = F.history(s, fid)
        assert [(e.action, e.from_state, e.to_state) for e in events] == [
            ("created", None, "open"), ("answered", "open", "answered"), ("delivered", "answered", "delivered"),
            ("closed", "delivered", "closed")]
        assert [e.actor for e in events][1:] == ["涟源司法局", "民警王", "民警王"]
        assert s.query(FollowUpEvent).count() == 4  # the refused requests changed nothing


def test_unresolved_button_creates_a_followup(qlog: QuestionLog, db: Database):
    qid = qlog.record(answer("出狱后医保咋整", "answered"), PRISON).question_id
    fid = qlog.mark_unresolved(qid)
    assert fid == qlog.mark_unresolved(qid)  # pressing twice does not duplicate
    with db.session() as s:
        assert s.get(Question, qid).unresolved
        assert F.bureau_queue(s, "431382")[0].id == fid


def test_crisis_question_is_logged_with_alert_and_held_for_the_prison(qlog: QuestionLog, db: Database):
    res = qlog.record(answer("我不想活了", alert="crisis", topic=None), PRISON)
    with db.session() as s:
        assert s.get(Question, res.question_id).alert == "crisis"
        assert F.bureau_queue(s, "431382") == [] and F.withheld_count(s, "431382") == 1
        assert [c.id for c in F.prison_crises(s, PRISON.prison)] == [res.followup_id]


CLI = "cli:tester"


def test_export_csv_and_xlsx_with_filters_and_scope(qlog: QuestionLog, db: Database, full_regions):
    qlog.record(answer("出狱后医保咋整", "answered"), PRISON)
    qlog.record(answer("=HYPERLINK(\"x\") 低保", "flagged", topic="social_assistance"), PRISON)
    qlog.record(answer("翁旗的问题", "flagged", region="150426"), PRISON)
    with db.session() as s:
        data, n = export_questions(s, ExportFilter.parse(region_code="431382"), "csv", full_regions, CLI)
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert n == 2 and rows[0][0] == "编号" and {r[4] for r in rows[1:]} == {"涟源市"}
        assert any(r[6].startswith("'=HYPERLINK") for r in rows[1:])  # formula neutralised
        _, n = export_questions(s, ExportFilter.parse(region_code="431382", topic="social_assistance"), "csv",
                                full_regions, CLI)
        assert n == 1
        _, n = export_questions(s, ExportFilter.parse(region_code="431382", until="2000-01-01"), "csv",
                                full_regions, CLI)
        assert n == 0
        data, n = export_questions(s, ExportFilter.parse(status="flagged"), "xlsx", full_regions, CLI)
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(data)).active
        assert n == 2 and sheet.max_row == 3 and sheet["G1"].value == "问题（已脱敏）"
        bureau = Principal(7, "lianyuan", "涟源司法局", BUREAU, None, "431382")
        export_followups(s, ExportFilter.parse(region_code="431382"), "csv", full_regions, bureau, for_bureau=True)
    with db.session() as s:  # every export is audited by the service, in the county's view when it names one
        county = [(e.actor, e.target, e.detail.split(",")[0]) for e in audit.events(s, scope="431382", action="export")]
        assert county == [("lianyuan", "followups", "csv"), (CLI, "questions", "csv"), (CLI, "questions", "csv"),
                          (CLI, "questions", "csv")]
        assert len(audit.events(s, action="export")) == 5
    with db.session() as s, pytest.raises(InvalidError):
        ExportFilter.parse(since="2026-13-01")
    with db.session() as s, pytest.raises(InvalidError):
        export_questions(s, ExportFilter(), "pdf", full_regions, CLI)


def test_storage_failure_spools_and_replays_without_loss_or_duplicates(qlog: QuestionLog, db: Database,
                                                                        monkeypatch):
    from sqlalchemy.exc import OperationalError

    real_write = qlog.write

    def broken(record):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(qlog, "write", broken)
    first = qlog.record(answer("我的减刑什么时候批"), PRISON)
    second = qlog.record(answer("出狱后医保咋整", "answered"), PRISON)
    assert first.spooled and second.spooled and first.question_id is None
    assert len(qlog.spool.pending()) == 2
    monkeypatch.setattr(qlog, "write", real_write)
    third = qlog.record(answer("出狱后低保怎么申请"), PRISON)  # a healthy write replays the spool
    assert not third.spooled and qlog.spool.pending() == []
    assert qlog.replay() == 0
    with db.session() as s:
        assert s.query(Question).count() == 3
        assert len(F.bureau_queue(s, "431382")) == 2  # both flagged questions have follow-ups, once


def test_migrations_match_the_models(db: Database):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from assistant.storage.models import Base

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_a_real_migration_yields_the_models_and_the_tests_copied_database(tmp_path: Path, migrated_sqlite):
    """New SQLite databases in this test process are copies of one migration (conftest); this runs Alembic itself
    on a new file and compares it with the models and with that copy, table by table and index by index."""
    import sqlite3

    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from assistant.storage.db import alembic_config, make_engine
    from assistant.storage.models import Base

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()

    def schema(path: Path) -> dict:
        """Columns, indexes, unique constraints and foreign keys of every table, and the revision (Alembic's batch
        mode writes a recreated table's constraints in no fixed order, so not the CREATE texts)."""
        conn = sqlite3.connect(path)
        try:
            found: dict = {"revision": conn.execute("SELECT version_num FROM alembic_version").fetchall()}
            for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                indexes = sorted(
                    (unique, origin, partial, None if name.startswith("sqlite_autoindex") else name,
                     tuple(row[2] for row in conn.execute(f"PRAGMA index_info('{name}')")))
                    for _, name, unique, origin, partial in conn.execute(f"PRAGMA index_list('{table}')"))
                found[table] = (conn.execute(f"PRAGMA table_info('{table}')").fetchall(), indexes,
                                sorted(row[2:] for row in conn.execute(f"PRAGMA foreign_key_list('{table}')")))
        finally:
            conn.close()
        return found

    fresh = schema(tmp_path / "fresh.db")
    assert "questions" in fresh and fresh["questions"][1]  # tables with their indexes were read
    assert schema(migrated_sqlite()) == fresh


def test_unreachable_database_at_start_still_logs_to_the_spool(tmp_path: Path):
    def cannot_open() -> Database:
        return Database("postgresql+psycopg://nobody:x@127.0.0.1:1/none")

    qlog = QuestionLog(cannot_open, Spool(tmp_path / "spool.jsonl"))
    res = qlog.record(answer("我的减刑什么时候批"), PRISON)
    assert res.spooled and qlog.spool.pending()[0]["text"] == "我的减刑什么时候批"
    db = Database(f"sqlite:///{tmp_path / 'later.db'}")
    qlog._db = db  # the database is back
    assert qlog.replay() == 1
    with db.session() as s:
        assert s.query(Question).count() == 1
