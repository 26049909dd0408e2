"""Backup and restore: a database filled through the real services and a knowledge tree come back identical,
in a fresh directory, on SQLite and PostgreSQL; damaged archives and occupied targets are refused untouched."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import tarfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from helpers import service_url
from sqlalchemy import MetaData, create_engine, select
from sqlalchemy import text as sql_text
from typer.testing import CliRunner

from assistant.answering.models import Answer, SourceRef
from assistant.backup import BackupError, create_backup, restore_backup
from assistant.backup.archive import decode_value, encode_value
from assistant.cli import app
from assistant.knowledge.loader import load_knowledge
from assistant.services import faq, kiosks
from assistant.services import followups as F
from assistant.services.questions import AskContext, QuestionLog, log_record
from assistant.storage.db import Database
from assistant.storage.models import Base, Kiosk, Question
from assistant.storage.spool import Spool

PG_ENV = "BANGJIAO_TEST_POSTGRES_URL"  # the same variable and CI rule as tests/test_followups.py

pytestmark = pytest.mark.slow  # every test migrates and fills databases and writes archives (seconds each)


def postgres_url() -> str:
    return service_url(PG_ENV, "PostgreSQL")


@pytest.fixture
def pg_schemas() -> Iterator[callable]:
    """URLs of fresh PostgreSQL schemas of their own (search_path), so other storage tests are not disturbed."""
    base = postgres_url()
    engine = create_engine(base)
    made: list[str] = []

    def make(label: str) -> str:
        name = f"backup_{label}_{uuid.uuid4().hex[:8]}"
        with engine.begin() as conn:
            conn.execute(sql_text(f'CREATE SCHEMA "{name}"'))
        made.append(name)
        return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{name}"

    yield make
    with engine.begin() as conn:
        for name in made:
            conn.execute(sql_text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    engine.dispose()


def answer(text: str, status: str = "flagged", region: str = "431382", alert: str | None = None) -> Answer:
    law = SourceRef("中华人民共和国社会保险法", "《中华人民共和国社会保险法》第25条", "全国")
    return Answer(text, "涟源市", status, "回答：到乡镇医保站办理。", [law] if status == "answered" else [], alert, [],
                  region_code=region, topic="medical_insurance")


def fill(url: str, knowledge: Path, spool_path: Path) -> None:
    """Rows in every kind of table, written the way the service writes them."""
    db = Database(url)
    qlog = QuestionLog(db, Spool(spool_path))
    ctx = AskContext(prison="雁北监狱", kiosk="教育室1号", inmate_number="A-1029")
    qlog.record(answer("出狱后医保咋整？😀", "answered"), ctx)
    first = qlog.record(answer("涟源有没有护林员的岗位"), ctx).followup_id
    qlog.record(answer("护林员岗位涟源有没有，我想去"), AskContext(prison="雁北监狱", inmate_number="B-7"))
    qlog.record(answer("不想活了", alert="crisis"), ctx)
    asked = qlog.record(answer("低保怎么申请", "answered", region="150426"), ctx).question_id
    qlog.mark_unresolved(asked, actor="教育室1号")
    kb = load_knowledge(knowledge)
    with db.session() as s:
        F.answer_followup(s, first, "涟源市林业局每年招聘护林员，具体以公告为准。", "涟源司法局-李")
        faq.draft_from_followup(s, kb, first, "涟源司法局-李")
        reg = kiosks.register(s, "雁北监狱", "教育室1号")
        kiosks.register(s, "赤峰监狱", "阅览室")
        kiosks.revoke(s, reg.kiosk_id)
    with db.session() as s:
        kiosk = s.get(Kiosk, reg.kiosk_id)
        kiosks.open_session(s, kiosk, "431382", "A-1029")
    db.dispose()
    Spool(spool_path).append(log_record(answer("数据库断开时问的问题"), ctx))  # waiting for the database


def tables(url: str) -> dict[str, list[tuple]]:
    """Every table's rows in primary-key order (Alembic's bookkeeping included)."""
    engine = create_engine(url)
    meta = MetaData()
    with engine.connect() as conn:
        meta.reflect(conn)
        out = {t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
               for t in meta.sorted_tables}
    engine.dispose()
    return out


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def knowledge(mini_kb: Path) -> Path:
    """The small knowledge tree plus a nested file with a Chinese name and bytes that are not UTF-8."""
    (mini_kb / "reports" / "赤峰").mkdir(parents=True)
    (mini_kb / "reports" / "赤峰" / "座谈记录.txt").write_bytes("帮教座谈\r\n".encode("gbk") + bytes(range(256)))
    return mini_kb


@pytest.fixture
def source(tmp_path: Path, knowledge: Path) -> dict:
    data = tmp_path / "src-data"
    url = f"sqlite:///{data / 'bangjiao.db'}"
    fill(url, knowledge, data / "spool" / "questions.jsonl")
    return {"url": url, "knowledge": knowledge, "spool": data / "spool" / "questions.jsonl"}


def backup_of(src: dict, out: Path):
    return create_backup(src["url"], src["knowledge"], src["spool"], out)


def assert_same(src: dict, url: str, knowledge: Path, spool: Path) -> None:
    before, after = tables(src["url"]), tables(url)
    assert list(before) == list(after)
    for name in before:
        assert after[name] == before[name], name
    assert tree(knowledge) == tree(src["knowledge"])
    assert spool.read_bytes() == src["spool"].read_bytes()


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_round_trip_into_a_fresh_directory_is_identical(dialect: str, tmp_path: Path, knowledge: Path, request):
    if dialect == "sqlite":
        src = {"url": f"sqlite:///{tmp_path / 'src' / 'bangjiao.db'}"}
        dst_url = f"sqlite:///{tmp_path / 'fresh' / 'data' / 'bangjiao.db'}"
    else:
        make = request.getfixturevalue("pg_schemas")
        src, dst_url = {"url": make("src")}, make("dst")
    src |= {"knowledge": knowledge, "spool": tmp_path / "src" / "spool" / "questions.jsonl"}
    fill(src["url"], knowledge, src["spool"])
    manifest = backup_of(src, tmp_path / "b.tar.gz")

    counts = manifest.rows
    assert set(Base.metadata.tables) <= set(counts)  # every model table, whoever added it
    assert all(counts[n] > 0 for n in ("questions", "followups", "followup_events", "inmate_links", "faq_entries",
                                        "kiosks", "kiosk_sessions"))
    assert manifest.dialect == dialect and manifest.spool

    fresh_knowledge, fresh_spool = tmp_path / "fresh" / "knowledge", tmp_path / "fresh" / "data" / "spool" / "q.jsonl"
    result = restore_backup(tmp_path / "b.tar.gz", dst_url, fresh_knowledge, fresh_spool)
    assert result.safety_backup is None and result.manifest.rows == counts
    assert_same(src, dst_url, fresh_knowledge, fresh_spool)

    # the restored database keeps working: new rows get new ids (PostgreSQL sequences were reset)
    db = Database(dst_url)
    before_max = max(r[0] for r in tables(dst_url)["questions"])
    new = QuestionLog(db, Spool(fresh_spool)).record(answer("刑满释放后怎么办身份证"), AskContext(prison="雁北监狱"))
    assert new.question_id > before_max and new.followup_id is not None
    with db.session() as s:  # the spooled record was replayed exactly once on that write
        assert s.scalar(select(Question).where(Question.text.contains("数据库断开时"))) is not None
    db.dispose()


def test_archive_layout_and_manifest(source: dict, tmp_path: Path):
    manifest = backup_of(source, tmp_path / "b.tar.gz")
    with tarfile.open(tmp_path / "b.tar.gz") as tar:
        names = tar.getnames()
        data = json.loads(tar.extractfile("manifest.json").read())
    assert names[0] == "manifest.json"
    assert set(names[1:]) == set(manifest.files)
    assert "knowledge/reports/赤峰/座谈记录.txt" in names and "spool/questions.jsonl" in names
    assert not any(n.startswith(("index", "models")) or "bangjiao.db" in n for n in names)
    assert data["alembic_revision"] == manifest.revision and len(data["not_included"]) == 2
    assert "bangjiao" not in json.dumps(data["dialect"])  # no URL (and so no password) in the manifest
    with tarfile.open(tmp_path / "b.tar.gz") as tar:
        lines = tar.extractfile("db/questions.jsonl").read().decode().splitlines()
    first = json.loads(lines[0])
    assert len(lines) == manifest.rows["questions"] and isinstance(first["sources"], list)
    assert datetime.fromisoformat(first["asked_at"])


def test_backup_refuses_to_overwrite_an_existing_file(source: dict, tmp_path: Path):
    out = tmp_path / "b.tar.gz"
    out.write_bytes(b"keep me")
    with pytest.raises(BackupError, match="不会覆盖"):
        backup_of(source, out)
    assert out.read_bytes() == b"keep me"


def test_value_encoding_round_trips():
    from sqlalchemy import JSON, DateTime, LargeBinary, Numeric, String

    aware = datetime(2026, 11, 22, 13, 5, tzinfo=UTC)
    assert encode_value(aware) == "2026-11-22T13:05:00+00:00"
    assert decode_value(encode_value(aware), DateTime(timezone=True)) == aware
    naive = datetime(2026, 11, 22, 13, 5, 1, 250)
    assert decode_value(encode_value(naive), DateTime()) == naive
    assert decode_value("2026-11-22T13:05:00", DateTime(timezone=True)) == aware  # SQLite stores UTC, naive
    assert decode_value(encode_value(b"\x00\xff"), LargeBinary()) == b"\x00\xff"
    assert decode_value(encode_value(Decimal("1.10")), Numeric()) == Decimal("1.10")
    assert decode_value(["a", {"b": 1}], JSON()) == ["a", {"b": 1}]
    assert decode_value("2026-11-22", String()) == "2026-11-22"


def test_archive_of_an_older_schema_is_restored_then_upgraded(tmp_path: Path, knowledge: Path):
    """Backed up before a program update: the rows go in at their own revision, then the schema is upgraded."""
    from alembic import command
    from alembic.script import ScriptDirectory

    from assistant.storage.db import alembic_config

    url = f"sqlite:///{tmp_path / 'old' / 'bangjiao.db'}"
    (tmp_path / "old").mkdir()
    command.upgrade(alembic_config(url), "0001")
    engine = create_engine(url)
    meta = MetaData()
    when = datetime(2026, 3, 1, 8, 30)
    with engine.begin() as conn:  # rows as the program of that revision wrote them (no `items` column yet)
        meta.reflect(conn)
        conn.execute(meta.tables["followups"].insert(), [
            {"id": 1, "region_code": "431382", "prison": "雁北监狱", "topic": None, "text": "我的减刑什么时候批",
             "reason": "flagged", "state": "open", "group_id": None, "answer": None, "created_at": when,
             "updated_at": when}])
        conn.execute(meta.tables["questions"].insert(), [
            {"id": 7, "client_id": str(uuid.uuid4()), "asked_at": when, "prison": "雁北监狱", "kiosk": "k1",
             "region_code": "431382", "topic": None, "text": "我的减刑什么时候批", "status": "flagged",
             "alert": None, "answer": "", "sources": [], "unresolved": False, "followup_id": 1}])
    engine.dispose()
    src = {"url": url, "knowledge": knowledge, "spool": tmp_path / "old" / "spool.jsonl"}
    assert backup_of(src, tmp_path / "b.tar.gz").revision == "0001"

    new_url = f"sqlite:///{tmp_path / 'new' / 'bangjiao.db'}"
    restore_backup(tmp_path / "b.tar.gz", new_url, tmp_path / "new" / "knowledge", None)
    before, after = tables(url), tables(new_url)
    head = ScriptDirectory.from_config(alembic_config(new_url)).get_current_head()
    assert after.pop("alembic_version") == [(head,)] and before.pop("alembic_version") == [("0001",)]
    assert after["followups"] == before["followups"]
    # the later columns at their defaults: `items`, `kiosk_id`, `resolved`, `offered`, `chosen`
    assert after["questions"] == [(*before["questions"][0], [], None, None, None, None)]
    db = Database(new_url)  # and the upgraded database takes new questions
    assert QuestionLog(db, Spool(tmp_path / "sp")).record(answer("低保"), AskContext()).question_id == 8
    db.dispose()
    assert set(Base.metadata.tables) <= set(after)


# ---------------------------------------------------------------- damaged archives


def _members(path: Path) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(path) as tar:
        return [(m, tar.extractfile(m).read()) for m in tar.getmembers()]


def _write(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def damage(path: Path, how: str) -> None:
    raw = path.read_bytes()
    if how == "truncated":
        path.write_bytes(raw[: len(raw) * 2 // 3])
    elif how == "byte flipped":
        middle = len(raw) // 2
        path.write_bytes(raw[:middle] + bytes([raw[middle] ^ 0x55]) + raw[middle + 1:])
    elif how == "row edited":  # a well-formed archive whose data no longer matches its checksum
        members = _members(path)
        _write(path, [(m, d.replace("护林员".encode(), "伐木工".encode()) if m.name == "db/followups.jsonl" else d)
                      for m, d in members])
    elif how == "member missing":
        _write(path, [(m, d) for m, d in _members(path) if m.name != "db/kiosks.jsonl"])
    elif how == "path escapes":
        members = _members(path)
        evil = tarfile.TarInfo("knowledge/../../evil.txt")
        _write(path, [*members, (evil, b"x")])
    elif how == "not gzip":
        path.write_bytes(b"PK\x03\x04 this is a zip, not a backup")
    elif how == "newer schema":
        members = _members(path)
        fixed = []
        for m, d in members:
            if m.name == "manifest.json":
                d = json.dumps({**json.loads(d), "alembic_revision": "9999"}).encode()
            fixed.append((m, d))
        _write(path, fixed)


DAMAGE = ["truncated", "byte flipped", "row edited", "member missing", "path escapes", "not gzip", "newer schema"]


@pytest.mark.parametrize("how", DAMAGE)
def test_damaged_archive_is_rejected_and_nothing_is_written(how: str, source: dict, tmp_path: Path):
    archive = tmp_path / "b.tar.gz"
    backup_of(source, archive)
    damage(archive, how)
    fresh = tmp_path / "fresh"
    with pytest.raises(BackupError) as err:
        restore_backup(archive, f"sqlite:///{fresh / 'data' / 'bangjiao.db'}", fresh / "knowledge",
                       fresh / "data" / "spool" / "questions.jsonl", force=True, safety_dir=fresh / "backups")
    message = str(err.value)
    assert any(word in message for word in ("损坏", "不完整", "不安全", "不是帮教问答的备份", "比本程序新")), message
    assert not fresh.exists()
    assert not (tmp_path.parent / "evil.txt").exists()


def test_damaged_archive_leaves_an_occupied_target_untouched_even_with_force(source: dict, tmp_path: Path,
                                                                            knowledge: Path):
    archive = tmp_path / "b.tar.gz"
    backup_of(source, archive)
    damage(archive, "row edited")
    other = tmp_path / "other"
    other_knowledge = other / "knowledge"
    shutil.copytree(knowledge, other_knowledge)
    other_url = f"sqlite:///{other / 'bangjiao.db'}"
    fill(other_url, other_knowledge, other / "spool.jsonl")
    rows, files = tables(other_url), tree(other_knowledge)
    with pytest.raises(BackupError, match="校验和不符"):
        restore_backup(archive, other_url, other_knowledge, other / "spool.jsonl", force=True,
                       safety_dir=other / "backups")
    assert tables(other_url) == rows and tree(other_knowledge) == files
    assert not (other / "backups").exists()


# ---------------------------------------------------------------- occupied targets


def test_restore_refuses_a_target_with_data_and_force_keeps_a_safety_copy(source: dict, tmp_path: Path):
    archive = tmp_path / "b.tar.gz"
    backup_of(source, archive)
    target = tmp_path / "target"
    url, know, spool = f"sqlite:///{target / 'bangjiao.db'}", target / "knowledge", target / "spool.jsonl"
    know.mkdir(parents=True)
    (know / "本地笔记.md").write_text("不要丢", encoding="utf-8")
    db = Database(url)
    QuestionLog(db, Spool(spool)).record(answer("别的监狱的问题", "answered"), AskContext(prison="赤峰监狱"))
    db.dispose()
    rows = tables(url)

    with pytest.raises(BackupError, match="--force") as err:
        restore_backup(archive, url, know, spool, safety_dir=target / "backups")
    assert "数据库" in str(err.value) and "知识库目录" in str(err.value)
    assert tables(url) == rows and tree(know) == {"本地笔记.md": "不要丢".encode()}

    result = restore_backup(archive, url, know, spool, force=True, safety_dir=target / "backups")
    assert_same(source, url, know, spool)
    safety = result.safety_backup
    assert safety is not None and safety.parent == target / "backups"

    # the safety copy holds exactly what was replaced
    back = tmp_path / "back"
    restore_backup(safety, f"sqlite:///{back / 'bangjiao.db'}", back / "knowledge", back / "spool.jsonl")
    assert tables(f"sqlite:///{back / 'bangjiao.db'}") == rows
    assert tree(back / "knowledge") == {"本地笔记.md": "不要丢".encode()}


def test_an_empty_schema_or_empty_folder_is_not_data(source: dict, tmp_path: Path):
    archive = tmp_path / "b.tar.gz"
    backup_of(source, archive)
    target = tmp_path / "target"
    url = f"sqlite:///{target / 'bangjiao.db'}"
    Database(url).dispose()  # `assistant db upgrade` on a new installation: tables, no rows
    (target / "knowledge").mkdir()
    restore_backup(archive, url, target / "knowledge", target / "spool.jsonl")
    assert_same(source, url, target / "knowledge", target / "spool.jsonl")


# ---------------------------------------------------------------- command line


@pytest.fixture
def cli_env(source: dict, monkeypatch) -> dict:
    from assistant.core.config import get_settings

    data = Path(source["url"].removeprefix("sqlite:///")).parent
    monkeypatch.delenv("BANGJIAO_DATABASE_URL", raising=False)
    monkeypatch.setenv("BANGJIAO_DATA_DIR", str(data))
    monkeypatch.setenv("BANGJIAO_KNOWLEDGE_DIR", str(source["knowledge"]))
    get_settings.cache_clear()
    yield source
    get_settings.cache_clear()


def test_cli_backup_create_and_restore(cli_env: dict, tmp_path: Path):
    runner = CliRunner()
    out = tmp_path / "备份" / "b.tar.gz"
    result = runner.invoke(app, ["backup", "create", str(out)])
    assert result.exit_code == 0, result.output
    assert "已备份" in result.output and "未包含：检索索引" in result.output

    fresh = tmp_path / "fresh"
    args = ["backup", "restore", str(out), "--data-dir", str(fresh / "data"), "--knowledge-dir", str(fresh / "k")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "已恢复" in result.output and "重建" in result.output
    assert_same(cli_env, f"sqlite:///{fresh / 'data' / 'bangjiao.db'}", fresh / "k",
                fresh / "data" / "spool" / "questions.jsonl")

    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "--force" in again.output and "未写入任何内容" in again.output
    forced = runner.invoke(app, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert "原有数据已另存" in forced.output and len(list((fresh / "data" / "backups").glob("*.tar.gz"))) == 1

    assert runner.invoke(app, ["backup", "create", str(out)]).exit_code == 2  # never overwrites an archive
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(gzip.compress(b"not a tar"))
    result = runner.invoke(app, ["backup", "restore", str(broken), "--data-dir", str(tmp_path / "x")])
    assert result.exit_code == 2 and "恢复失败" in result.output and not (tmp_path / "x").exists()
    assert "Not included" in runner.invoke(app, ["backup", "--help"]).output
