"""Who sees a follow-up: the county's bureau, else a listed city bureau above it, else the admin view
"尚未开通的县" (and, for 户籍不详, the prison where it was asked). No follow-up is left where nobody sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assistant.knowledge.models import NATIONAL_CODE
from assistant.knowledge.regions import UNKNOWN_HOME, RegionTree
from assistant.storage.models import FollowUp, User

WAITING = ("open",)


def bureau_accounts(s: Session) -> set[str]:
    """Region codes that have an active bureau account."""
    return set(s.scalars(select(User.region_code).where(User.role == "bureau", User.disabled_at.is_(None),
                                                        User.region_code.is_not(None))))


def responsible(tree: RegionTree, code: str, accounts: set[str]) -> str | None:
    """The account region that takes up follow-ups of `code`: the county's own bureau, or a city bureau that
    takes part directly for the counties under it; None when no bureau account covers it yet."""
    if code in accounts:
        return code
    if code not in tree:
        return None
    for region in tree.chain(code)[1:]:
        if region.level != "city":
            break
        if region.code in accounts:
            return region.code
    return None


def bureau_scope(s: Session, tree: RegionTree, own: str) -> set[str]:
    """The follow-up regions a bureau bound to `own` sees: its own, and (a city bureau) its counties' that
    have no account of their own."""
    if own not in tree or tree[own].level != "city":
        return {own}
    accounts = bureau_accounts(s)
    return {own} | {r.code for r in tree.children(own) if r.code not in accounts}


@dataclass(frozen=True)
class Unopened:
    """Follow-ups waiting for a region no bureau account covers yet."""

    region_code: str
    name: str
    prison: str | None  # set for 户籍不详: the prison where it was asked
    count: int
    oldest: datetime

    @property
    def age_days(self) -> int:
        oldest = self.oldest if self.oldest.tzinfo else self.oldest.replace(tzinfo=UTC)
        return (datetime.now(UTC) - oldest).days


def unopened(s: Session, tree: RegionTree, prison: str | None = None) -> list[Unopened]:
    """Open follow-ups nobody's bureau account covers, per region (户籍不详 per prison), oldest first.

    With `prison`, only the 户籍不详 follow-ups asked at that prison (the prison's own view).
    """
    accounts = bureau_accounts(s)
    rows = s.execute(select(FollowUp.region_code, FollowUp.prison, func.count(), func.min(FollowUp.created_at))
                     .where(FollowUp.state.in_(WAITING)).group_by(FollowUp.region_code, FollowUp.prison))
    merged: dict[tuple[str, str | None], list] = {}
    for code, where, count, oldest in rows:
        unknown = code == NATIONAL_CODE
        if prison is not None and (not unknown or where != prison):
            continue
        if not unknown and responsible(tree, code, accounts) is not None:
            continue
        key = (code, where if unknown else None)
        entry = merged.setdefault(key, [0, oldest])
        entry[0] += count
        entry[1] = min(entry[1], oldest)
    out = [Unopened(code, UNKNOWN_HOME if code == NATIONAL_CODE else
                    (tree.full_name(code) if code in tree else code), where, n, oldest)
           for (code, where), (n, oldest) in merged.items()]
    return sorted(out, key=lambda u: (u.oldest, u.region_code))
