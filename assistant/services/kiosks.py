"""Registered kiosks and the sessions a supervising officer opens on them."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assistant.services import audit
from assistant.services.audit import SYSTEM, Actor
from assistant.services.errors import ForbiddenError, InvalidError, NotFoundError
from assistant.storage.models import Kiosk, KioskSession

SESSION_IDLE = timedelta(minutes=30)
# A kiosk's "last seen" and a session's last activity are written at most this often: each write is a commit
# (an fsync) on every question otherwise. A session then ends after 29-30 minutes without a question.
TOUCH_EVERY = timedelta(minutes=1)
_hasher = PasswordHasher()


def token_hash(token: str) -> str:
    """Tokens are long random strings: a plain SHA-256 is enough to store them safely."""
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Registration:
    kiosk_id: int
    token: str  # shown once, entered on the device
    pin: str  # shown once, kept by the supervising officers


def _kiosk_actor(kiosk: Kiosk | KioskInfo) -> str:
    """Changes a kiosk makes itself (its officer opens and ends sessions) are audited as kiosk:<id>."""
    return f"kiosk:{kiosk.id}"


def register(s: Session, prison: str, name: str, *, by: Actor = SYSTEM) -> Registration:
    """Register a kiosk of `prison` (audited in the prison's scope); the token and PIN are shown once."""
    prison, name = prison.strip(), name.strip()
    if not prison or not name:
        raise InvalidError("监狱名称和终端名称都不能为空")
    token = secrets.token_urlsafe(32)
    pin = f"{secrets.randbelow(10**6):06d}"
    kiosk = Kiosk(name=name, prison=prison, token_hash=token_hash(token), pin_hash=_hasher.hash(pin))
    s.add(kiosk)
    s.flush()
    audit.record(s, by, "kiosk_registered", f"kiosk:{kiosk.id}", name, scope=prison)
    return Registration(kiosk.id, token, pin)


def revoke(s: Session, kiosk_id: int, prison: str | None = None, *, by: Actor = SYSTEM) -> Kiosk:
    """Stop a kiosk (only one of `prison`'s when given); its device code no longer works. Audited in the kiosk's
    prison's scope, whoever revokes it."""
    kiosk = s.get(Kiosk, kiosk_id)
    if kiosk is None:
        raise NotFoundError(f"没有编号为 {kiosk_id} 的终端")
    if prison is not None and kiosk.prison != prison:
        raise ForbiddenError("不是本监狱的终端")
    kiosk.revoked_at = datetime.now(UTC)
    audit.record(s, by, "kiosk_revoked", f"kiosk:{kiosk_id}", scope=kiosk.prison)
    return kiosk


def list_kiosks(s: Session, prison: str | None = None) -> list[Kiosk]:
    """Kiosks by prison and number; `prison` limits to one prison."""
    query = select(Kiosk).order_by(Kiosk.prison, Kiosk.id)
    if prison is not None:
        query = query.where(Kiosk.prison == prison)
    return list(s.scalars(query))


def count_kiosks(s: Session) -> int:
    return s.scalar(select(func.count()).select_from(Kiosk)) or 0


def authenticate(s: Session, token: str | None) -> Kiosk:
    """The kiosk a device token belongs to; refuses unknown and revoked tokens."""
    kiosk = s.scalar(select(Kiosk).where(Kiosk.token_hash == token_hash(token or "")))
    if kiosk is None or kiosk.revoked_at is not None:
        raise ForbiddenError("终端未登记或已停用 (unknown or revoked kiosk)")
    now = datetime.now(UTC)
    if kiosk.last_seen_at is None or now - _aware(kiosk.last_seen_at) >= TOUCH_EVERY:
        kiosk.last_seen_at = now
    return kiosk


@dataclass(frozen=True)
class KioskInfo:
    """A kiosk as the request handlers need it (detached from any database session)."""

    id: int
    name: str
    prison: str
    pin_hash: str


@dataclass(frozen=True)
class SessionInfo:
    region_code: str
    inmate_number: str | None
    key: str = ""  # "<kiosk id>:<session id>": the session's turn history (api/conversation_store.py)


def info(kiosk: Kiosk) -> KioskInfo:
    return KioskInfo(kiosk.id, kiosk.name, kiosk.prison, kiosk.pin_hash)


def check_pin(kiosk: Kiosk | KioskInfo, pin: str) -> None:
    try:
        _hasher.verify(kiosk.pin_hash, pin or "")
    except VerificationError as exc:
        raise ForbiddenError("民警口令不正确 (wrong officer PIN)") from exc


def open_session(s: Session, kiosk: Kiosk | KioskInfo, region_code: str, inmate_number: str | None) -> str:
    """The officer (PIN checked by the caller) opens a session for one asker; earlier open sessions of the kiosk
    end. Returns its token."""
    now = datetime.now(UTC)
    for old in s.scalars(select(KioskSession).where(KioskSession.kiosk_id == kiosk.id,
                                                    KioskSession.ended_at.is_(None))):
        old.ended_at = now
    token = secrets.token_urlsafe(24)
    s.add(KioskSession(token_hash=token_hash(token), kiosk_id=kiosk.id, region_code=region_code,
                       inmate_number=(inmate_number or "").strip() or None))
    audit.record(s, _kiosk_actor(kiosk), "kiosk_session_opened", f"kiosk:{kiosk.id}", f"户籍地 {region_code}",
                 scope=kiosk.prison)
    return token


def current_session(s: Session, kiosk: Kiosk | KioskInfo, token: str | None) -> KioskSession:
    """The open, recently active session for this kiosk and token; touches it."""
    sess = s.scalar(select(KioskSession).where(KioskSession.token_hash == token_hash(token or ""),
                                               KioskSession.kiosk_id == kiosk.id))
    now = datetime.now(UTC)
    if sess is None or sess.ended_at is not None:
        raise ForbiddenError("没有有效的使用会话，请民警开启 (no open kiosk session)")
    if now - _aware(sess.last_activity) > SESSION_IDLE:
        sess.ended_at = now
        raise ForbiddenError("会话已超时，请民警重新开启 (kiosk session expired)")
    if now - _aware(sess.last_activity) >= TOUCH_EVERY:
        sess.last_activity = now
    return sess


def end_session(s: Session, kiosk: Kiosk | KioskInfo) -> int:
    """The officer (PIN checked by the caller) ends every open session on the kiosk. Returns how many were open."""
    now = datetime.now(UTC)
    open_ = list(s.scalars(select(KioskSession).where(KioskSession.kiosk_id == kiosk.id,
                                                      KioskSession.ended_at.is_(None))))
    for sess in open_:
        sess.ended_at = now
    audit.record(s, _kiosk_actor(kiosk), "kiosk_session_ended", f"kiosk:{kiosk.id}", scope=kiosk.prison)
    return len(open_)


def end_own_session(s: Session, kiosk: Kiosk | KioskInfo, token: str | None) -> int:
    """End the session holding `token` on this kiosk (the asker's turn is over). Returns 1, or 0 if it was not open."""
    sess = s.scalar(select(KioskSession).where(KioskSession.token_hash == token_hash(token or ""),
                                               KioskSession.kiosk_id == kiosk.id, KioskSession.ended_at.is_(None)))
    if sess is None:
        return 0
    sess.ended_at = datetime.now(UTC)
    audit.record(s, _kiosk_actor(kiosk), "kiosk_session_idle", f"kiosk:{kiosk.id}", scope=kiosk.prison)
    return 1


def pin_refused(s: Session, kiosk: Kiosk | KioskInfo, address: str, locked: bool) -> None:
    """Audit a wrong officer PIN, or a PIN refused because the kiosk's PIN is locked (the caller counts them and
    writes this in its own transaction: the request itself fails)."""
    audit.record(s, _kiosk_actor(kiosk), "kiosk_pin_locked" if locked else "kiosk_pin_failed", f"kiosk:{kiosk.id}",
                 f"from {address}", scope=kiosk.prison)


def home_counts(s: Session, prison: str, limit: int = 100) -> dict[str, int]:
    """The home counties of the sessions opened on this prison's kiosks, most frequent first (with counts)."""
    rows = s.execute(select(KioskSession.region_code, func.count()).join(Kiosk, Kiosk.id == KioskSession.kiosk_id)
                     .where(Kiosk.prison == prison).group_by(KioskSession.region_code)
                     .order_by(func.count().desc()).limit(limit))
    return {code: n for code, n in rows}
