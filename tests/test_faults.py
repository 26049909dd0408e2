"""Faults: the database gone, locked or full, the disk full, the index damaged while running, the model folder
missing, a process killed mid-build or mid-migration, two builders at once. Each ends with a clear message,
the service answering where it can, and no question or follow-up lost or duplicated."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from assistant.answering.models import Answer
from assistant.core.config import Settings
from assistant.index.store import build_lock, load_index
from assistant.runtime import Runtime
from assistant.services import kiosks
from assistant.services.questions import NOT_STORED, AskContext, QuestionLog
from assistant.storage.db import Database
from assistant.storage.models import FollowUp, Question
from assistant.storage.spool import Spool

PRISON = AskContext(prison="雁北监狱", kiosk="教育室1号", inmate_number="A-1029")
CLI = str(Path(sys.executable).with_name("assistant"))


def answer(text: str, status: str = "flagged") -> Answer:
    return Answer(text, "涟源市", status, "回答", [], None, [], region_code="431382", topic="medical_insurance")


def sqlite_db(path: Path) -> Database:
    return Database(f"sqlite:///{path}")


def rows(db: Database) -> list[tuple[str, str, int | None]]:
    """(text, status, follow-up id) of every logged question, in order."""
    with db.session() as s:
        return [(q.text, q.status, q.followup_id) for q in s.scalars(select(Question).order_by(Question.id))]


def count(db: Database, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fill_up(db: Database) -> None:
    """Make the SQLite file full for real: cap it at its current size (`max_page_count`, per connection) and fill
    the free room with the smallest possible rows until SQLite says "database or disk is full"."""
    event.listen(db.engine, "connect", lambda conn, _record: conn.execute("PRAGMA max_page_count = 1"))
    db.engine.dispose()
    path = db.url.removeprefix("sqlite:///")
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA max_page_count = 1")  # never below the current size: this caps it there
    n = 0
    with pytest.raises(sqlite3.OperationalError, match="full"):
        while n < 100_000:
            con.execute("INSERT INTO questions (client_id, asked_at, prison, kiosk, region_code, text, status, answer,"
                        " sources, unresolved, items) VALUES (?, '2000-01-01 00:00:00', '', '', '', '', '', '', '[]',"
                        " 0, '[]')", (f"!{n:08d}",))  # '!' sorts before every real client_id
            n += 1
    con.close()


def real_rows(db: Database) -> list[tuple[str, str, int | None]]:
    return [r for r in rows(db) if r[0]]  # without the filler rows of fill_up


# ---------------------------------------------------------------- 1. database unreachable mid-request


@pytest.mark.parametrize("how", ["sqlite folder gone", "postgresql port closed"])
def test_database_unreachable_mid_request_spools_then_replays_exactly_once(tmp_path: Path, how: str):
    folder = tmp_path / "db"
    folder.mkdir()
    db = sqlite_db(folder / "bangjiao.db")
    qlog = QuestionLog(db, Spool(tmp_path / "spool" / "questions.jsonl"))
    earlier = qlog.record(answer("出狱后医保咋整", "answered"), PRISON)
    assert earlier.question_id and not earlier.spooled

    if how == "sqlite folder gone":  # e.g. the disk holding the database is unmounted
        db.engine.dispose()
        folder.rename(tmp_path / "db-away")
    else:
        qlog._db = Database(f"postgresql+psycopg://bangjiao:x@127.0.0.1:{closed_port()}/bangjiao", migrate=False)
    flagged = qlog.record(answer("我的减刑什么时候批"), PRISON)
    pressed = qlog.unresolved(earlier.question_id, PRISON.kiosk_id, PRISON.kiosk, PRISON.prison)  # during the outage
    assert flagged.spooled and flagged.question_id is None and flagged.notice is None
    assert pressed.spooled and pressed.notice is None
    assert [r.get("kind") for r in qlog.spool.pending()] == [None, "unresolved"]
    assert qlog.replay() == 0 and len(qlog.spool.pending()) == 2  # still down: nothing lost from the spool

    if how == "sqlite folder gone":
        (tmp_path / "db-away").rename(folder)
    else:
        qlog._db = db
    later = qlog.record(answer("出狱后低保怎么申请", "answered"), PRISON)  # a healthy write replays the spool
    assert not later.spooled and qlog.spool.pending() == []
    assert qlog.replay() == 0
    logged = rows(db)
    assert [t for t, _, _ in logged] == ["出狱后医保咋整", "出狱后低保怎么申请", "我的减刑什么时候批"]
    assert all(fid for t, _, fid in logged if t != "出狱后低保怎么申请")  # flagged + pressed: one follow-up each
    assert count(db, FollowUp) == 2


def test_replay_after_a_crash_between_commit_and_spool_rewrite_does_not_duplicate(tmp_path: Path):
    db = sqlite_db(tmp_path / "bangjiao.db")
    spool = Spool(tmp_path / "spool.jsonl")
    qlog = QuestionLog(db, spool)
    from assistant.services.questions import log_record

    record = log_record(answer("我的减刑什么时候批"), PRISON)
    spool.append(record)
    qlog.write(record)  # written, then the process died before the spool was rewritten
    assert qlog.replay() == 1 and spool.pending() == []
    assert count(db, Question) == 1 and count(db, FollowUp) == 1


# ---------------------------------------------------------------- 2. database locked past the busy timeout


@pytest.mark.slow  # waits out the 5 s busy timeout
def test_database_locked_past_the_busy_timeout_spools_then_replays_once(tmp_path: Path):
    path = tmp_path / "bangjiao.db"
    db = sqlite_db(path)
    qlog = QuestionLog(db, Spool(tmp_path / "spool.jsonl"))
    qlog.record(answer("出狱后医保咋整", "answered"), PRISON)
    other = sqlite3.connect(path, isolation_level=None)  # e.g. a long export or a backup in another process
    other.execute("BEGIN IMMEDIATE")
    try:
        locked = qlog.record(answer("我的减刑什么时候批"), PRISON)  # waits the 5 s busy timeout, then spools
    finally:
        other.execute("COMMIT")
        other.close()
    assert locked.spooled and qlog.spool.pending()[0]["text"] == "我的减刑什么时候批"
    assert qlog.record(answer("出狱后低保怎么申请", "answered"), PRISON).question_id
    assert qlog.spool.pending() == [] and qlog.replay() == 0
    assert [t for t, _, _ in rows(db)] == ["出狱后医保咋整", "出狱后低保怎么申请", "我的减刑什么时候批"]
    assert count(db, FollowUp) == 1


# ---------------------------------------------------------------- 3. disk full


def test_disk_full_for_database_and_spool_still_answers_with_a_notice_and_loses_nothing_stored(
        tmp_path: Path, caplog: pytest.LogCaptureFixture):
    db = sqlite_db(tmp_path / "bangjiao.db")
    qlog = QuestionLog(db, Spool(Path("/dev/full")))  # every write there fails with ENOSPC
    qlog.record(answer("出狱后医保咋整", "answered"), PRISON)
    qlog.record(answer("涟源有没有护林员的岗位"), PRISON)
    before = real_rows(db)
    fill_up(db)
    with caplog.at_level(logging.ERROR, logger="assistant.services.questions"):
        lost = qlog.record(answer("我的减刑什么时候批"), PRISON)
    assert lost.notice == NOT_STORED and "请告诉值班民警" in lost.notice and not lost.spooled
    assert qlog.unsaved == 1
    critical = [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(critical) == 1 and "NOT stored" in critical[0] and "database or disk is full" in critical[0]
    assert "No space left on device" in critical[0]
    assert qlog.spool.pending() == [] and qlog.replay() == 0  # /dev/full is never read as a spool
    assert real_rows(db) == before and count(db, FollowUp) == 1


def test_disk_full_for_the_database_only_spools(tmp_path: Path):
    db = sqlite_db(tmp_path / "bangjiao.db")
    qlog = QuestionLog(db, Spool(tmp_path / "spool.jsonl"))
    qlog.record(answer("出狱后医保咋整", "answered"), PRISON)
    fill_up(db)
    full = qlog.record(answer("我的减刑什么时候批"), PRISON)
    assert full.spooled and full.notice is None
    assert [r["text"] for r in qlog.spool.pending()] == ["我的减刑什么时候批"]
    assert [t for t, _, _ in real_rows(db)] == ["出狱后医保咋整"]


def test_spool_that_cannot_be_rewritten_keeps_every_record(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    db = sqlite_db(tmp_path / "bangjiao.db")
    spool = Spool(tmp_path / "spool.jsonl")
    qlog = QuestionLog(db, spool)
    from assistant.services.questions import log_record

    spool.append(log_record(answer("我的减刑什么时候批"), PRISON))  # spooled during an earlier outage
    spool.append(log_record(answer("出狱后医保咋整", "answered"), PRISON))
    kept = spool.path.read_bytes()
    spool.path.with_suffix(".tmp").symlink_to("/dev/full")  # the rewrite hits a full disk
    with caplog.at_level(logging.ERROR):
        fresh = qlog.record(answer("出狱后低保怎么申请", "answered"), PRISON)
    assert fresh.question_id and not fresh.spooled  # the kiosk's own record went through
    assert spool.path.read_bytes() == kept  # the spool is untouched: nothing lost
    assert any("spool replay failed" in r.getMessage() for r in caplog.records)
    spool.path.with_suffix(".tmp").unlink()  # space again
    assert qlog.replay() == 2 and spool.pending() == []
    assert sorted(t for t, _, _ in rows(db)) == sorted(["我的减刑什么时候批", "出狱后医保咋整", "出狱后低保怎么申请"])
    assert count(db, FollowUp) == 1


SPOOL_WRITER = """
import sys, uuid
from pathlib import Path
from assistant.storage.spool import Spool
spool = Spool(Path(sys.argv[1]))
for i in range(int(sys.argv[2])):
    spool.append({"client_id": str(uuid.uuid4()), "asked_at": "2026-11-22T08:00:00+00:00", "prison": "雁北监狱",
                  "kiosk": "cli", "region_code": "431382", "topic": None, "text": f"问题{i}", "status": "answered",
                  "alert": None, "answer": "回答", "sources": [], "items": [], "inmate_number": None})
