"""Log every question (redacted) and route flagged ones to the home-county bureau as follow-ups."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from assistant.answering.models import FLAGGED, Answer
from assistant.privacy.redact import redact
from assistant.services.errors import NotFoundError
from assistant.services.followups import open_followup
from assistant.storage.db import Database
from assistant.storage.models import Question
from assistant.storage.spool import Spool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AskContext:
    """Where a question was asked. `inmate_number` is entered by the supervising officer, optionally."""

    prison: str = ""
    kiosk: str = ""
    inmate_number: str | None = None


@dataclass(frozen=True)
class LogResult:
    question_id: int | None
    followup_id: int | None
    spooled: bool


def log_record(answer: Answer, ctx: AskContext, keep: frozenset[str] = frozenset()) -> dict:
    """The row to store for `answer`: redacted text, decision, sources shown; no personal data."""
    return {
        "client_id": str(uuid.uuid4()), "asked_at": datetime.now(UTC).isoformat(),
        "prison": ctx.prison, "kiosk": ctx.kiosk, "region_code": answer.region_code, "topic": answer.topic,
        "text": redact(answer.question, keep), "status": answer.status, "alert": answer.alert,
        "answer": answer.answer, "sources": [asdict(s) for s in answer.sources],
        "items": [i for p in answer.parts for i in p.item_ids],
        "inmate_number": ctx.inmate_number,
    }


class QuestionLog:
    """Writes log records to the database, or to the spool when the database fails (then replays).

    `db` may be a Database or a callable that opens one, so that a database that cannot even be
    opened at start-up does not stop the kiosk from answering.
    """

    def __init__(self, db: Database | Callable[[], Database], spool: Spool, keep: frozenset[str] = frozenset()):
        self._db = db
        self.spool = spool
        self.keep = keep  # place names that are never redacted as person names

    @property
    def db(self) -> Database:
        if not isinstance(self._db, Database):
            self._db = self._db()
        return self._db

    def write(self, record: dict) -> tuple[int, int | None]:
        """Insert one record (idempotent on client_id); open a follow-up when it was flagged."""
        with self.db.session() as s:
            existing = s.scalar(select(Question).where(Question.client_id == record["client_id"]))
            if existing is not None:
                return existing.id, existing.followup_id
            q = Question(
                client_id=record["client_id"], asked_at=datetime.fromisoformat(record["asked_at"]),
                prison=record["prison"], kiosk=record["kiosk"], region_code=record["region_code"],
                topic=record["topic"], text=record["text"], status=record["status"], alert=record["alert"],
                answer=record["answer"], sources=record["sources"], items=record.get("items", []),
            )
            s.add(q)
            s.flush()
            if record["status"] == FLAGGED or record["alert"]:
                reason = "crisis" if record["alert"] else "flagged"
                fu = open_followup(s, q, reason, record.get("inmate_number"), actor=record["kiosk"] or "kiosk")
                q.followup_id = fu.id
            return q.id, q.followup_id

    def record(self, answer: Answer, ctx: AskContext) -> LogResult:
        """Log `answer`; never raises for a storage failure (the record is spooled instead)."""
        rec = log_record(answer, ctx, self.keep)
        try:
            qid, fid = self.write(rec)
        except (SQLAlchemyError, OSError) as exc:
            log.error("数据库写入失败，问题已暂存到本地文件 (database write failed, spooled): %s", exc)
            self.spool.append(rec)
            return LogResult(None, None, True)
        self.replay()
        return LogResult(qid, fid, False)

    def replay(self) -> int:
        """Write spooled records to the database; returns how many were written."""
        if not self.spool.path.exists():
            return 0
        return self.spool.replay(lambda r: self.write(r))

    def mark_unresolved(self, question_id: int, actor: str = "kiosk") -> int:
        """The asker pressed "没解决": flag the question and make sure it has a follow-up. Returns its id."""
        with self.db.session() as s:
            q = s.get(Question, question_id)
            if q is None:
                raise NotFoundError(f"没有编号为 {question_id} 的问题")
            q.unresolved = True
            if q.followup_id is None:
                q.followup_id = open_followup(s, q, "unresolved", None, actor).id
            return q.followup_id
