"""Full-text search in the portal's logs: every word typed must occur (case-insensitive, wildcards taken literally)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, true

MAX_WORDS = 10


def words_of(text: str | None) -> list[str]:
    return (text or "").split()[:MAX_WORDS]


def _pattern(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def matches(words: str | None, *columns: Any) -> Any:
    """A condition: each word occurs in at least one of `columns` (true when no words were typed)."""
    conditions = [or_(*(c.ilike(_pattern(w), escape="\\") for c in columns)) for w in words_of(words)]
    return and_(*conditions) if conditions else true()