"""


@pytest.mark.slow  # starts other processes
def test_spool_shared_by_two_processes_loses_nothing(tmp_path: Path):
    """`assistant ask` appends to the spool while the server replays it: the lock keeps every record."""
    db = sqlite_db(tmp_path / "bangjiao.db")
    qlog = QuestionLog(db, Spool(tmp_path / "spool.jsonl"))
    n = 300
    writer = subprocess.Popen([sys.executable, "-c", SPOOL_WRITER, str(qlog.spool.path), str(n)])
    while writer.poll() is None:
        qlog.replay()
        time.sleep(0.005)  # let the writer run
    assert writer.returncode == 0
    qlog.replay()
    with db.session() as s:
        texts = s.scalars(select(Question.text)).all()
    assert sorted(texts) == sorted(f"问题{i}" for i in range(n))
    assert qlog.spool.pending() == []


# ---------------------------------------------------------------- 5. model folder missing


def wait_for_warm_up() -> None:
    for thread in threading.enumerate():
        if thread.name == "warm-up":
            thread.join(120)


def test_missing_model_folder_is_reported_on_health_and_nothing_is_downloaded(tmp_path: Path, mini_kb: Path):
    from fastapi.testclient import TestClient

    from assistant.api.main import create_app

    missing = tmp_path / "no-such-model"
    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=mini_kb, model_path=missing)
    app = create_app(runtime=Runtime(settings))
    with TestClient(app) as client:
        wait_for_warm_up()
        health = client.get("/health")
        body = health.json()
        assert health.status_code == 503 and body["status"] == "error" and not body["ready"]
        assert "模型目录不存在" in body["error"] and "model folder missing" in body["error"]
        assert str(missing) in body["error"] and "BANGJIAO_MODEL_PATH" in body["error"]
        assert client.get("/api/regions").status_code == 200  # what needs no model still works
        refused = client.post("/api/ask", json={"question": "医保"})
        assert refused.status_code == 503 and "告诉值班民警" in refused.json()["error"]["message"]["zh"]
    assert not missing.exists() and not settings.default_model_dir.exists()  # nothing fetched or converted


@pytest.mark.slow  # starts other processes
@pytest.mark.parametrize("command", [["ask", "--county", "涟源", "出狱后医保怎么办"], ["index", "build"]])
def test_cli_exits_with_the_message_when_the_model_folder_is_missing(tmp_path: Path, mini_kb: Path, command):
    hf_home = tmp_path / "hf"
    env = {**os.environ, "BANGJIAO_DATA_DIR": str(tmp_path / "data"), "BANGJIAO_KNOWLEDGE_DIR": str(mini_kb),
           "BANGJIAO_MODEL_PATH": str(tmp_path / "no-such-model"), "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "0",
           "HF_ENDPOINT": f"http://127.0.0.1:{closed_port()}"}  # a download attempt would go here and fail
    done = subprocess.run([CLI, *command], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "模型目录不存在" in done.stderr and "model folder missing" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout and "╭" not in done.stderr
    assert not hf_home.exists()


# ---------------------------------------------------------------- 6b. killed during a database migration

MIGRATE_CHILD = """
import sys, time
from sqlalchemy import event
from sqlalchemy.engine import Engine
from assistant.storage.db import upgrade

