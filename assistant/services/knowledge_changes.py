"""The knowledge generation: every change of what the kiosks answer from the database (an FAQ entry approved,
edited, withdrawn or merged; a bureau's contact details; a referral rule) is one `knowledge_changes` row, written
in the transaction of the change. Each service node applies the rows above the generation it has, so a change
made through one node (or the CLI) reaches every node; on PostgreSQL the row is announced with NOTIFY on commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from assistant.storage.models import KnowledgeChange

FAQ, CONTACT, REFERRAL = "faq", "contact", "referral"
CHANNEL = "bangjiao_knowledge"  # PostgreSQL NOTIFY channel
_LOCK_KEY = 0x62_6A_6B_63  # advisory lock: generations commit in the order of their numbers


@dataclass(frozen=True)
class Change:
    generation: int
    kind: str
    region_code: str


def record_change(s: Session, kind: str, region_code: str = "") -> None:
    """One change in the caller's transaction. On PostgreSQL a transaction-level advisory lock is taken first, so
    no change commits after a higher-numbered one (a node that has seen generation N never misses a lower one),
    and NOTIFY wakes the other nodes when the transaction commits."""
    if kind not in (FAQ, CONTACT, REFERRAL):
        raise ValueError(f"unknown change kind: {kind}")
    postgres = s.get_bind().dialect.name == "postgresql"
    if postgres:
        s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    row = KnowledgeChange(kind=kind, region_code=region_code or "")
    s.add(row)
    s.flush()
    if postgres:
        s.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": str(row.id)})


def generation(s: Session) -> int:
    """The newest knowledge generation (0 before any change)."""
    return s.scalar(select(func.coalesce(func.max(KnowledgeChange.id), 0))) or 0


def changes_since(s: Session, after: int, limit: int = 1000) -> list[Change]:
    """The changes above generation `after`, oldest first."""
    rows = s.scalars(select(KnowledgeChange).where(KnowledgeChange.id > after)
                     .order_by(KnowledgeChange.id).limit(limit))
    return [Change(r.id, r.kind, r.region_code) for r in rows]


def pending_work(changes: list[Change]) -> tuple[set[str], set[str], bool]:
    """What a batch of changes asks a node to refresh (pure): FAQ partitions by county, contacts by county, and
    whether the referral rules must be reloaded. Several changes of one county make one refresh."""
    faq = {c.region_code for c in changes if c.kind == FAQ}
    contacts = {c.region_code for c in changes if c.kind == CONTACT}
    return faq, contacts, any(c.kind == REFERRAL for c in changes)
