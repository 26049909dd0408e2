"""Turn a bureau's answer into a draft FAQ entry for its county; approving it publishes it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.knowledge.faq import MIN_PARAPHRASES, validate_faq_mapping
from assistant.knowledge.models import FaqEntry, KnowledgeBase
from assistant.services import audit
from assistant.services.audit import SYSTEM, Actor, actor_name, scope_of
from assistant.services.errors import ForbiddenError, InvalidError, NotFoundError, StateError
from assistant.services.followups import ANSWERED, DELIVERED, check_region, get_followup, group_members
from assistant.services.knowledge_changes import FAQ, record_change
from assistant.storage.models import FaqRecord


def bureau_source(bureau_name: str, followup_id: int, when: date) -> dict:
    """The citation of a bureau's written answer."""
    return {"title": f"{bureau_name}书面答复（帮教问答跟进第{followup_id}号）", "kind": "local",
            "version": when.isoformat(), "confidence": "verified",
            "note": "由户籍地司法局在帮教问答中答复并审核发布"}


def draft_from_followup(s: Session, kb: KnowledgeBase, followup_id: int, actor: Actor,
                        region_code: str | None = None, question: str | None = None,
                        paraphrases: list[str] | None = None, topics: list[str] | None = None) -> FaqRecord:
    """One step: the answered follow-up (and its group's wordings as paraphrases) becomes a draft entry."""
    fu = get_followup(s, followup_id)
    check_region(fu, region_code)
    if fu.state not in (ANSWERED, DELIVERED) or not fu.answer:
        raise StateError(f"跟进事项 {fu.id} 还没有答复，不能转为问答")
    faq_id = f"faq-bureau-{fu.region_code}-{fu.id}"
    if s.get(FaqRecord, faq_id) is not None:
        raise InvalidError(f"跟进事项 {fu.id} 已经转为问答 {faq_id}")
    wordings = [m.text for m in group_members(s, fu)]
    question = (question or fu.text).strip()
    variants = paraphrases if paraphrases is not None else [w for w in wordings if w != question]
    region = kb.regions[fu.region_code]
    record = FaqRecord(
        id=faq_id, region_code=fu.region_code, topics=topics or ([fu.topic] if fu.topic else []), status="draft",
        question=question, paraphrases=list(dict.fromkeys(v.strip() for v in variants if v.strip())),
        answer=fu.answer, sources=[bureau_source(region.bureau.name or f"{region.name}司法局", fu.id,
                                                 datetime.now(UTC).date())],
        followup_id=fu.id, created_by=actor_name(actor))
    s.add(record)
    s.flush()
    audit.record(s, actor, "faq_drafted", record.id, f"from followup {followup_id}",
                 scope=scope_of(actor, fu.region_code))
    return record


EDITABLE_KINDS = {"law": "法律", "regulation": "行政法规", "rule": "部门规章", "local": "地方性法规/文件",
                  "policy": "政策文件"}
ADDED_NOTE = "司法局审核问答时添加，条文未经系统核对"


def sources_from_form(existing: list[dict], titles: list[str], kinds: list[str], articles: list[str],
                      versions: list[str]) -> list[dict]:
    """Source rows edited on the draft form (pure). A row left as it was keeps all its fields; a new or changed
    row is marked `secondary` with a note, since nobody has checked it against the statute text; rows without a
    title are dropped. Structural checks (article for statutes, version) happen when the draft is approved."""
    if not (len(titles) == len(kinds) == len(articles) == len(versions)):
        raise InvalidError("来源表格不完整，请刷新页面后重试")
    if len(titles) > 20:
        raise InvalidError("来源最多 20 条")
    unchanged = {(s.get("title", ""), s.get("kind", ""), str(s.get("article") or ""), s.get("version") or ""): s
                 for s in existing}
    out = []
    for title, kind, article, version in zip(titles, kinds, articles, versions, strict=True):
        title, article, version = title.strip()[:200], article.strip()[:20], version.strip()[:60]
        if not title:
            continue
        key = (title, kind, article, version)
        if key in unchanged:
            out.append(unchanged[key])
            continue
        if kind not in EDITABLE_KINDS:
            raise InvalidError(f"来源类型应为 {'/'.join(EDITABLE_KINDS.values())}")
        source = {"title": title, "kind": kind, "version": version, "confidence": "secondary", "note": ADDED_NOTE}
        if article:
            source["article"] = article
        out.append(source)
    if not out:
        raise InvalidError("问答至少要有一条来源")
    return out


