"""Edit, withdraw, merge and restore FAQ entries that come from the knowledge files, without touching the files.

The file stays as it is; a row in `faq_overrides` says what applies instead: a new reviewed version of the
answer and wordings (edited), nothing (withdrawn), or nothing with the wordings moved into another entry of the
same region (merged). Only one row of an entry is active; restoring ends it, so the file version is live again,
and every earlier row stays as history. The bureau of the entry's own county may change it; national,
provincial and city entries are the administrator's. `apply_overrides` (pure) gives the knowledge base the
kiosks, sheets and index use; the caller audits and puts the changed entries live (Runtime.publish_faq /
unpublish_faq), the same way as for entries bureaus publish from the database.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from assistant.knowledge.faq import MIN_PARAPHRASES, validate_faq_mapping
from assistant.knowledge.models import FaqEntry, KnowledgeBase
from assistant.services import audit
from assistant.services import faq as db_faq
from assistant.services.errors import ForbiddenError, InvalidError, NotFoundError, StateError
from assistant.services.knowledge_changes import FAQ, record_change
from assistant.services.principal import ADMIN, BUREAU, Principal
from assistant.storage.models import FaqOverride, FaqRecord

EDITED, WITHDRAWN, MERGED = "edited", "withdrawn", "merged"
ACTION_NAMES = {EDITED: "已修改（司法局审核的新版本）", WITHDRAWN: "已撤回", MERGED: "已合并"}
OVERRIDE_PATH = "数据库/修改/"  # path prefix of an edited file entry: the database holds the live version
MAX_ANSWER = 5000
MAX_PARAPHRASES = 60  # wordings of one entry (the files have about 20; a merge adds another entry's)


# ---- pure: what applies -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    """The active change of one file entry, detached from the database session."""

    faq_id: str
    action: str
    answer: str | None
    paraphrases: tuple[str, ...] | None
    merged_into: str | None
    reviewed: date


def edited_entry(entry: FaqEntry, answer: str, paraphrases: tuple[str, ...], reviewed: date) -> FaqEntry:
    """The file entry with the bureau's reviewed answer and wordings, dated the day of the review."""
    return dataclasses.replace(entry, answer=answer, paraphrases=paraphrases, reviewed=reviewed,
                               review_due=reviewed + db_faq.REVIEW_AFTER,
                               path=f"{OVERRIDE_PATH}{entry.path.removeprefix(OVERRIDE_PATH)}")


def apply_overrides(kb: KnowledgeBase, changes: list[Change]) -> KnowledgeBase:
    """The knowledge base with the active changes applied: edited entries replaced, withdrawn and merged ones
    left out (the files are not read again and not changed)."""
    by_id = {c.faq_id: c for c in changes}
    out = []
    for entry in kb.faq:
        change = by_id.get(entry.id)
        if change is None or change.action not in (EDITED, WITHDRAWN, MERGED):
            out.append(entry)
        elif change.action == EDITED:
            out.append(edited_entry(entry, change.answer or entry.answer, change.paraphrases or entry.paraphrases,
                                    change.reviewed))
    return dataclasses.replace(kb, faq=tuple(out))


def live_faq(s: Session, files: KnowledgeBase, region: str | None = None) -> tuple[FaqEntry, ...]:
    """The FAQ entries kiosks answer from (of one county, if `region` is given): the file entries with the
    bureaus' active changes applied, then the entries bureaus published in the database."""
    edited = apply_overrides(files, active_changes(s)).faq
    return (*(f for f in edited if region is None or f.region == region),
            *db_faq.approved_entries(s, files, region))


# ---- scope -------------------------------------------------------------------------------------------------------

def may_change(who: Principal, entry_region: str, level: str) -> bool:
    """The bureau of the entry's own county; the administrator for national, provincial and city entries."""
    if who.role == BUREAU:
        return who.region_code == entry_region
    return who.role == ADMIN and level != "county"


def file_entry(files: KnowledgeBase, faq_id: str, who: Principal) -> FaqEntry:
    """The approved file entry `faq_id`, if `who` may change it."""
    entry = next((f for f in files.approved_faq if f.id == faq_id), None)
    if entry is None:
        raise NotFoundError(f"知识库文件里没有编号为 {faq_id} 的问答")
    level = files.regions[entry.region].level if entry.region in files.regions else "county"
    if not may_change(who, entry.region, level):
        if who.role == ADMIN:
            raise ForbiddenError(f"问答 {faq_id} 是县（区）的问答，由该县司法局修改")
        raise ForbiddenError(f"问答 {faq_id} 不属于本县（区）")
    return entry


# ---- database ----------------------------------------------------------------------------------------------------

def active(s: Session, faq_id: str) -> FaqOverride | None:
    return s.scalar(select(FaqOverride).where(FaqOverride.faq_id == faq_id, FaqOverride.active.is_(True)))


