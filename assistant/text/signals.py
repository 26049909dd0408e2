"""Lexical signals: crisis expressions, individual-case questions, domain vocabulary."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant.knowledge.models import FILL_IN_RE, Signals


@dataclass(frozen=True)
class SignalMatch:
    crisis: bool
    individual_case: bool
    domain_hits: tuple[str, ...]
    asks_amount: bool = False
    asks_contact: bool = False


class SignalDetector:
    """Compiled patterns from lexicon/signals.yaml (and the own-case model); `run` looks at normalised text."""

    def __init__(self, signals: Signals, own_case: Callable[[str], bool] | None = None,
                 subjects: re.Pattern[str] | None = None):
        self._own_case = own_case  # a learned check beside the patterns (text/own_case.py), when calibrated
        # the lexicon's activity and subject words (医保, 当兵, 法援 …): naming a subject the knowledge base
        # covers marks a question as in the domain as much as the domain words do
        self._subjects = subjects
        self._crisis = [re.compile(p) for p in signals.crisis]
        self._individual = [re.compile(p) for p in signals.individual_case]
        self._domain = [re.compile(p) for p in signals.domain]
        self._amount = [re.compile(p) for p in signals.asks_amount]
        self._contact = [re.compile(p) for p in signals.asks_contact]

    def crisis(self, text: str) -> bool:
        """Whether `text` holds a crisis expression (alone: the other signals are not needed for it)."""
        return any(p.search(text) for p in self._crisis)

    def domain_hits(self, text: str) -> tuple[str, ...]:
        """The domain words and subject words `text` names (first occurrence of each pattern)."""
        found = [m.group(0) for p in self._domain if (m := p.search(text))]
        if self._subjects is not None:
            found += [w for w in dict.fromkeys(self._subjects.findall(text)) if w not in found]
        return tuple(found)

    def run(self, text: str) -> SignalMatch:
        return SignalMatch(
            crisis=self.crisis(text),
            individual_case=any(p.search(text) for p in self._individual)
            or (self._own_case is not None and self._own_case(text)),
            domain_hits=self.domain_hits(text),
            asks_amount=any(p.search(text) for p in self._amount),
            asks_contact=any(p.search(text) for p in self._contact),
        )


AMOUNT_RE = re.compile(r"\d[\d,.]*\s*(元|块|万元|万)")
# after "地址：" an address, not the punctuation left where a blank fill-in field was taken out
CONTACT_RE = re.compile(r"\d{3,4}-?\d{7,8}|1[3-9]\d{9}|\b12348\b|地址[:：]\s*[^\s；;。，,、：:）)】]")


def has_amount(text: str) -> bool:
    """The text states a sum of money (a filled-in figure, not a blank field)."""
    return bool(AMOUNT_RE.search(FILL_IN_RE.sub("", text)))


def has_contact(text: str) -> bool:
    """The text states a phone number or an address (not a blank fill-in field)."""
    return bool(CONTACT_RE.search(FILL_IN_RE.sub("", text)))