@event.listens_for(Engine, "after_cursor_execute")
def _pause(conn, cursor, statement, parameters, context, executemany):
    if sys.argv[2] in statement:
        print("PAUSED", flush=True)
        time.sleep(600)

upgrade(sys.argv[1])
"""


def old_revision_db(path: Path) -> list[tuple]:
    """A database at the first schema revision with a question and its follow-up; returns its question rows."""
    from alembic import command

    from assistant.storage.db import alembic_config

    command.upgrade(alembic_config(f"sqlite:///{path}"), "0001")
    con = sqlite3.connect(path)
    con.execute("INSERT INTO followups (id, region_code, prison, topic, text, reason, state, created_at, updated_at) "
                "VALUES (1, '431382', '雁北监狱', NULL, '我的减刑什么时候批', 'flagged', 'open', '2026-01-02 08:00:00',"
                " '2026-01-02 08:00:00')")
    for i, (text, status, fid) in enumerate([("出狱后医保咋整", "answered", None),
                                             ("我的减刑什么时候批", "flagged", 1)]):
        con.execute("INSERT INTO questions (client_id, asked_at, prison, kiosk, region_code, text, status, answer, "
                    "sources, unresolved, followup_id) VALUES (?, '2026-01-02 08:00:00', '雁北监狱', 'k1', '431382', "
                    "?, ?, '回答', '[]', 0, ?)", (f"old-{i}", text, status, fid))
    con.commit()
    out = con.execute("SELECT id, client_id, text, status, followup_id FROM questions ORDER BY id").fetchall()
    con.close()
    return out


@pytest.mark.slow  # starts other processes
@pytest.mark.parametrize("pause_after", ["CREATE TABLE kiosk_sessions", "ALTER TABLE questions ADD COLUMN items"])
def test_migration_killed_half_way_is_completed_by_rerunning_db_upgrade(tmp_path: Path, pause_after: str):
    from alembic.script import ScriptDirectory

    from assistant.storage.db import alembic_config

    original = tmp_path / "old.db"
    before = old_revision_db(original)
    path = tmp_path / "copy.db"
    shutil.copy(original, path)  # an operator upgrades a copy of the old database
    url = f"sqlite:///{path}"
    child = subprocess.Popen([sys.executable, "-c", MIGRATE_CHILD, url, pause_after], stdout=subprocess.PIPE,
                             text=True)
    assert child.stdout.readline().strip() == "PAUSED"
    child.send_signal(signal.SIGKILL)
    child.wait()

    env = {**os.environ, "BANGJIAO_DATABASE_URL": url, "BANGJIAO_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([CLI, "db", "upgrade"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "数据库已是最新结构" in done.stdout
    con = sqlite3.connect(path)
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]
    got = con.execute("SELECT id, client_id, text, status, followup_id FROM questions ORDER BY id").fetchall()
    assert got == before
    assert con.execute("SELECT id, text FROM followups").fetchall() == [(1, "我的减刑什么时候批")]
    assert con.execute("SELECT items FROM questions").fetchall() == [("[]",), ("[]",)]
    con.close()


# ---------------------------------------------------------------- index faults (need the model)

INDEX_CHILD = """
import pathlib, sys, time
from assistant import runtime as rt
from assistant.core.config import Settings
from assistant.index import manifest

