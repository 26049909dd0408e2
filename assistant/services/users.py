"""Portal accounts and their signed-in sessions (argon2 passwords, hashed session tokens, per-session CSRF)."""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.services import audit
from assistant.services.audit import SYSTEM, Actor
from assistant.services.errors import ForbiddenError, InvalidError, NotFoundError
from assistant.services.kiosks import token_hash
from assistant.services.principal import ADMIN, BUREAU, PRISON, ROLE_NAMES, Principal
from assistant.storage.models import LoginSession, User

USERNAME_RE = re.compile(r"^[a-z0-9_.-]{3,60}$")
MIN_PASSWORD = 10
IDLE_TIMEOUT = timedelta(minutes=30)
MAX_AGE = timedelta(hours=12)
_hasher = PasswordHasher()
_DUMMY_HASH: str | None = None  # made on first use (an argon2 hash costs ~0.3 s: not at import, i.e. start-up)


def _dummy_hash() -> str:
    """A hash to check a password against when there is no such user (the same time as for a real one)."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash("not a password of anyone")
    return _DUMMY_HASH


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def principal(user: User, csrf_token: str = "") -> Principal:
    return Principal(user.id, user.username, user.display_name or user.username, user.role, user.prison,
                     user.region_code, csrf_token)


def check_password_strength(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise InvalidError(f"密码至少 {MIN_PASSWORD} 个字符")
    if len(password) > 200:
        raise InvalidError("密码太长（最多 200 个字符）")


def add_user(s: Session, username: str, password: str, role: str, display_name: str = "",
             prison: str | None = None, region_code: str | None = None,
             known_regions: Iterable[str] | None = None, *, by: Actor = SYSTEM) -> User:
    """Create an account (audited in its own scope); a prison user needs a prison, a bureau user a known county
    code."""
    username = (username or "").strip().lower()
    if not USERNAME_RE.match(username):
        raise InvalidError("用户名只能用 3–60 个小写字母、数字或 _ . -")
    if role not in ROLE_NAMES:
        raise InvalidError(f"角色应为 {' / '.join(ROLE_NAMES)}：{role!r}")
    check_password_strength(password)
    prison = (prison or "").strip() or None
    region_code = (region_code or "").strip() or None
    if role == PRISON and not prison:
        raise InvalidError("监狱民警账号必须指定所在监狱")
    if role == BUREAU:
        if not region_code:
            raise InvalidError("司法局账号必须指定县（区）代码")
        if known_regions is not None and region_code not in set(known_regions):
            raise InvalidError(f"未知的县（区）代码：{region_code}")
    if role == ADMIN:
        prison = region_code = None
    elif role == PRISON:
        region_code = None
    else:
        prison = None
    if s.scalar(select(User).where(User.username == username)) is not None:
        raise InvalidError(f"用户名 {username} 已存在")
    user = User(username=username, display_name=(display_name or "").strip()[:100], role=role, prison=prison,
                region_code=region_code, password_hash=_hasher.hash(password))
    s.add(user)
    s.flush()
    scope = principal(user).scope
    audit.record(s, by, "user_added", user.username, f"{role} {scope}", scope=scope)
    return user


def get_user(s: Session, user_id: int) -> User:
    user = s.get(User, user_id)
    if user is None:
        raise NotFoundError(f"没有编号为 {user_id} 的账号")
    return user


def get_by_username(s: Session, username: str) -> User:
    user = s.scalar(select(User).where(User.username == (username or "").strip().lower()))
    if user is None:
        raise NotFoundError(f"没有账号 {username}")
    return user


def list_users(s: Session) -> list[User]:
    return list(s.scalars(select(User).order_by(User.role, User.username)))


def set_disabled(s: Session, user_id: int, disabled: bool, *, by: Actor = SYSTEM) -> User:
    """Disable (or re-enable) an account; disabling ends its sessions at once. Audited in the account's scope."""
    user = get_user(s, user_id)
    user.disabled_at = _now() if disabled else None
    if disabled:
        end_sessions(s, user.id)
    audit.record(s, by, "user_disabled" if disabled else "user_enabled", user.username,
                 scope=principal(user).scope)
    return user


def set_password(s: Session, user_id: int, password: str, *, by: Actor = SYSTEM, detail: str = "") -> None:
    """A new password; the account's sessions end. Audited in the account's scope."""
    check_password_strength(password)
    user = get_user(s, user_id)
    user.password_hash = _hasher.hash(password)
    end_sessions(s, user.id)
    audit.record(s, by, "password_set", user.username, detail, scope=principal(user).scope)


def verify_password(s: Session, username: str, password: str) -> User:
    """The active user with these credentials, or ForbiddenError (same message whatever was wrong)."""
    user = s.scalar(select(User).where(User.username == (username or "").strip().lower()))
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password or "")
    except (VerificationError, InvalidHashError):
        user = None
    if user is None or user.disabled_at is not None:
        raise ForbiddenError("用户名或密码不正确，或账号已停用")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


@dataclass(frozen=True)
class NewSession:
    token: str  # goes into the cookie; only its hash is stored
    principal: Principal


def login(s: Session, username: str, password: str, address: str = "") -> NewSession:
    """Check the credentials and open a fresh session (a new token every time: no session fixation); audited."""
    user = verify_password(s, username, password)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    s.add(LoginSession(token_hash=token_hash(token), csrf_token=csrf, user_id=user.id))
    user.last_login_at = _now()
    who = principal(user, csrf)
    audit.record(s, who, "login", detail=f"from {address}")
    return NewSession(token, who)


def login_refused(s: Session, username: str, address: str, throttled: bool = False) -> None:
    """Audit a refused sign-in (the caller writes it in its own transaction: the request itself fails)."""
    why = "throttled, " if throttled else ""
    audit.record(s, f"login:{username[:60]}", "login_failed", detail=f"{why}from {address}")


def current(s: Session, token: str | None) -> Principal | None:
    """The user of a live session token, touching it; None when missing, ended, idle or too old."""
    if not token:
        return None
    sess = s.scalar(select(LoginSession).where(LoginSession.token_hash == token_hash(token)))
    if sess is None or sess.ended_at is not None:
        return None
    now = _now()
    if now - _aware(sess.last_seen_at) > IDLE_TIMEOUT or now - _aware(sess.created_at) > MAX_AGE:
        sess.ended_at = now
        return None
    user = s.get(User, sess.user_id)
    if user is None or user.disabled_at is not None:
        sess.ended_at = now
        return None
    sess.last_seen_at = now
    return principal(user, sess.csrf_token)


def logout(s: Session, token: str | None, who: Principal | None = None) -> None:
    """End the session holding `token`; audited when `who` signs out (not when a new sign-in replaces it)."""
    if who is not None:
        audit.record(s, who, "logout")
    if not token:
        return
    sess = s.scalar(select(LoginSession).where(LoginSession.token_hash == token_hash(token)))
    if sess is not None and sess.ended_at is None:
        sess.ended_at = _now()


def end_sessions(s: Session, user_id: int) -> None:
    for sess in s.scalars(select(LoginSession).where(LoginSession.user_id == user_id,
                                                     LoginSession.ended_at.is_(None))):
        sess.ended_at = _now()


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(expected) and hmac.compare_digest(expected.encode(), (given or "").encode())


def require_role(who: Principal, *roles: str) -> None:
    if who.role not in roles:
        raise ForbiddenError("您的账号没有这项权限")