def update_draft(s: Session, faq_id: str, region_code: str | None = None, *, by: Actor = SYSTEM,
                 **fields) -> FaqRecord:
    """Edit a draft's question, paraphrases, answer, topics or sources (audited)."""
    record = get_record(s, faq_id, region_code)
    if record.status != "draft":
        raise StateError(f"问答 {faq_id} 已发布，不能再修改草稿")
    for key, value in fields.items():
        if key not in {"question", "paraphrases", "answer", "topics", "sources"}:
            raise InvalidError(f"不能修改字段 {key}")
        if value is not None:
            setattr(record, key, value)
    audit.record(s, by, "faq_edited", faq_id, scope=scope_of(by, record.region_code))
    return record


def get_record(s: Session, faq_id: str, region_code: str | None) -> FaqRecord:
    record = s.get(FaqRecord, faq_id)
    if record is None:
        raise NotFoundError(f"没有编号为 {faq_id} 的问答")
    if region_code is not None and record.region_code != region_code:
        raise ForbiddenError(f"问答 {faq_id} 不属于本县（区）")
    return record


REVIEW_AFTER = timedelta(days=365)


def as_mapping(record: FaqRecord, status: str | None = None) -> dict:
    """The record in the FAQ file format; an approved entry is reviewed on approval and due a year later."""
    mapping: dict[str, Any] = {"id": record.id, "region": record.region_code, "topics": list(record.topics),
               "status": status or record.status, "question": record.question,
               "paraphrases": list(record.paraphrases), "answer": record.answer, "sources": list(record.sources)}
    if mapping["status"] == "approved":
        reviewed = (record.approved_at or datetime.now(UTC)).date()
        mapping |= {"reviewed": reviewed, "review_due": reviewed + REVIEW_AFTER}
    return mapping


def validate_record(kb: KnowledgeBase, record: FaqRecord, status: str) -> FaqEntry:
    """Check the record with the same rules as FAQ files; raise InvalidError listing every problem."""
    ids = {d.id: d.path for d in kb.documents} | {f.id: f.path for f in kb.faq if f.id != record.id}
    entry, problems = validate_faq_mapping(as_mapping(record, status), f"数据库/{record.id}", ids, kb.regions,
                                           kb.topics)
    if problems or entry is None:
        raise InvalidError("；".join(f"{p.location} {p.message}" for p in problems))
    return entry


def approve(s: Session, kb: KnowledgeBase, faq_id: str, actor: Actor, region_code: str | None = None) -> FaqEntry:
    """Publish a draft (audited). The caller puts the returned entry into the index (see Runtime.publish_faq)."""
    record = get_record(s, faq_id, region_code)
    if record.status == "approved":
        raise StateError(f"问答 {faq_id} 已经发布")
    if len(record.paraphrases) < MIN_PARAPHRASES:
        raise InvalidError(f"发布前请至少补充 {MIN_PARAPHRASES} 种口语问法（现在 {len(record.paraphrases)} 种）")
    entry = validate_record(kb, record, "approved")  # approving is reviewing: dated today, due in a year
    record.status = "approved"
    record.approved_by = actor_name(actor)
    record.approved_at = datetime.now(UTC)
    audit.record(s, actor, "faq_approved", faq_id, entry.question[:200], scope=scope_of(actor, record.region_code))
    record_change(s, FAQ, record.region_code)  # every service node re-indexes the county's FAQ partition
    return entry


WITHDRAWN = "withdrawn"  # off the kiosks and sheets, kept (with its audit trail) as history


def reopen(s: Session, faq_id: str, region_code: str | None = None, *, by: Actor = SYSTEM) -> FaqRecord:
    """A published entry goes back to draft to be edited; it is off the kiosks until approved again (audited)."""
    record = get_record(s, faq_id, region_code)
    if record.status != "approved":
        raise StateError(f"问答 {faq_id} 不是已发布的问答")
    record.status, record.approved_by, record.approved_at = "draft", None, None
    audit.record(s, by, "faq_reopened", faq_id, scope=scope_of(by, record.region_code))
    record_change(s, FAQ, record.region_code)
    return record


