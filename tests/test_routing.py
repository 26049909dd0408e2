"""Follow-ups always reach someone: the county's bureau, a listed city bureau, the admin view "尚未开通的县",
and for 户籍不详 the prison where it was asked — at every level of the division tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answering.models import Answer
from assistant.services import followups as F
from assistant.services import routing, users
from assistant.services.errors import ForbiddenError
from assistant.services.questions import AskContext, QuestionLog
from assistant.storage.db import Database
from assistant.storage.models import FollowUp
from assistant.storage.spool import Spool

PRISON = AskContext(prison="雁北监狱", kiosk="k1", inmate_number="A-1")
OTHER_PRISON = AskContext(prison="别的监狱", kiosk="k9")
# one code per level and kind: national (户籍不详), province, an unlisted city, the listed city 衡阳市,
# a county with no account, a county under 衡阳市, a county with its own account, an old-data unknown code
LEVELS = ["000000", "430000", "430300", "430400", "430321", "430421", "431382", "150000", "150426", "110105"]


@pytest.fixture
def db(tmp_path: Path):
    database = Database(f"sqlite:///{tmp_path / 'r.db'}")
    yield database
    database.dispose()


def followup(db: Database, tmp_path: Path, code: str, ctx: AskContext = PRISON, text: str = "减刑的事") -> int:
    qlog = QuestionLog(db, Spool(tmp_path / "spool.jsonl"))
    ans = Answer(f"{text}{code}", code, "flagged", "回答", [], None, [], region_code=code)
    return qlog.record(ans, ctx).followup_id


def account(db: Database, name: str, code: str | None = None, prison: str | None = None) -> None:
    with db.session() as s:
        users.add_user(s, name, "long-password-1", "bureau" if code else "prison", name, prison, code)


def who_sees(db: Database, tree, fu_id: int) -> set[str]:
    """Every account (and the admin view) that has this follow-up in a list."""
    seen: set[str] = set()
    with db.session() as s:
        fu = s.get(FollowUp, fu_id)
        for u in users.list_users(s):
            if u.role == "bureau" and any(i.id == fu_id or fu_id in i.member_ids for i in
                                          F.bureau_queue(s, routing.bureau_scope(s, tree, u.region_code))):
                seen.add(u.username)
            if u.role == "prison" and any(r.prison == u.prison for r in routing.unopened(s, tree, prison=u.prison)
                                          if r.region_code == fu.region_code):
                seen.add(u.username)
        if any(r.region_code == fu.region_code for r in routing.unopened(s, tree)):
            seen.add("admin:尚未开通的县")
    return seen


def test_no_followup_at_any_level_is_seen_by_nobody(db: Database, tmp_path: Path, full_regions):
    account(db, "lianyuan", "431382")
    account(db, "hengyang", "430400")  # a city bureau taking part directly
    account(db, "yanbei", prison="雁北监狱")
    ids = {code: followup(db, tmp_path, code) for code in LEVELS}
    seen = {code: who_sees(db, full_regions, fid) for code, fid in ids.items()}
    for code, who in seen.items():
        assert who, f"follow-up for {code} reaches nobody"
    assert seen["431382"] == {"lianyuan"}
    assert seen["430400"] == {"hengyang"} and seen["430421"] == {"hengyang"}  # 衡阳县 via 衡阳市司法局
    assert seen["430321"] == {"admin:尚未开通的县"}  # 湘潭县: no account yet
    assert seen["000000"] == {"yanbei", "admin:尚未开通的县"}  # 户籍不详: the prison where it was asked
    for code in ("430000", "430300", "150000", "150426", "110105"):
        assert seen[code] == {"admin:尚未开通的县"}


def test_unopened_view_counts_and_ages_and_a_new_bureau_sees_its_backlog(db: Database, tmp_path: Path,
                                                                       full_regions):
    first = followup(db, tmp_path, "430321", text="低保怎么办")
    followup(db, tmp_path, "430321", text="户口怎么迁")
    followup(db, tmp_path, "430321", OTHER_PRISON, text="驾照还能考吗")
    with db.session() as s:
        rows = {r.region_code: r for r in routing.unopened(s, full_regions)}
    assert rows["430321"].count == 3 and rows["430321"].name == "湖南省湘潭市湘潭县"
    assert rows["430321"].age_days == 0
    account(db, "xiangtan", "430321")  # the province invites the bureau: its first sign-in shows the backlog
    with db.session() as s:
        queue = F.bureau_queue(s, routing.bureau_scope(s, full_regions, "430321"))
        assert first in {i for g in queue for i in g.member_ids} and sum(g.count for g in queue) == 3
        assert "430321" not in {r.region_code for r in routing.unopened(s, full_regions)}


def test_a_county_account_takes_over_from_its_city_bureau(db: Database, tmp_path: Path, full_regions):
    account(db, "hengyang", "430400")
    fid = followup(db, tmp_path, "430421")
    with db.session() as s:
        F.check_region(s.get(FollowUp, fid), routing.bureau_scope(s, full_regions, "430400"))
    account(db, "hengyangxian", "430421")
    with db.session() as s:
        fu = s.get(FollowUp, fid)
        with pytest.raises(ForbiddenError):
            F.check_region(fu, routing.bureau_scope(s, full_regions, "430400"))
        F.check_region(fu, routing.bureau_scope(s, full_regions, "430421"))
    # a disabled county account hands the queue back to the city bureau
    with db.session() as s:
        user = next(u for u in users.list_users(s) if u.username == "hengyangxian")
        users.set_disabled(s, user.id, True)
    with db.session() as s:
        F.check_region(s.get(FollowUp, fid), routing.bureau_scope(s, full_regions, "430400"))


def test_a_bureau_never_sees_another_countys_followups(db: Database, tmp_path: Path, full_regions):
    account(db, "lianyuan", "431382")
    other = followup(db, tmp_path, "430321")
    with db.session() as s, pytest.raises(ForbiddenError):
        F.check_region(s.get(FollowUp, other), routing.bureau_scope(s, full_regions, "431382"))
