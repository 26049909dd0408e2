"""Defining conditions (醉驾, 肇事逃逸, 未成年 …): an item that applies only to people in a situation
the question does not name must not answer it (lexicon/conditions.yaml)."""

from __future__ import annotations

import re


class ConditionDetector:
    """Finds the named conditions in normalised text."""

    def __init__(self, conditions: dict[str, tuple[str, ...]]):
        self._patterns = {name: re.compile("|".join(f"(?:{p})" for p in pats)) for name, pats in conditions.items()}

    def find(self, text: str) -> frozenset[str]:
        return frozenset(name for name, pattern in self._patterns.items() if pattern.search(text))

    def matches(self, text: str) -> list[str]:
        """The words in the text that name a condition, in order of appearance."""
        found = [(m.start(), m.group(0)) for p in self._patterns.values() for m in p.finditer(text)]
        return [w for _, w in sorted(found)]


def missing_conditions(item_conditions: frozenset[str], question_conditions: frozenset[str]) -> frozenset[str]:
    """Conditions that define the item but that the question does not name."""
    return item_conditions - question_conditions
