"""Database tables (SQLAlchemy 2 declarative). Migrations in storage/migrations mirror these."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Question(Base):
    """One question asked at a kiosk (or the CLI), redacted before it was stored."""

    __tablename__ = "questions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36), unique=True)  # idempotent spool replay
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    prison: Mapped[str] = mapped_column(String(100), default="", index=True)
    kiosk: Mapped[str] = mapped_column(String(100), default="")  # the kiosk's name, for display only
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosks.id"), nullable=True, index=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    topic: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    text: Mapped[str] = mapped_column(Text)  # redacted
    status: Mapped[str] = mapped_column(String(20), index=True)
    alert: Mapped[str | None] = mapped_column(String(20), nullable=True)
    answer: Mapped[str] = mapped_column(Text, default="")
    sources: Mapped[list] = mapped_column(JSON, default=list)
    items: Mapped[list] = mapped_column(JSON, default=list)  # FAQ/passage ids the answer came from
    unresolved: Mapped[bool] = mapped_column(Boolean, default=False)
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id"), nullable=True, index=True)
    resolved: Mapped[str | None] = mapped_column(Text, nullable=True)  # redacted; after earlier turns' context
    offered: Mapped[list | None] = mapped_column(JSON, nullable=True)  # FAQ ids offered as choices
    chosen: Mapped[str | None] = mapped_column(String(120), nullable=True)  # the choice the asker took


class FollowUp(Base):
    """A question routed to the asker's home-county bureau. Near-duplicates share a group."""

    __tablename__ = "followups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    prison: Mapped[str] = mapped_column(String(100), default="", index=True)
    topic: Mapped[str | None] = mapped_column(String(40), nullable=True)
    text: Mapped[str] = mapped_column(Text)  # redacted
    reason: Mapped[str] = mapped_column(String(20))  # flagged | unresolved | crisis
    state: Mapped[str] = mapped_column(String(20), default="open", index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id"), nullable=True, index=True)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    events: Mapped[list[FollowUpEvent]] = relationship(back_populates="followup", order_by="FollowUpEvent.id")


class FollowUpEvent(Base):
    """Who changed what and when."""

    __tablename__ = "followup_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    followup_id: Mapped[int] = mapped_column(ForeignKey("followups.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    followup: Mapped[FollowUp] = relationship(back_populates="events")


class InmateLink(Base):
    """Prison-side only: which inmate asked. Kept apart so no bureau query can reach it."""

    __tablename__ = "inmate_links"
    __table_args__ = (UniqueConstraint("followup_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    followup_id: Mapped[int] = mapped_column(ForeignKey("followups.id"))
    prison: Mapped[str] = mapped_column(String(100))
    inmate_number: Mapped[str] = mapped_column(String(40))


class FaqRecord(Base):
    """An FAQ entry made from a bureau's answer: draft until approved, then merged into the index."""

    __tablename__ = "faq_entries"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    topics: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    question: Mapped[str] = mapped_column(Text)
    paraphrases: Mapped[list] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(Text)
    sources: Mapped[list] = mapped_column(JSON, default=list)
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id"), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class FaqOverride(Base):
    """A bureau's (or admin's) change to an FAQ entry that comes from the knowledge files: a reviewed new version
    of its answer and wordings (edited), taken off (withdrawn), or withdrawn with its wordings moved into another
    entry (merged). One row per version; the active one applies; restoring ends it (the file version is live)."""

    __tablename__ = "faq_overrides"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    faq_id: Mapped[str] = mapped_column(String(80), index=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    action: Mapped[str] = mapped_column(String(20))  # edited | withdrawn | merged
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)  # edited: the new answer
    paraphrases: Mapped[list | None] = mapped_column(JSON, nullable=True)  # edited: the new wordings
    merged_into: Mapped[str | None] = mapped_column(String(80), nullable=True)
    moved: Mapped[list | None] = mapped_column(JSON, nullable=True)  # merged: wordings added to `merged_into`
    note: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Kiosk(Base):
    """A registered kiosk device. Its token and the officer PIN are stored only as hashes."""

    __tablename__ = "kiosks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prison: Mapped[str] = mapped_column(String(100), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    pin_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class KioskSession(Base):
    """Opened by the supervising officer for one asker: home county and, optionally, inmate number."""

    __tablename__ = "kiosk_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosks.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(6))
    inmate_number: Mapped[str | None] = mapped_column(String(40), nullable=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_activity: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class User(Base):
    """A portal account: admin, prison staff (bound to a prison) or bureau staff (bound to a county)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(20))  # admin | prison | bureau
    prison: Mapped[str | None] = mapped_column(String(100), nullable=True)
    region_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class LoginSession(Base):
    """A signed-in browser. Only the token's hash is stored; the CSRF token is per session."""

    __tablename__ = "login_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuditEvent(Base):
    """Every change made through the portals or the CLI: who, in which scope, what, to which record."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20), default="")
    scope: Mapped[str] = mapped_column(String(100), default="", index=True)  # region code or prison
    action: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str] = mapped_column(String(100), default="")
    detail: Mapped[str] = mapped_column(Text, default="")


class BureauContact(Base):
    """A bureau's own contact details, entered in the portal; they take precedence over knowledge/regions.yaml."""

    __tablename__ = "bureau_contacts"
    region_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(60), nullable=True)
    address: Mapped[str | None] = mapped_column(String(200), nullable=True)
    hours: Mapped[str | None] = mapped_column(String(100), nullable=True)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class QuestionInmateLink(Base):
    """Prison-side only: the inmate number entered for any logged question, so a later correction of an
    automatic answer can be handed to the asker. No bureau query touches this table."""

    __tablename__ = "question_inmate_links"
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), primary_key=True)
    prison: Mapped[str] = mapped_column(String(100))
    inmate_number: Mapped[str] = mapped_column(String(40))


class QuestionReview(Base):
    """A bureau's verdict on one logged question of its county: right | wrong | refer (one per question)."""

    __tablename__ = "question_reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), unique=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    verdict: Mapped[str] = mapped_column(String(10), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    reviewer: Mapped[str] = mapped_column(String(100))
    reviewed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id"), nullable=True)  # the correction
    faq_id: Mapped[str | None] = mapped_column(String(80), nullable=True)  # draft FAQ made from the correction
    corrects_item: Mapped[str | None] = mapped_column(String(120), nullable=True)  # the item that answered wrongly
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("referral_rules.id"), nullable=True)


class ReferralRule(Base):
    """A county's rule: questions answered by this item (FAQ id or document id) or on this topic are never
    answered automatically for askers from that county; they go to the bureau."""

    __tablename__ = "referral_rules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    item_id: Mapped[str | None] = mapped_column(String(120), nullable=True)
    topic: Mapped[str | None] = mapped_column(String(40), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    withdrawn_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class KnowledgeChange(Base):
    """One change of the knowledge a node serves (an FAQ entry of a county, a bureau's contact details, the
    referral rules), written in the transaction of the change. The id is the knowledge generation: every node
    applies the changes above the generation it has (LISTEN/NOTIFY on PostgreSQL, polling as the fallback)."""

    __tablename__ = "knowledge_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # faq | contact | referral
    region_code: Mapped[str] = mapped_column(String(6), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
