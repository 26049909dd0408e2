"""Dates typed into filters (YYYY-MM-DD), checked with clear messages, and the period filter built from them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from assistant.services.errors import InvalidError

FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)  # any period a filter can sensibly ask for


def parse_day(value: str | None, name: str) -> date | None:
    """A date from a form or query field between FIRST_DAY and LAST_DAY; '' or None means no limit."""
    if not value or not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidError(f"{name}日期格式应为 YYYY-MM-DD：{value[:20]!r}") from exc
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidError(f"{name}日期应在 {FIRST_DAY} 到 {LAST_DAY} 之间：{value[:20]!r}")
    return day


def parse_period(since: str | None, until: str | None) -> tuple[date | None, date | None]:
    start, end = parse_day(since, "起始"), parse_day(until, "截止")
    if start and end and start > end:
        raise InvalidError("起始日期晚于截止日期")
    return start, end


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of `day` (the lower bound of a period)."""
    return datetime.combine(day, time.min, UTC)


def day_after(day: date) -> datetime:
    """Midnight UTC after `day` (the exclusive upper bound of an inclusive period)."""
    return datetime.combine(day + timedelta(days=1), time.min, UTC)


def within(query: Any, column: Any, start: date | None, end: date | None) -> Any:
    """`query` limited to rows whose `column` falls in the days [start, end], `end` inclusive (UTC days)."""
    if start:
        query = query.where(column >= day_start(start))
    if end:
        query = query.where(column < day_after(end))
    return query
