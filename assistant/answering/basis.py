"""The one sentence every answer, FAQ sheet and slip carries: how current its legal basis is, when it was reviewed.

The statute texts cited by the knowledge base are the LawRefBook snapshot of 2025-04-19 (`../shared/laws`);
the review date is the FAQ entry's or the document's `reviewed` (a bureau-published entry: the day it was
approved). Pure functions, one wording for the kiosk, `assistant ask`, the take-away slip and the sheets.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

STATUTE_SNAPSHOT = date(2025, 4, 19)  # LawRefBook snapshot the cited statute texts come from
STATUTE_SNAPSHOT_TEXT = f"{STATUTE_SNAPSHOT.year}年{STATUTE_SNAPSHOT.month}月"


def day_text(day: date) -> str:
    """2026年11月22日."""
    return f"{day.year}年{day.month}月{day.day}日"


def _as_date(value: date | str | None) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def basis_note(reviewed: Iterable[date | str | None] = ()) -> str:
    """"依据的法律法规截至2025年4月；本条内容复核于2026年11月22日。" — the review dates of the items the answer came
    from (ISO strings or dates; unknown ones skipped). Several different dates are all named, oldest first;
    with none, only the statute snapshot is stated."""
    days = sorted({d for d in (_as_date(v) for v in reviewed) if d is not None})
    head = f"依据的法律法规截至{STATUTE_SNAPSHOT_TEXT}"
    if not days:
        return f"{head}。"
    return f"{head}；本条内容复核于{'、'.join(day_text(d) for d in days)}。"