def pause(*_args, **_kwargs):
    print("PAUSED", flush=True)
    time.sleep(600)

mode = sys.argv[1]
if mode == "before-manifest":  # partitions written to index.tmp-<pid>, its manifest not yet
    manifest.Manifest.save = pause
elif mode == "between-renames":  # old index moved to index.old-<pid>, the new one not yet in its place
    rename = pathlib.Path.rename
    def paused_rename(self, target):
        moved = rename(self, target)
        if ".old-" in str(target):
            pause()
        return moved
    pathlib.Path.rename = paused_rename
else:  # "ensure" / "build": say when this process reaches the build lock
    lock = rt.build_lock
    def announced(data_dir):
        print("AT-LOCK", flush=True)
        return lock(data_dir)
    rt.build_lock = announced
runtime = rt.Runtime(Settings(), use_database=False)
index = runtime.ensure_index() if mode == "ensure" else runtime.build_index("rebuild")
print("BUILT" if runtime.last_build else "LOADED", index.manifest.built_at, flush=True)
"""


@dataclass
class Built:
    settings: Settings
    runtime: Runtime
    env: dict[str, str]
    new: Callable[..., Runtime]


@pytest.fixture
def built(tmp_path: Path, mini_kb: Path, embedder) -> Built:
    """A mini knowledge base with its index built; child processes reuse its vectors (no model load)."""
    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=mini_kb, model_path=embedder.model_dir)
    runtime = Runtime(settings, embedder=embedder, use_database=False)
    runtime.ensure_index()
    env = {**os.environ, "BANGJIAO_DATA_DIR": str(settings.data_dir), "BANGJIAO_KNOWLEDGE_DIR": str(mini_kb),
           "BANGJIAO_MODEL_PATH": str(embedder.model_dir)}
    return Built(settings, runtime, env,
                 lambda **kw: Runtime(settings, embedder=embedder, use_database=False, **kw))


def child(built: Built, mode: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", INDEX_CHILD, mode], env=built.env, cwd=built.settings.data_dir,
                            stdout=subprocess.PIPE, text=True)


def leftovers(index_dir: Path) -> list[str]:
    """Folders a build leaves beside the index while it runs (`index.tmp-<pid>`, `index.old-<pid>`)."""
    return sorted(p.name for p in index_dir.parent.iterdir()
                  if p.name.startswith((f"{index_dir.name}.tmp-", f"{index_dir.name}.old-")))


def assert_consistent(built: Built) -> None:
    """The index on disk loads, is fresh, answers, and no half-written folder is left."""
    index_dir = built.settings.index_dir
    on_disk = load_index(index_dir)
    assert on_disk.manifest.identity() == built.runtime.expected_manifest().identity()
    assert leftovers(index_dir) == []
    fresh = built.new()
    fresh.ensure_index()
    assert fresh.last_build is None
    assert fresh.answerer.run("出狱后医保怎么办", "431382").status == "answered"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["before-manifest", "between-renames"])
def test_index_rebuild_killed_half_way_leaves_a_consistent_index(built: Built, mode: str):
    index_dir = built.settings.index_dir
    proc = child(built, mode)
    assert proc.stdout.readline().strip() == "PAUSED"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert any(name.startswith("index.tmp-") for name in leftovers(index_dir))
    assert index_dir.exists() == (mode == "before-manifest")  # between the renames there is no index folder
    messages: list[str] = []
    again = built.new(progress=messages.append)
    again.ensure_index()
    assert again.last_build is None  # the complete index was kept or restored, not rebuilt
    assert any(("已恢复" if mode == "between-renames" else "清理") in m for m in messages)
    assert_consistent(built)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["ensure", "build"])
def test_two_processes_building_at_once_end_with_one_consistent_index(built: Built, mode: str):
    manifest_path = built.settings.index_dir / "manifest.json"
    raw = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest_path.write_text(json.dumps({**raw, "content_hash": "edited"}), encoding="utf-8")  # stale: both rebuild
    with build_lock(built.settings.data_dir):  # hold both at the lock so that they really overlap
        procs = [child(built, mode), child(built, mode)]
        assert [p.stdout.readline().strip() for p in procs] == ["AT-LOCK", "AT-LOCK"]
    outputs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    if mode == "ensure":  # the second one waits, then loads what the first built
        assert sorted(o[0] for o in outputs) == ["BUILT", "LOADED"] and outputs[0][1] == outputs[1][1]
    else:  # an explicit build always builds, one after the other
        assert [o[0] for o in outputs] == ["BUILT", "BUILT"]
    assert_consistent(built)


# ---------------------------------------------------------------- the kiosk API under faults (fake embedder)


@dataclass
class Service:
    client: object
    state: object
    runtime: Runtime
    headers: dict[str, str]
    db_dir: Path


@pytest.fixture
def service(tmp_path: Path, mini_kb: Path, fake_embedder):
    """The kiosk service on the mini knowledge base, its database in a folder of its own, one open session. The
    faults are about storage and the index files, not the model's semantics: the fake embedder."""
    embedder = fake_embedder
    from fastapi.testclient import TestClient

    from assistant.api.main import create_app

    db_dir = tmp_path / "db"
    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=mini_kb,
                        database_url_override=f"sqlite:///{db_dir / 'bangjiao.db'}")
    runtime = Runtime(settings, embedder=embedder)
    app = create_app(runtime=runtime, rate="100/minute")
    with TestClient(app) as client:
        state = app.state.service
        assert state.ready.wait(120), state.error
        with runtime.database.session() as s:
            reg = kiosks.register(s, PRISON.prison, PRISON.kiosk)
        r = client.post("/api/session", json={"county": "涟源", "pin": reg.pin, "inmate_number": "A-1029"},
                        headers={"X-Kiosk-Token": reg.token})
        assert r.status_code == 200, r.text
        yield Service(client, state, runtime, {"X-Kiosk-Token": reg.token, "X-Kiosk-Session": r.json()["session"]},
                      db_dir)