def active_changes(s: Session) -> list[Change]:
    """Every active change, oldest first."""
    rows = s.scalars(select(FaqOverride).where(FaqOverride.active.is_(True)).order_by(FaqOverride.id))
    return [Change(r.faq_id, r.action, r.answer, tuple(r.paraphrases) if r.paraphrases is not None else None,
                   r.merged_into, r.created_at.date()) for r in rows]


def history(s: Session, faq_id: str) -> list[FaqOverride]:
    """Every version of an entry's changes, newest first."""
    return list(s.scalars(select(FaqOverride).where(FaqOverride.faq_id == faq_id)
                          .order_by(FaqOverride.id.desc())))


def _end(row: FaqOverride | None, actor: str) -> None:
    if row is not None:
        row.active, row.ended_by, row.ended_at = False, actor, datetime.now(UTC)
        session = object_session(row)
        if session is not None:
            record_change(session, FAQ, row.region_code)


def _add(s: Session, entry: FaqEntry, action: str, actor: str, note: str = "", **fields) -> FaqOverride:
    _end(active(s, entry.id), actor)
    row = FaqOverride(faq_id=entry.id, region_code=entry.region, action=action, note=note[:2000], active=True,
                      created_by=actor, **fields)
    s.add(row)
    s.flush()
    record_change(s, FAQ, entry.region)  # every service node re-indexes the county's FAQ partition
    return row


def _validated(kb: KnowledgeBase, entry: FaqEntry, answer: str, paraphrases: list[str]) -> FaqEntry:
    """The edited entry checked with the rules of FAQ files (fill-ins, wordings, sources)."""
    answer = answer.strip()
    wordings = list(dict.fromkeys(p.strip() for p in paraphrases if p.strip() and p.strip() != entry.question))
    if not answer:
        raise InvalidError("答复不能为空")
    if len(answer) > MAX_ANSWER:
        raise InvalidError(f"答复最多 {MAX_ANSWER} 个字")
    if len(wordings) > MAX_PARAPHRASES:
        raise InvalidError(f"口语问法最多 {MAX_PARAPHRASES} 种")
    if len(wordings) < MIN_PARAPHRASES:
        raise InvalidError(f"至少要有 {MIN_PARAPHRASES} 种口语问法（现在 {len(wordings)} 种）")
    today = datetime.now(UTC).date()
    mapping = {"id": entry.id, "region": entry.region, "topics": list(entry.topics), "status": "approved",
               "question": entry.question, "paraphrases": wordings, "answer": answer,
               "sources": [{k: v for k, v in dataclasses.asdict(src).items() if v is not None}
                           for src in entry.sources],
               "reviewed": today, "review_due": today + db_faq.REVIEW_AFTER}
    ids = {d.id: d.path for d in kb.documents} | {f.id: f.path for f in kb.faq if f.id != entry.id}
    checked, problems = validate_faq_mapping(mapping, f"{OVERRIDE_PATH}{entry.id}", ids, kb.regions, kb.topics)
    if problems or checked is None:
        raise InvalidError("；".join(f"{p.message}" for p in problems))
    return edited_entry(entry, checked.answer, checked.paraphrases, today)


def _audit(s: Session, who: Principal, action: str, entry: FaqEntry, detail: str = "") -> None:
    """Every change to a file entry is audited in its own transaction, scoped to the entry's region."""
    audit.record(s, who, action, entry.id, detail, scope=entry.region)


def live_entry(kb: KnowledgeBase, faq_id: str) -> FaqEntry | None:
    return next((f for f in kb.approved_faq if f.id == faq_id), None)


def edit(s: Session, files: KnowledgeBase, live: KnowledgeBase, faq_id: str, who: Principal, answer: str,
         paraphrases: list[str], note: str = "") -> FaqEntry:
    """A new reviewed version of a file entry's answer and wordings; returns the entry to put live."""
    entry = file_entry(files, faq_id, who)
    current = active(s, faq_id)
    if current is not None and current.action != EDITED:
        raise StateError(f"问答 {faq_id} 已撤回或合并，请先恢复再修改")
    new = _validated(live, entry, answer, paraphrases)
    _add(s, entry, EDITED, who.username, note, answer=new.answer, paraphrases=list(new.paraphrases))
    _audit(s, who, "faq_file_edited", entry, note.strip() or new.answer[:200])
    return new


def withdraw(s: Session, files: KnowledgeBase, faq_id: str, who: Principal, note: str = "") -> FaqEntry:
    """Take a file entry off the kiosks and sheets; returns the file entry (for its region)."""
    entry = file_entry(files, faq_id, who)
    current = active(s, faq_id)
    if current is not None and current.action in (WITHDRAWN, MERGED):
        raise StateError(f"问答 {faq_id} 已经撤回或合并")
    _add(s, entry, WITHDRAWN, who.username, note)
    _audit(s, who, "faq_file_withdrawn", entry, note.strip())
    return entry


def wording_lines(text: str) -> list[str]:
    """A form's wordings, one a line: stripped, de-duplicated, in order; more than the limit is refused."""
    lines = list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))
    if len(lines) > MAX_PARAPHRASES:
        raise InvalidError(f"口语问法最多 {MAX_PARAPHRASES} 种")
    return lines


