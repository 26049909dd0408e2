"""The audit log: one row for every change, written in the same transaction as the change.

The service function that makes a change records it (it takes the actor): callers never write audit rows
themselves, so the command line, the portal and the kiosk record the same action the same way.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.services.periods import within
from assistant.services.principal import Principal
from assistant.services.search_filter import matches
from assistant.storage.models import AuditEvent

ACTION_NAMES = {
    "login": "登录", "login_failed": "登录失败", "logout": "退出", "user_added": "新建账号",
    "user_disabled": "停用账号", "user_enabled": "启用账号", "password_set": "重设密码",
    "followup_answered": "答复跟进", "followup_closed": "关闭跟进", "followup_delivered": "转交答复",
    "faq_drafted": "生成问答草稿", "faq_edited": "修改问答草稿", "faq_approved": "发布问答",
    "faq_reopened": "修改已发布问答（重新审核）", "faq_withdrawn": "撤回问答", "faq_merged": "合并问答",
    "faq_file_edited": "修改知识库问答（新版本）", "faq_file_withdrawn": "撤回知识库问答",
    "faq_file_merged": "合并知识库问答", "faq_file_restored": "恢复知识库问答（文件版本）",
    "faq_wording_added": "把提问人的说法加进问答",
    "contact_updated": "修改联系方式",
    "kiosk_registered": "登记终端", "kiosk_session_opened": "民警开启终端会话",
    "kiosk_session_ended": "民警结束终端会话", "kiosk_session_idle": "终端无人操作，本次问答结束",
    "kiosk_pin_failed": "终端民警口令错误", "kiosk_pin_locked": "终端民警口令已锁定",
    "kiosk_revoked": "停用终端", "export": "导出数据", "sheet": "打印问答单",
    "review_right": "审核：答得对", "review_wrong": "审核：答得不对", "review_refer": "审核：应该转人工",
    "referral_rule_added": "新增转人工规则", "referral_rule_withdrawn": "撤销转人工规则",
}


SYSTEM = "system"  # changes made by scripts and set-up code, not by a person

# Who acts: a signed-in user, or a name such as "cli:root" (command line) or "kiosk:3" (a kiosk).
Actor = Principal | str


def actor_name(who: Actor) -> str:
    """The name stored with the change itself (e.g. a follow-up event's actor)."""
    return who.username if isinstance(who, Principal) else who


def scope_of(who: Actor, own: str | None) -> str | None:
    """The scope of an audit row: a signed-in user's own scope (their county or prison), otherwise the scope of
    the record changed (`own`), so that command-line changes show in that county's or prison's audit view."""
    return None if isinstance(who, Principal) else own


def record(s: Session, who: Actor, action: str, target: str = "", detail: str = "",
           scope: str | None = None) -> AuditEvent:
    """Add an audit row for `action` by `who` (a signed-in user, or a name such as 'cli:root')."""
    if isinstance(who, Principal):
        actor, role, default_scope = who.username, who.role, who.scope
    else:
        actor, role, default_scope = who, "", ""
    event = AuditEvent(actor=actor[:100], role=role, scope=(scope if scope is not None else default_scope)[:100],
                       action=action, target=str(target)[:100], detail=detail[:2000])
    s.add(event)
    return event


def events(s: Session, scope: str | None = None, action: str | None = None, limit: int = 200,
           text: str | None = None, since: date | None = None, until: date | None = None) -> list[AuditEvent]:
    """Newest first; `scope` limits to one county or prison, `text` searches who, what and the details."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(max(1, min(limit, 1000)))
    query = within(query, AuditEvent.at, since, until).where(
        matches(text, AuditEvent.actor, AuditEvent.target, AuditEvent.detail, AuditEvent.scope))
    if scope:
        query = query.where(AuditEvent.scope == scope)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(s.scalars(query))
