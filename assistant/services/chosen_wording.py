"""The asker's wording joins the FAQ entry they chose among the kiosk's "你是想问……？" choices (issue 12 item 4).

One step on the review list: the question's (already redacted) text becomes one more paraphrase of the chosen
entry, so the next asker with these words is matched directly. Scope is file_faq's rule for the entry (the
bureau of the entry's own county; the administrator for national, provincial and city entries) and the
question must be of the bureau's county. An entry from the knowledge files gets a new reviewed version through
`file_faq.edit`; a bureau-published database entry is edited and approved again by the same bureau, as saving
and approving it on its page does. Audited in the caller's transaction; the caller puts the returned entry live
(Runtime.publish_faq, which refreshes the entry's index partition).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from assistant.knowledge.models import FaqEntry, KnowledgeBase
from assistant.services import audit, file_faq
from assistant.services import faq as db_faq
from assistant.services.errors import ForbiddenError, InvalidError, NotFoundError, StateError
from assistant.services.review import ReviewRow
from assistant.services.users import BUREAU, Principal
from assistant.storage.models import Question

ADD, PRESENT = "add", "present"  # what the review list offers on a row with a chosen entry
AUDIT_ACTION = "faq_wording_added"


@dataclass(frozen=True)
class WordingAdded:
    question_id: int
    wording: str
    entry: FaqEntry  # the entry's new version, to put live


def _is_file_entry(files: KnowledgeBase, faq_id: str) -> bool:
    return any(f.id == faq_id for f in files.approved_faq)


def in_scope(files: KnowledgeBase, who: Principal, entry: FaqEntry) -> bool:
    """May `who` change `entry` (pure): file_faq's rule; a database entry is its county's (level county)."""
    level = "county"
    if _is_file_entry(files, entry.id) and entry.region in files.regions:
        level = files.regions[entry.region].level
    return file_faq.may_change(who, entry.region, level)


def _question_in_scope(who: Principal, region_code: str | None) -> bool:
    return who.role != BUREAU or region_code == who.region_code


def offers(live: KnowledgeBase, files: KnowledgeBase, who: Principal, rows: list[ReviewRow]) -> dict[int, str]:
    """Question id → ADD (the button) or PRESENT (the wording is already there), for the rows whose chosen entry
    is live and `who` may change (pure)."""
    out: dict[int, str] = {}
    for row in rows:
        entry = file_faq.live_entry(live, row.chosen) if row.chosen else None
        wording = row.text.strip()
        if entry is None or not wording or not in_scope(files, who, entry):
            continue
        out[row.id] = PRESENT if wording == entry.question or wording in entry.paraphrases else ADD
    return out


def add_chosen_wording(s: Session, files: KnowledgeBase, live: KnowledgeBase, who: Principal,
                       question_id: int) -> WordingAdded:
    """Add question `question_id`'s wording to the entry its asker chose; refuse a question of another county, one
    without a chosen entry, an empty wording, an entry out of scope, and a wording the entry already has."""
    q = s.get(Question, question_id)
    if q is None:
        raise NotFoundError(f"没有编号为 {question_id} 的问题")
    if not _question_in_scope(who, q.region_code) or q.alert:
        raise ForbiddenError(f"问题 {question_id} 不属于本县（区）")
    if not q.chosen:
        raise InvalidError(f"问题 {question_id} 的提问人没有在“你是想问”里选过问答，没有可以加入的条目")
    wording = (q.text or "").strip()
    if not wording:
        raise InvalidError(f"问题 {question_id} 没有可以加入的说法（内容为空）")
    entry = file_faq.live_entry(live, q.chosen)
    if entry is None:
        raise NotFoundError(f"提问人选的问答 {q.chosen} 已经撤回或合并，不能再加入说法")
    if not in_scope(files, who, entry):
        raise ForbiddenError(f"问答 {entry.id} 不由本县（区）修改，不能加入说法")
    if wording == entry.question or wording in entry.paraphrases:
        raise StateError(f"“{wording}”已经是问答“{entry.question}”的问法了")
    if len(entry.paraphrases) >= file_faq.MAX_PARAPHRASES:
        raise InvalidError(f"问答“{entry.question}”已有 {file_faq.MAX_PARAPHRASES} 种问法，请先在问答页删去一些")
    note = f"加入提问人的说法（问题 {question_id}）"
    paraphrases = [*entry.paraphrases, wording]
    if _is_file_entry(files, entry.id):
        new = file_faq.edit(s, files, live, entry.id, who, entry.answer, paraphrases, note)
    else:
        new = _edit_and_approve(s, live, entry.id, who, paraphrases)
    audit.record(s, who, AUDIT_ACTION, entry.id, f"{note}：{wording}", scope=entry.region)
    return WordingAdded(question_id, wording, new)


def _edit_and_approve(s: Session, live: KnowledgeBase, faq_id: str, who: Principal,
                      paraphrases: list[str]) -> FaqEntry:
    """A bureau-published entry gets the wording and is approved again by the same bureau (reviewed today)."""
    record = db_faq.get_record(s, faq_id, who.region_code if who.role == BUREAU else None)
    if record.status != "approved":
        raise StateError(f"问答 {faq_id} 不是已发布的问答")
    record.paraphrases = paraphrases
    record.approved_by, record.approved_at = who.username, datetime.now(UTC)
    return db_faq.validate_record(live, record, "approved")
