"""Log every question (redacted) and route flagged ones to the home-county bureau as follow-ups."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from assistant.answering.models import FLAGGED, Answer
from assistant.privacy.redact import redact
from assistant.services.errors import InvalidError, NotFoundError
from assistant.services.followups import open_followup
from assistant.services.periods import within
from assistant.services.search_filter import matches
from assistant.storage.db import Database
from assistant.storage.models import InmateLink, Question, QuestionInmateLink
from assistant.storage.spool import Spool

log = logging.getLogger(__name__)

# Shown to the asker when a record could be stored neither in the database nor in the spool.
NOT_STORED = ("【提醒】系统这次没能保存你的问题（存储空间已满或数据库出了故障），司法局暂时收不到。"
              "需要司法局答复的，请告诉值班民警。")
UNRESOLVED = "unresolved"  # spool record kind: the "没解决" button (questions have no kind)


@dataclass(frozen=True)
class AskContext:
    """Where a question was asked. `inmate_number` is entered by the supervising officer, optionally."""

    prison: str = ""
    kiosk: str = ""  # the kiosk's name, for display
    inmate_number: str | None = None
    kiosk_id: int | None = None  # what identifies the kiosk (names need not be unique)


@dataclass(frozen=True)
class LogResult:
    question_id: int | None
    followup_id: int | None
    spooled: bool
    notice: str | None = None  # for the asker when the record could not be stored at all


def request_client_id(kiosk_id: int | None, request_id: str) -> str:
    """The log record id of a kiosk's request id (pure): the same for a retry of the same question, different for
    every kiosk (one kiosk cannot reach another's record with a guessed id)."""
    return str(uuid.uuid5(REQUEST_NAMESPACE, f"{kiosk_id}:{request_id}"))


REQUEST_NAMESPACE = uuid.UUID("5f0c1c39-3d0e-4b6e-9a51-6b6a69616f71")


def log_record(answer: Answer, ctx: AskContext, keep: frozenset[str] = frozenset(),
               client_id: str | None = None) -> dict:
    """The row to store for `answer`: redacted text, decision, sources shown; no personal data.

    An answer from the answerer carries its question redacted already (`redacted_question`, the one redaction of
    the request) and a `resolved_question` built from that: both are stored as they are. Any other answer (built
    by hand, or of a question too long to be redacted whole there) is redacted here."""
    if answer.redacted_question is not None:
        text, resolved = answer.redacted_question, answer.resolved_question or None
    else:
        text = redact(answer.question, keep)
        resolved = redact(answer.resolved_question, keep) if answer.resolved_question else None
    return {
        "client_id": client_id or str(uuid.uuid4()), "asked_at": datetime.now(UTC).isoformat(),
        "prison": ctx.prison, "kiosk": ctx.kiosk, "region_code": answer.region_code, "topic": answer.topic,
        "text": text, "status": answer.status, "alert": answer.alert,
        "answer": answer.answer, "sources": [asdict(s) for s in answer.sources],
        "items": [i for p in answer.parts for i in p.item_ids],
        "inmate_number": ctx.inmate_number, "kiosk_id": ctx.kiosk_id,
        "resolved": resolved,
        "offered": [s.id for s in answer.suggestions],
    }


class QuestionLog:
    """Writes log records to the database, or to the spool when the database fails (then replays).

    `db` may be a Database or a callable that opens one, so that a database that cannot even be
    opened at start-up does not stop the kiosk from answering.
    """

    def __init__(self, db: Database | Callable[[], Database], spool: Spool, keep: frozenset[str] = frozenset(),
                 background_replay: bool = False):
        self._db = db
        self.spool = spool
        self.keep = keep  # place names that are never redacted as person names
        self.unsaved = 0  # records lost because neither the database nor the spool could take them
        # The server replays the spool after a healthy write in a thread of its own, off the asker's response (the
        # spooled records stay in the spool, fsync'ed, until they are written; a replay cut short is redone).
        self.background_replay = background_replay
        self._replayer: threading.Thread | None = None
        self._replayer_lock = threading.Lock()

    @property
    def db(self) -> Database:
        if not isinstance(self._db, Database):
            self._db = self._db()
        return self._db

    def write(self, record: dict) -> tuple[int | None, int | None]:
        """Insert one record (idempotent on client_id); open a follow-up when it was flagged."""
        if record.get("kind") == UNRESOLVED:
            try:
                return record["question_id"], self._unresolved(record)
            except NotFoundError:  # nothing to replay: never a question of this kiosk
                log.warning("暂存的“没解决”请求对应的问题不存在，已丢弃 (spooled feedback for unknown question "
                            "%s dropped)", record["question_id"])
                return None, None
        with self.db.session() as s:
            existing = s.scalar(select(Question).where(Question.client_id == record["client_id"]))
            if existing is not None:
                return existing.id, existing.followup_id
            q = Question(
                client_id=record["client_id"], asked_at=datetime.fromisoformat(record["asked_at"]),
                prison=record["prison"], kiosk=record["kiosk"], kiosk_id=record.get("kiosk_id"),
                region_code=record["region_code"],
                topic=record["topic"], text=record["text"], status=record["status"], alert=record["alert"],
                answer=record["answer"], sources=record["sources"], items=record.get("items", []),
                resolved=record.get("resolved"), offered=record.get("offered") or None,
            )
            s.add(q)
            s.flush()
            if record.get("inmate_number"):  # prison-side, for handing a later correction to the asker
                s.add(QuestionInmateLink(question_id=q.id, prison=q.prison,
                                         inmate_number=record["inmate_number"].strip()[:40]))
            if record["status"] == FLAGGED or record["alert"]:
                reason = "crisis" if record["alert"] else "flagged"
                fu = open_followup(s, q, reason, record.get("inmate_number"), actor=record["kiosk"] or "kiosk")
                q.followup_id = fu.id
            return q.id, q.followup_id

    def record(self, answer: Answer, ctx: AskContext, client_id: str | None = None) -> LogResult:
        """Log `answer`; never raises for a storage failure: the record is spooled instead, and if even that
        fails the result carries a notice for the asker (and the loss is logged as critical). A `client_id`
        already logged (a retried request) returns that record's ids and stores nothing."""
        rec = log_record(answer, ctx, self.keep, client_id)
        try:
            try:
                qid, fid = self.write(rec)
            except IntegrityError:  # the same retried request was written meanwhile (another node): take that row
                qid, fid = self.write(rec)
        except (SQLAlchemyError, OSError) as exc:
            return self._spool(rec, exc)
        if self.background_replay:
            self.replay_soon()
        else:
            self.replay()
        return LogResult(qid, fid, False)

    def replay_soon(self) -> threading.Thread | None:
        """Replay the spool in a background thread when it holds anything (one such thread at a time); returns
        the thread started, if one was. Checking costs one stat() of the spool file."""
        if not self.spool.has_pending():
            return None
        with self._replayer_lock:
            if self._replayer is not None and self._replayer.is_alive():
                return None
            self._replayer = threading.Thread(target=self.replay, name="spool-replay", daemon=True)
            self._replayer.start()
            return self._replayer

    def settle(self, timeout: float = 30) -> None:
        """Wait for a background replay to finish (tests, shutdown)."""
        with self._replayer_lock:
            thread = self._replayer
        if thread is not None:
            thread.join(timeout)

    def _spool(self, rec: dict, exc: Exception) -> LogResult:
        """Keep a record the database refused in the spool; if that fails too, say so loudly and carry on."""
        log.error("数据库写入失败，问题已暂存到本地文件 (database write failed, spooled): %s", exc)
        try:
            self.spool.append(rec)
        except OSError as spool_exc:
            self.unsaved += 1
            log.critical("问题记录丢失：数据库和暂存文件 %s 都无法写入 (question NOT stored: database failed with "
                         "%s; spool failed with %s); 累计 %d 条", self.spool.path, exc, spool_exc, self.unsaved)
            return LogResult(None, None, False, NOT_STORED)
        return LogResult(None, None, True)

    def replay(self) -> int:
        """Write spooled records to the database; returns how many were written. Never raises."""
        try:
            written = self.spool.replay(self.write)
        except OSError as exc:  # e.g. the disk is full: the spool stays as it was, replayed next time
            log.error("暂存文件无法重写，稍后重试 (spool replay failed, kept for later): %s", exc)
            return 0
        if written:
            log.info("暂存的 %d 条提问记录已写入数据库 (spool replayed: %d records)", written, written)
        return written

    def unresolved(self, question_id: int, kiosk_id: int | None, kiosk: str, prison: str,
                   inmate_number: str | None = None) -> LogResult:
        """The asker at kiosk `kiosk_id` pressed "没解决": make sure the question has a follow-up (NotFoundError
        for a question of another kiosk), linked to the session's inmate number so the prison can hand the reply
        over. If the database fails the request is spooled and applied on replay."""
        rec = {"kind": UNRESOLVED, "client_id": str(uuid.uuid4()), "question_id": question_id, "kiosk": kiosk,
               "kiosk_id": kiosk_id, "prison": prison, "inmate_number": inmate_number}
        try:
            return LogResult(question_id, self._unresolved(rec), False)
        except (SQLAlchemyError, OSError) as exc:
            return self._spool(rec, exc)

    def _unresolved(self, rec: dict) -> int:
        return self.mark_unresolved(rec["question_id"], rec["kiosk"] or "kiosk", owner=rec.get("kiosk_id", -1),
                                    inmate_number=rec.get("inmate_number"))

    def mark_unresolved(self, question_id: int, actor: str = "kiosk", owner: int | None = None,
                        inmate_number: str | None = None) -> int:
        """The asker pressed "没解决": flag the question and make sure it has a follow-up (with the inmate link when
        the officer entered a number). Returns its id.

        `owner` (a kiosk id): only a question asked at that kiosk is found."""
        with self.db.session() as s:
            q = s.get(Question, question_id)
            if q is None or (owner is not None and q.kiosk_id != owner):
                raise NotFoundError(f"{'本终端' if owner else ''}没有编号为 {question_id} 的问题")
            q.unresolved = True
            if q.followup_id is None:
                q.followup_id = open_followup(s, q, "unresolved", inmate_number, actor).id
            return q.followup_id

    def choose(self, question_id: int, faq_id: str, owner: int) -> None:
        """The asker took one of the offered choices ("你是想问……？"): record which (the bureau sees the
        asker's wording beside the chosen entry). `owner` (a kiosk id): only a question asked there."""
        with self.db.session() as s:
            q = s.get(Question, question_id)
            if q is None or q.kiosk_id != owner:
                raise NotFoundError(f"本终端没有编号为 {question_id} 的问题")
            if faq_id not in (q.offered or []):
                raise InvalidError(f"问题 {question_id} 没有提供这个选项：{faq_id}")
            q.chosen = faq_id


def region_of(s: Session, question_id: int) -> str | None:
    """The home county a logged question was asked for (None if there is no such question)."""
    return s.scalar(select(Question.region_code).where(Question.id == question_id))


@dataclass(frozen=True)
class Alert:
    """A crisis question for the supervising officer, with the inmate number when one was entered."""

    question_id: int
    kiosk: str
    asked_at: datetime
    text: str
    inmate_number: str | None


def crisis_alerts(s: Session, prison: str, since: datetime) -> list[Alert]:
    """The prison's questions with a crisis alert since `since`, newest first."""
    rows = s.execute(select(Question, InmateLink.inmate_number)
                     .outerjoin(InmateLink, InmateLink.followup_id == Question.followup_id)
                     .where(Question.prison == prison, Question.alert.is_not(None), Question.asked_at >= since)
                     .order_by(Question.id.desc()))
    return [Alert(q.id, q.kiosk, q.asked_at, q.text, number) for q, number in rows]


def prison_questions(s: Session, prison: str, since: date | None = None, until: date | None = None,
                     status: str | None = None, text: str | None = None, topic: str | None = None,
                     limit: int = 200) -> list[Question]:
    """Questions asked at `prison`, newest first, filtered by period, status, topic and text (at most `limit`)."""
    query = within(select(Question).where(Question.prison == prison, matches(text, Question.text, Question.kiosk)),
                   Question.asked_at, since, until)
    if topic:
        query = query.where(Question.topic == topic)
    if status:
        query = query.where(Question.status == status)
    return list(s.scalars(query.order_by(Question.asked_at.desc(), Question.id.desc()).limit(limit)))
