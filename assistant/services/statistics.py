"""Figures for a bureau: questions per week and topic, answered vs flagged, the commonest unanswered themes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.services.grouping import is_near_duplicate
from assistant.services.periods import within
from assistant.storage.models import Question

NO_TOPIC = "（未分类）"


@dataclass(frozen=True)
class Theme:
    """Near-duplicate unanswered questions, represented by the first wording seen."""

    text: str
    count: int
    topic: str | None


@dataclass(frozen=True)
class CountyStats:
    total: int
    answered: int
    flagged: int
    out_of_scope: int
    by_week: list[tuple[str, int]]  # ISO week label ("2026-W47"), oldest first
    by_topic: list[tuple[str, int]]  # topic key (or NO_TOPIC), commonest first
    themes: list[Theme]
    by_week_topic: dict[tuple[str, str], int]  # (week, topic) → questions

    def week_topic_count(self, week: str, topic: str) -> int:
        return self.by_week_topic.get((week, topic), 0)

    @property
    def answered_share(self) -> float:
        return self.answered / self.total if self.total else 0.0

    @property
    def flagged_share(self) -> float:
        return self.flagged / self.total if self.total else 0.0


def week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def unanswered_themes(rows: list[tuple[str, str | None]], limit: int = 10) -> list[Theme]:
    """Group (text, topic) pairs of unanswered questions into near-duplicate themes, largest first (pure)."""
    groups: list[list[tuple[str, str | None]]] = []
    for text, topic in rows:
        for group in groups:
            if is_near_duplicate(group[0][0], text):
                group.append((text, topic))
                break
        else:
            groups.append([(text, topic)])
    themes = [Theme(g[0][0], len(g), Counter(t for _, t in g).most_common(1)[0][0]) for g in groups]
    return sorted(themes, key=lambda t: -t.count)[:limit]


def county_stats(s: Session, region_code: str | Collection[str], since: date | None = None,
                 until: date | None = None, theme_limit: int = 10) -> CountyStats:
    """Statistics of one county's logged questions (or those of the counties a city bureau covers) in
    [since, until] (inclusive days, UTC)."""
    codes = {region_code} if isinstance(region_code, str) else set(region_code)
    query = select(Question.asked_at, Question.topic, Question.status, Question.unresolved, Question.text).where(
        Question.region_code.in_(codes), Question.alert.is_(None))  # crises belong to the prison
    rows = list(s.execute(within(query, Question.asked_at, since, until).order_by(Question.asked_at)))
    weeks: Counter[str] = Counter(week_label(r.asked_at.date()) for r in rows)
    topics: Counter[str] = Counter(r.topic or NO_TOPIC for r in rows)
    cells: Counter[tuple[str, str]] = Counter((week_label(r.asked_at.date()), r.topic or NO_TOPIC) for r in rows)
    unanswered = [(r.text, r.topic) for r in rows if r.status == "flagged" or r.unresolved]
    status = Counter(r.status for r in rows)
    return CountyStats(total=len(rows), answered=status["answered"], flagged=status["flagged"],
                       out_of_scope=status["out_of_scope"], by_week=sorted(weeks.items()),
                       by_topic=topics.most_common(), themes=unanswered_themes(unanswered, theme_limit),
                       by_week_topic=dict(cells))
