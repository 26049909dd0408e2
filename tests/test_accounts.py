"""Portal accounts, sessions, the audit log, county statistics and knowledge review (no model needed)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from helpers import KNOWLEDGE, knowledge_of
from sqlalchemy import select
from typer.testing import CliRunner

from assistant.cli import app
from assistant.services import audit, users
from assistant.services.county_knowledge import by_urgency, county_knowledge
from assistant.services.errors import ForbiddenError, InvalidError
from assistant.services.statistics import county_stats, unanswered_themes, week_label
from assistant.storage.db import Database
from assistant.storage.models import AuditEvent, LoginSession, Question, User

PASSWORD = "correct-horse-battery"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'accounts.db'}")
    yield database
    database.dispose()


def test_accounts_are_validated_and_bound_to_their_scope(db):
    with db.session() as s:
        bureau = users.add_user(s, " LiYuan ", PASSWORD, "bureau", "李", prison="雁北监狱", region_code="431382",
                                known_regions=["431382"])
        assert (bureau.username, bureau.region_code, bureau.prison) == ("liyuan", "431382", None)
        assert bureau.password_hash.startswith("$argon2") and PASSWORD not in bureau.password_hash
        for kwargs, message in [
            ({"username": "x", "role": "admin"}, "用户名"),
            ({"username": "ok-name", "role": "boss"}, "角色"),
            ({"username": "ok-name", "role": "admin", "password": "short"}, "10"),
            ({"username": "ok-name", "role": "prison"}, "监狱"),
            ({"username": "ok-name", "role": "bureau"}, "县"),
            ({"username": "ok-name", "role": "bureau", "region_code": "999999"}, "未知"),
            ({"username": "liyuan", "role": "admin"}, "已存在"),
        ]:
            args = {"password": PASSWORD} | kwargs
            with pytest.raises(InvalidError, match=message):
                users.add_user(s, args.pop("username"), args.pop("password"), args.pop("role"),
                               known_regions=["431382"], **args)


def test_sessions_are_new_on_each_sign_in_and_end_on_logout_idle_or_disable(db):
    with db.session() as s:
        user_id = users.add_user(s, "warden", PASSWORD, "prison", prison="雁北监狱").id
    with db.session() as s:
        with pytest.raises(ForbiddenError):
            users.login(s, "warden", "wrong password")
        with pytest.raises(ForbiddenError):
            users.login(s, "nobody", PASSWORD)
        first, second = users.login(s, "warden", PASSWORD), users.login(s, "WARDEN", PASSWORD)
    assert first.token != second.token and first.principal.csrf_token != second.principal.csrf_token
    with db.session() as s:
        stored = [row.token_hash for row in s.scalars(select(LoginSession))]
        assert first.token not in stored and len(stored) == 2
        who = users.current(s, first.token)
        assert who is not None and who.prison == "雁北监狱" and who.scope == "雁北监狱"
        users.logout(s, first.token)
    with db.session() as s:
        assert users.current(s, first.token) is None and users.current(s, "made-up") is None
        session = s.scalars(select(LoginSession).where(LoginSession.ended_at.is_(None))).one()
        session.last_seen_at = datetime.now(UTC) - users.IDLE_TIMEOUT - timedelta(minutes=1)
    with db.session() as s:
        assert users.current(s, second.token) is None  # idle too long
        third = users.login(s, "warden", PASSWORD)
        users.set_disabled(s, user_id, True)
    with db.session() as s:
        assert users.current(s, third.token) is None
        with pytest.raises(ForbiddenError):
            users.login(s, "warden", PASSWORD)
    assert users.csrf_matches("abc", "abc") and not users.csrf_matches("abc", "abd")
    assert not users.csrf_matches("", "") and not users.csrf_matches("abc", None)


def test_audit_rows_record_actor_scope_and_action(db):
    with db.session() as s:
        who = users.Principal(1, "bureau1", "县司法局", "bureau", None, "150426")  # no account row: its audit too
        audit.record(s, who, "followup_answered", "followup:7", "答复内容")
        audit.record(s, "cli:root", "kiosk_registered", "kiosk:1", scope="雁北监狱")
    with db.session() as s:
        rows = audit.events(s)
        assert [(e.actor, e.role, e.scope, e.action) for e in rows] == [
            ("cli:root", "", "雁北监狱", "kiosk_registered"), ("bureau1", "bureau", "150426", "followup_answered")]
        assert [e.action for e in audit.events(s, scope="150426")] == ["followup_answered"]


def test_command_line_changes_show_in_the_scope_they_touch(tmp_path, monkeypatch):
    """The services audit their own changes: a kiosk revoked or an account disabled from the command line is in
    that prison's (county's) audit view, as it is when done in the portal."""
    from assistant.core.config import get_settings
    from assistant.services import kiosks

    monkeypatch.setenv("BANGJIAO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BANGJIAO_KNOWLEDGE_DIR", str(KNOWLEDGE))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        registered = runner.invoke(app, ["kiosks", "register", "--prison", "雁北监狱", "--name", "教育室1号"])
        assert registered.exit_code == 0, registered.output
        database = Database(get_settings().database_url, migrate=False)
        with database.session() as s:
            kiosk_id = kiosks.list_kiosks(s, "雁北监狱")[0].id
            portal_admin = users.Principal(99, "admin", "管理员", users.ADMIN, None, None)
            other = kiosks.register(s, "雁北监狱", "阅览室", by=portal_admin).kiosk_id
            kiosks.revoke(s, other, by=portal_admin)
        assert runner.invoke(app, ["kiosks", "revoke", str(kiosk_id)]).exit_code == 0
        county = runner.invoke(app, ["users", "add", "lianyuan", "--role", "bureau", "--county", "涟源",
                                     "--password-stdin"], input=PASSWORD + "\n")
        assert county.exit_code == 0, county.output
        assert runner.invoke(app, ["users", "disable", "lianyuan"]).exit_code == 0
        with database.session() as s:
            prison = [(e.action, e.target, e.actor.startswith("cli:")) for e in audit.events(s, scope="雁北监狱")]
            lianyuan = [e.action for e in audit.events(s, scope="431382")]
        database.dispose()
        assert prison == [("kiosk_revoked", f"kiosk:{kiosk_id}", True), ("kiosk_revoked", f"kiosk:{other}", False),
                          ("kiosk_registered", f"kiosk:{other}", False),
                          ("kiosk_registered", f"kiosk:{kiosk_id}", True)]
        assert lianyuan == ["user_disabled", "user_added"]
    finally:
        get_settings.cache_clear()


def add(s, text: str, status: str, when: datetime, region: str = "431382", topic: str | None = "pension",
        unresolved: bool = False) -> None:
    s.add(Question(client_id=f"{text}-{when.isoformat()}-{status}", asked_at=when, region_code=region, topic=topic,
                   text=text, status=status, answer="", sources=[], items=[], unresolved=unresolved))


def test_county_statistics_by_week_topic_and_unanswered_theme(db):
    monday = datetime(2026, 11, 16, 9, tzinfo=UTC)
    with db.session() as s:
        add(s, "养老保险断了能补交吗", "answered", monday)
        add(s, "养老保险能补交吗", "answered", monday + timedelta(days=7), unresolved=True)
        add(s, "出狱后宅基地还是我的吗", "flagged", monday + timedelta(days=1), topic=None)
        add(s, "出狱以后宅基地还是我的吗？", "flagged", monday + timedelta(days=8), topic=None)
        add(s, "我想问问天气", "out_of_scope", monday, topic=None)
        add(s, "别的县的问题", "flagged", monday, region="150426")
    with db.session() as s:
        stats = county_stats(s, "431382")
        assert (stats.total, stats.answered, stats.flagged, stats.out_of_scope) == (5, 2, 2, 1)
        assert stats.by_week == [("2026-W47", 3), ("2026-W48", 2)]
        assert stats.week_topic_count("2026-W47", "pension") == 1 and stats.week_topic_count("2026-W48", "pension") == 1
        assert stats.week_topic_count("2026-W47", "（未分类）") == 2
        assert stats.week_topic_count("2026-W49", "pension") == 0
        assert stats.by_topic[0] == ("（未分类）", 3) and ("pension", 2) in stats.by_topic
        assert [(t.count, t.text) for t in stats.themes][:2] == [(2, "出狱后宅基地还是我的吗"), (1, "养老保险能补交吗")]
        assert stats.answered_share == pytest.approx(0.4)
        week_one = county_stats(s, "431382", since=date(2026, 11, 16), until=date(2026, 11, 22))
        assert week_one.total == 3
    assert week_label(date(2027, 1, 1)) == "2026-W53"
    assert unanswered_themes([]) == []


def test_knowledge_review_flags_overdue_entries_first():
    kb = knowledge_of(KNOWLEDGE)
    rows = county_knowledge(kb, "431382")
    assert {r.kind for r in rows} == {"文件", "问答"}
    assert all(r.path.split("/")[1] == "431382" or "431382" in r.path for r in rows)
    today = date(2026, 11, 22)
    overdue = dataclasses.replace(rows[-1], review_due=today - timedelta(days=1))
    soon = dataclasses.replace(rows[0], review_due=today + timedelta(days=10))
    ordered = by_urgency([*rows[1:-1], soon, overdue], today)
    assert ordered[0] is overdue and ordered[0].state(today) == "overdue"
    assert ordered[1] is soon and soon.state(today) == "soon"
    assert dataclasses.replace(soon, review_due=None).state(today) == "no_date"


@pytest.mark.slow  # the CLI in-process: each command loads the real knowledge base
def test_cli_creates_the_first_admin_and_audits_it(tmp_path, monkeypatch):
    from assistant.core.config import get_settings

    monkeypatch.setenv("BANGJIAO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BANGJIAO_KNOWLEDGE_DIR", str(KNOWLEDGE))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        result = runner.invoke(app, ["users", "add", "root", "--role", "admin", "--name", "管理员",
                                     "--password-stdin"], input=PASSWORD + "\n")
        assert result.exit_code == 0, result.output
        bad = runner.invoke(app, ["users", "add", "li", "--role", "bureau", "--county", "火星", "--password-stdin"],
                            input=PASSWORD + "\n")
        assert bad.exit_code == 2 and "火星" in bad.output
        short = runner.invoke(app, ["users", "add", "li", "--role", "admin", "--password-stdin"], input="x\n")
        assert short.exit_code == 2 and "10" in short.output
        county = runner.invoke(app, ["users", "add", "lianyuan", "--role", "bureau", "--county", "涟源",
                                     "--password-stdin"], input=PASSWORD + "\n")
        assert county.exit_code == 0, county.output
        listing = runner.invoke(app, ["users", "list"])
        assert "root 系统管理员 全部 [正常]" in listing.output and "lianyuan 司法局工作人员 431382" in listing.output
        reset = runner.invoke(app, ["users", "password", "root", "--password-stdin"], input="a-brand-new-password\n")
        assert reset.exit_code == 0, reset.output
        assert runner.invoke(app, ["users", "password", "ghost", "--password-stdin"],
                             input="a-brand-new-password\n").exit_code == 2
        assert runner.invoke(app, ["users", "disable", "lianyuan"]).exit_code == 0
        database = Database(get_settings().database_url, migrate=False)
        with database.session() as s:
            assert s.scalars(select(User).where(User.username == "lianyuan")).one().disabled_at is not None
            actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert actions == ["user_added", "user_added", "password_set", "user_disabled"]
        assert runner.invoke(app, ["users", "enable", "lianyuan"]).exit_code == 0
        assert runner.invoke(app, ["users", "add", "boss", "--role", "boss", "--password-stdin"],
                             input=PASSWORD + "\n").exit_code == 2  # not a role
        with database.session() as s:
            assert s.scalars(select(User).where(User.username == "lianyuan")).one().disabled_at is None
            assert s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first().action == "user_enabled"
        with database.session() as s:
            assert users.login(s, "root", "a-brand-new-password").principal.role == "admin"
        database.dispose()
    finally:
        get_settings.cache_clear()


def test_a_bureau_or_prison_account_without_its_binding_is_refused_not_passed_on():
    bureau = users.Principal(1, "ly", "涟源市司法局", users.BUREAU, None, "431382")
    prison = users.Principal(2, "yb", "雁北监狱", users.PRISON, "雁北监狱", None)
    assert bureau.county == "431382" and prison.home_prison == "雁北监狱"
    with pytest.raises(ForbiddenError):
        _ = prison.county
    with pytest.raises(ForbiddenError):
        _ = bureau.home_prison