def ask(service: Service, question: str) -> dict:
    r = service.client.post("/api/ask", json={"question": question}, headers=service.headers)
    assert r.status_code == 200, r.text
    return r.json()


def after_answering(service: Service, monkeypatch: pytest.MonkeyPatch, fault: Callable[[], None]) -> None:
    """Run `fault` once, mid-request: after the kiosk is authenticated and the answer found, before it is logged."""
    answerer = service.runtime.answerer
    real = answerer.run

    def run(*args, **kwargs):
        result = real(*args, **kwargs)
        monkeypatch.setattr(answerer, "run", real)
        fault()
        return result

    monkeypatch.setattr(answerer, "run", run)


def test_kiosk_keeps_answering_when_the_database_disappears_mid_request(service: Service, monkeypatch):
    db = service.runtime.database
    first = ask(service, "出狱后医保怎么办")
    assert first["status"] == "answered" and first["question_id"]

    def unmount() -> None:
        db.engine.dispose()
        service.db_dir.rename(service.db_dir.with_name("db-away"))

    after_answering(service, monkeypatch, unmount)
    flagged = ask(service, "我的减刑什么时候批")
    assert flagged["status"] == "flagged" and flagged["answer"] and flagged["question_id"] is None
    assert NOT_STORED not in flagged["answer"]
    assert service.client.get("/health").json()["spooled"] == 1
    still_down = ask(service, "出狱后医保去哪交")  # a kiosk and session checked minutes ago keep working
    assert still_down["answer"] and still_down["question_id"] is None
    assert service.client.get("/health").json()["spooled"] == 2
    stranger = service.client.post("/api/ask", json={"question": "出狱后医保去哪交"},
                                   headers={**service.headers, "X-Kiosk-Token": "never-seen-before"})
    error = stranger.json()["error"]  # a kiosk that cannot be checked at all is refused, with the reason
    assert stranger.status_code == 503 and "数据库暂时不可用" in error["message"]["zh"] and error["message"]["en"]
    assert service.client.get("/api/regions").status_code == 200

    service.db_dir.with_name("db-away").rename(service.db_dir)  # the database is back
    later = ask(service, "出狱后低保怎么申请")
    service.state.qlog.settle()  # the server replays the spool in the background, off the response
    assert later["question_id"] and service.client.get("/health").json()["spooled"] == 0
    assert service.state.qlog.replay() == 0
    texts = [t for t, _, _ in rows(db)]
    assert sorted(texts) == sorted(["出狱后医保怎么办", "我的减刑什么时候批", "出狱后医保去哪交", "出狱后低保怎么申请"])
    flagged = sum(1 for _, status, _ in rows(db) if status == "flagged")
    assert flagged >= 1 and count(db, FollowUp) == flagged  # one follow-up per flagged question, none lost


