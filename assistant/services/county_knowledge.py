"""A county's own knowledge (documents and approved FAQ) with review dates, flagging what is overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from assistant.knowledge.models import KnowledgeBase

REVIEW_SOON_DAYS = 30


@dataclass(frozen=True)
class KnowledgeRow:
    kind: str  # 文件 | 问答
    id: str
    title: str
    topics: tuple[str, ...]
    reviewed: date | None
    review_due: date | None
    path: str

    def state(self, today: date) -> str:
        """'overdue', 'soon' (within REVIEW_SOON_DAYS), 'ok', or 'no_date'."""
        if self.review_due is None:
            return "no_date"
        if self.review_due < today:
            return "overdue"
        return "soon" if (self.review_due - today).days <= REVIEW_SOON_DAYS else "ok"


def county_knowledge(kb: KnowledgeBase, region_code: str) -> list[KnowledgeRow]:
    """Documents and approved FAQ entries of exactly this county, overdue-first order is left to the caller."""
    rows = [KnowledgeRow("文件", d.id, d.title, d.topics, d.reviewed, d.review_due, d.path)
            for d in kb.documents if d.region == region_code]
    rows += [KnowledgeRow("问答", f.id, f.question, f.topics, f.reviewed, f.review_due, f.path)
             for f in kb.approved_faq if f.region == region_code]
    return rows


def by_urgency(rows: list[KnowledgeRow], today: date) -> list[KnowledgeRow]:
    order = {"overdue": 0, "soon": 1, "no_date": 2, "ok": 3}
    return sorted(rows, key=lambda r: (order[r.state(today)], r.review_due or date.max, r.kind, r.id))
