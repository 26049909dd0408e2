"""Defining conditions (醉驾, 肇事逃逸, 未成年 …): an item that applies only to people in a situation
the question does not name must not answer it (lexicon/conditions.yaml)."""

from __future__ import annotations

import re

# a condition word right after one of these is denied, not named: 没喝酒, 没有逃逸
_NEGATED = re.compile(r"(没|没有|不是|并没有|从没|从来没)$")
# what joins alternatives in an item's own question: "假释、缓刑或剥夺政治权利期间" applies to each of them
_ALTERNATIVE_JOIN = re.compile(r"^[^，,。？?；;]{0,4}$")
_JOINING_WORD = re.compile(r"[、/或及和与]")


class ConditionDetector:
    """Finds the named conditions in normalised text."""

    def __init__(self, conditions: dict[str, tuple[str, ...]]):
        self._patterns = {name: re.compile("|".join(f"(?:{p})" for p in pats)) for name, pats in conditions.items()}

    def without_those_matching(self, words: set[str]) -> ConditionDetector:
        """A detector without the conditions any of `words` names (e.g. 子女, named by the people words)."""
        out = ConditionDetector({})
        out._patterns = {n: p for n, p in self._patterns.items() if not any(p.search(w) for w in words)}
        return out

    def _found(self, text: str) -> frozenset[str]:
        return frozenset(name for name, pattern in self._patterns.items() if pattern.search(text))

    def named(self, text: str) -> tuple[frozenset[str], tuple[str, ...]]:
        """The conditions the text names and their words in order; a denied one ("没喝酒", "没有逃逸") is not
        named (the same for a question and for the FAQ question or heading that defines an item)."""
        found = self._found(text)
        if not found:
            return found, ()
        words = self.matches(text)
        negated = [w for w in words if _NEGATED.search(text[:text.find(w)])]
        if not negated:
            return found, tuple(words)
        rest = text
        for w in negated:
            rest = rest.replace(w, "，")
        return self._found(rest), tuple(self.matches(rest))

    def find(self, text: str) -> frozenset[str]:
        """The conditions the text names (denied ones left out)."""
        return self.named(text)[0]

    def alternatives(self, text: str) -> tuple[frozenset[str], ...]:
        """The conditions an item's own question names, grouped: each group is one requirement, met when the
        question names any condition of it. Conditions listed together ("假释或暂予监外执行期间", "假释、缓刑、管制
        或剥夺政治权利期间") are one group; conditions named apart ("酒后开营运车") are one group each."""
        found = self.find(text)
        if not found:
            return ()
        spans = sorted((m.start(), m.end(), name) for name, p in self._patterns.items() if name in found
                       for m in p.finditer(text))
        groups: list[set[str]] = []
        end = -1
        for start, stop, name in spans:
            gap = text[end:start] if end >= 0 else ""
            listed = end >= 0 and (start < end or (_ALTERNATIVE_JOIN.match(gap) and _JOINING_WORD.search(gap)))
            if groups and (listed or name in groups[-1]):
                groups[-1].add(name)
            elif not any(name in g for g in groups):
                groups.append({name})
            end = max(end, stop)
        return tuple(frozenset(g) for g in groups)

    def matches(self, text: str) -> list[str]:
        """The words in the text that name a condition, in order of appearance."""
        found = [(m.start(), m.group(0)) for p in self._patterns.values() for m in p.finditer(text)]
        return [w for _, w in sorted(found)]


def missing_conditions(item_conditions: tuple[frozenset[str], ...], question_conditions: frozenset[str]
                       ) -> frozenset[str]:
    """Conditions that define the item but that the question does not name: of each group of alternatives
    (`ConditionDetector.alternatives`) the question names none."""
    return frozenset().union(*(g for g in item_conditions if not g & question_conditions))