def withdraw(s: Session, faq_id: str, region_code: str | None = None, *, by: Actor = SYSTEM,
             note: str = "") -> FaqRecord:
    """Take a published entry (or a draft) off for good; the record stays as history (audited with `note`)."""
    record = get_record(s, faq_id, region_code)
    if record.status == WITHDRAWN:
        raise StateError(f"问答 {faq_id} 已经撤回")
    if record.status == "approved":
        record_change(s, FAQ, record.region_code)
    record.status = WITHDRAWN
    audit.record(s, by, "faq_withdrawn", faq_id, note.strip(), scope=scope_of(by, record.region_code))
    return record


def merge(s: Session, kb: KnowledgeBase, keep_id: str, other_id: str,
          region_code: str | None = None, *, by: Actor = SYSTEM) -> tuple[FaqRecord, FaqEntry | None]:
    """Near-duplicates become one: `other`'s question and wordings join `keep`'s paraphrases and `other` is
    withdrawn. Returns `keep` and, when it is published, its new entry to put live."""
    keep, other = get_record(s, keep_id, region_code), get_record(s, other_id, region_code)
    if keep_id == other_id:
        raise InvalidError("不能把问答合并到它自己")
    if keep.region_code != other.region_code:
        raise InvalidError("只能合并同一县（区）的问答")
    if WITHDRAWN in (keep.status, other.status):
        raise StateError("已撤回的问答不能合并")
    wordings = [other.question, *other.paraphrases, *keep.paraphrases]
    keep.paraphrases = [w for w in dict.fromkeys(x.strip() for x in wordings) if w and w != keep.question.strip()]
    keep.topics = list(dict.fromkeys([*keep.topics, *other.topics]))
    if "approved" in (keep.status, other.status):
        record_change(s, FAQ, keep.region_code)
    other.status = WITHDRAWN
    entry = validate_record(kb, keep, "approved") if keep.status == "approved" else None
    audit.record(s, by, "faq_merged", other_id, f"并入 {keep_id}", scope=scope_of(by, keep.region_code))
    return keep, entry


def approved_entries(s: Session, kb: KnowledgeBase, region_code: str | None = None) -> list[FaqEntry]:
    """Every approved entry in the database (or of one county), validated (invalid ones are skipped, not
    published)."""
    out = []
    query = select(FaqRecord).where(FaqRecord.status == "approved").order_by(FaqRecord.id)
    if region_code is not None:
        query = query.where(FaqRecord.region_code == region_code)
    for record in s.scalars(query):
        try:
            out.append(validate_record(kb, record, "approved"))
        except InvalidError:
            continue
    return out


def drafts(s: Session, region_code: str | None = None) -> list[FaqRecord]:
    query = select(FaqRecord).where(FaqRecord.status == "draft").order_by(FaqRecord.created_at)
    if region_code:
        query = query.where(FaqRecord.region_code == region_code)
    return list(s.scalars(query))


def records(s: Session, region_code: str, status: str) -> list[FaqRecord]:
    """The county's entries in `status`: published ones newest first, others by id."""
    order = FaqRecord.approved_at.desc() if status == "approved" else FaqRecord.id
    return list(s.scalars(select(FaqRecord).where(FaqRecord.region_code == region_code, FaqRecord.status == status)
                          .order_by(order)))


def mergeable(s: Session, record: FaqRecord) -> list[FaqRecord]:
    """The county's other drafts and published entries `record` may be merged into."""
    return list(s.scalars(select(FaqRecord).where(FaqRecord.region_code == record.region_code,
                                                  FaqRecord.id != record.id,
                                                  FaqRecord.status.in_(("draft", "approved")))
                          .order_by(FaqRecord.id)))


def drafted_from(s: Session, followup_ids: list[int]) -> str | None:
    """The id of the entry drafted from one of these follow-ups (a group's members), if any."""
    return s.scalar(select(FaqRecord.id).where(FaqRecord.followup_id.in_(followup_ids)))