def _add_wordings(s: Session, files: KnowledgeBase, live: KnowledgeBase, target_id: str, wordings: list[str],
                  who: Principal, note: str) -> tuple[FaqEntry, list[str]]:
    """Add wordings to the live entry `target_id` (a file entry: a new edited version; a database entry: its
    record). Returns the target's new entry and the wordings actually added."""
    target = live_entry(live, target_id)
    if target is None:
        raise NotFoundError(f"没有正在使用的问答 {target_id}")
    added = [w for w in dict.fromkeys(wordings) if w and w != target.question and w not in target.paraphrases]
    paraphrases = [*target.paraphrases, *added]
    if len(paraphrases) > MAX_PARAPHRASES:  # refused, never cut: a merge must not lose wordings silently
        raise InvalidError(f"合并后“{target.question}”会有 {len(paraphrases)} 种问法，最多 {MAX_PARAPHRASES} 种，"
                           "请先在问答页删去一些")
    if any(f.id == target_id for f in files.approved_faq):
        return edit(s, files, live, target_id, who, target.answer, paraphrases, note), added
    record = db_faq.get_record(s, target_id, who.region_code if who.role == BUREAU else None)
    record.paraphrases = paraphrases
    return db_faq.validate_record(live, record, "approved"), added


def merge(s: Session, files: KnowledgeBase, live: KnowledgeBase, faq_id: str, into: str, who: Principal,
          note: str = "") -> tuple[FaqEntry, FaqEntry]:
    """A near-duplicate file entry: its question and wordings join `into` (an entry of the same region, from a
    file or the database) and it is withdrawn. Returns (this file entry, the target's new entry to put live)."""
    entry = file_entry(files, faq_id, who)
    into = into.strip()
    if into == faq_id:
        raise InvalidError("不能把问答合并到它自己")
    current = active(s, faq_id)
    if current is not None and current.action in (WITHDRAWN, MERGED):
        raise StateError(f"问答 {faq_id} 已经撤回或合并")
    source = live_entry(live, faq_id) or entry
    target = live_entry(live, into)
    if target is None:
        raise NotFoundError(f"没有正在使用的问答 {into}")
    if target.region != entry.region:
        raise InvalidError("只能合并同一地区的问答")
    new_target, added = _add_wordings(s, files, live, into, [source.question, *source.paraphrases], who,
                                      f"合并自 {faq_id}")
    _add(s, entry, MERGED, who.username, note, merged_into=into, moved=added)
    _audit(s, who, "faq_file_merged", entry, f"并入 {new_target.id} {note.strip()}".strip())
    return entry, new_target


def restore(s: Session, files: KnowledgeBase, live: KnowledgeBase, faq_id: str, who: Principal
            ) -> tuple[FaqEntry, FaqEntry | None]:
    """End the active change: the file version is live again. A merged entry's wordings leave the entry they
    were moved into. Returns (the file entry, the merge target's new entry or None)."""
    entry = file_entry(files, faq_id, who)
    current = active(s, faq_id)
    if current is None:
        raise StateError(f"问答 {faq_id} 没有修改，用的就是知识库文件里的版本")
    target_entry = None
    if current.action == MERGED and current.merged_into:
        target_entry = _remove_wordings(s, files, live, current.merged_into, current.moved or [], who)
    _end(current, who.username)
    _audit(s, who, "faq_file_restored", entry)
    return entry, target_entry


def _remove_wordings(s: Session, files: KnowledgeBase, live: KnowledgeBase, target_id: str, moved: list[str],
                     who: Principal) -> FaqEntry | None:
    target = live_entry(live, target_id)
    if target is None or not moved:
        return None
    kept = [p for p in target.paraphrases if p not in set(moved)]
    original = next((f for f in files.approved_faq if f.id == target_id), None)
    if original is not None:
        row = active(s, target_id)
        if row is not None and row.action == EDITED and kept == list(original.paraphrases) \
                and row.answer == original.answer:
            _end(row, who.username)  # the edit only held the moved wordings: back to the file version
            return original
        return edit(s, files, live, target_id, who, target.answer, kept, f"撤销合并的问法（{target_id}）")
    record = s.get(FaqRecord, target_id)
    if record is None:
        return None
    record.paraphrases = kept
    return db_faq.validate_record(live, record, "approved")


@dataclass(frozen=True)
class Row:
    """A file entry as the FAQ page lists it: what applies now and who changed it last."""

    entry: FaqEntry
    action: str | None  # None: the file version is live
    by: str | None
    at: datetime | None
    merged_into: str | None


def entries_for(s: Session, files: KnowledgeBase, who: Principal) -> list[Row]:
    """The file entries `who` may change, with their active change."""
    rows = []
    for entry in files.approved_faq:
        level = files.regions[entry.region].level if entry.region in files.regions else "county"
        if not may_change(who, entry.region, level):
            continue
        current = active(s, entry.id)
        rows.append(Row(entry, current.action if current else None, current.created_by if current else None,
                        current.created_at if current else None, current.merged_into if current else None))
    return rows
