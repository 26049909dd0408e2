"""Files holding password and PIN hashes, inmate numbers and questions are owner-only (issue 15): the database,
its WAL, the spool, backups and restored copies 0600, the data directory 0700 — also when they existed before."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from helpers import KNOWLEDGE

from assistant.answering.models import Answer
from assistant.backup import create_backup, restore_backup
from assistant.core.config import Settings
from assistant.runtime import Runtime
from assistant.services import kiosks
from assistant.services.questions import AskContext, QuestionLog
from assistant.storage.spool import Spool


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_database_spool_backup_and_restore_are_owner_only(tmp_path: Path):
    old = os.umask(0o022)  # a usual umask: files would be 0644 unless made private
    try:
        data = tmp_path / "data"
        data.mkdir(mode=0o755)
        (data / "bangjiao.db").touch(mode=0o644)  # left by an earlier version
        settings = Settings(data_dir=data, knowledge_dir=KNOWLEDGE)
        runtime = Runtime(settings)
        with runtime.database.session() as s:
            kiosks.register(s, "雁北监狱", "教育室1号")
        qlog = QuestionLog(runtime.database, Spool(settings.spool_path))
        answer = Answer("我的减刑什么时候批", "涟源市", "flagged", "回答", [], None, [], region_code="431382")
        qlog.record(answer, AskContext(prison="雁北监狱", kiosk="教育室1号", inmate_number="A-1029"))
        qlog.spool.append({"client_id": "x", "kind": "test"})
        assert mode(data) == 0o700 and mode(settings.spool_path.parent) == 0o700
        for name in ("bangjiao.db", "bangjiao.db-wal", "bangjiao.db-shm"):
            if (data / name).exists():
                assert mode(data / name) == 0o600, name
        assert mode(settings.spool_path) == 0o600
        assert qlog.replay() == 0  # the record is rewritten (it cannot be written), the file stays private
        assert mode(settings.spool_path) == 0o600

        archive = tmp_path / "backups" / "b.tar.gz"
        create_backup(settings.database_url, KNOWLEDGE, settings.spool_path, archive)
        assert mode(archive) == 0o600
        target = tmp_path / "restored"
        restore_backup(archive, f"sqlite:///{target / 'bangjiao.db'}", tmp_path / "knowledge",
                       target / "spool" / "questions.jsonl")
        assert mode(target) == 0o700 and mode(target / "bangjiao.db") == 0o600
        assert mode(target / "spool" / "questions.jsonl") == 0o600
    finally:
        os.umask(old)


def test_a_private_write_replaces_the_file_whole_and_owner_only(tmp_path: Path):
    from assistant.storage.files import write_private

    path = tmp_path / "cache.json"
    path.write_text("old")
    os.chmod(path, 0o644)
    write_private(path, "新的内容".encode())
    assert path.read_text(encoding="utf-8") == "新的内容" and mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["cache.json"]  # no temporary file left