def test_kiosk_answers_with_a_notice_when_database_and_spool_disk_are_full(service: Service, monkeypatch):
    db = service.runtime.database
    assert ask(service, "出狱后医保怎么办")["question_id"]
    before = real_rows(db)
    spool = service.state.qlog.spool.path
    spool.parent.mkdir(parents=True, exist_ok=True)
    spool.symlink_to("/dev/full")
    after_answering(service, monkeypatch, lambda: fill_up(db))
    full = ask(service, "我的减刑什么时候批")
    assert full["status"] == "flagged" and full["question_id"] is None
    assert full["answer"].endswith(NOT_STORED)
    health = service.client.get("/health").json()
    assert health["ready"] and health["unsaved"] == 1 and health["spooled"] == 0
    assert real_rows(db) == before


@pytest.mark.parametrize("damage", ["deleted", "corrupted"])
def test_index_damaged_while_running_keeps_answering_and_next_start_rebuilds(service: Service, fake_embedder,
                                                                             damage: str):
    embedder = fake_embedder
    index_dir = service.runtime.settings.index_dir
    if damage == "deleted":
        shutil.rmtree(index_dir)
    else:
        for path in index_dir.rglob("*"):
            if path.is_file():
                path.write_bytes(b"\x00garbage")
    again = ask(service, "出狱后医保怎么办")
    assert again["status"] == "answered" and again["sources"]  # from the index loaded at start
    assert service.client.get("/health").status_code == 200

    messages: list[str] = []
    restart = Runtime(service.runtime.settings, progress=messages.append, embedder=embedder)
    restart.ensure_index()
    expected = "索引不存在" if damage == "deleted" else "索引损坏"
    assert restart.last_build and expected in restart.last_build
    assert any(expected in m for m in messages)
    assert restart.answerer.run("出狱后医保怎么办", "431382").status == "answered"
    assert load_index(index_dir).manifest.identity() == restart.expected_manifest().identity()
