"""Logging: `assistant serve` puts the service's own messages (index rebuilt or corrupt, spool replayed) on the
console beside uvicorn's; Python's default would drop their INFO lines."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.answering.models import Answer
from assistant.api.server import configure_logging, logging_config
from assistant.core.config import Settings
from assistant.runtime import Runtime
from assistant.services.questions import AskContext, QuestionLog, log_record
from assistant.storage.db import Database
from assistant.storage.spool import Spool


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Put every logger `configure_logging` touches back as it was (other tests rely on propagation)."""
    names = list(logging_config()["loggers"])
    saved = {n: (lg.handlers[:], lg.level, lg.propagate, lg.disabled)
             for n in names if (lg := logging.getLogger(n))}
    yield
    for name, (handlers, level, propagate, disabled) in saved.items():
        lg = logging.getLogger(name)
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate, lg.disabled = propagate, disabled


def test_serve_logging_shows_the_runtime_progress_on_the_console(tmp_path: Path, restored_logging,
                                                                   capsys: pytest.CaptureFixture[str]):
    configure_logging()
    runtime = Runtime(Settings(data_dir=tmp_path, knowledge_dir=tmp_path), use_database=False)
    runtime.progress("索引损坏，重新构建 (index corrupt): 测试")  # what ensure_index reports, through log.info
    logging.getLogger("assistant.index.store").debug("not shown")
    err = capsys.readouterr().err
    assert "INFO" in err and "assistant.runtime: 索引损坏，重新构建 (index corrupt): 测试" in err
    assert "not shown" not in err


def test_spool_replay_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    spool = Spool(tmp_path / "spool.jsonl")
    qlog = QuestionLog(Database(f"sqlite:///{tmp_path / 'bangjiao.db'}"), spool)
    answer = Answer("出狱后医保怎么办", "涟源市", "answered", "回答", [], None, [], region_code="431382",
                    topic="medical_insurance")
    for _ in range(2):
        spool.append(log_record(answer, AskContext(prison="雁北监狱", kiosk="教育室1号")))
    with caplog.at_level(logging.INFO, logger="assistant"):
        assert qlog.replay() == 2
    assert any(r.levelno == logging.INFO and "spool replayed: 2 records" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="assistant"):
        assert qlog.replay() == 0
    assert not any("spool replayed" in r.getMessage() for r in caplog.records)  # nothing to say
