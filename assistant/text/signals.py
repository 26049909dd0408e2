"""Lexical signals: crisis expressions, individual-case questions, domain vocabulary."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.knowledge.models import Signals


@dataclass(frozen=True)
class SignalMatch:
    crisis: bool
    individual_case: bool
    domain_hits: tuple[str, ...]


class SignalDetector:
    """Compiled patterns from lexicon/signals.yaml; `run` looks at normalised text."""

    def __init__(self, signals: Signals):
        self._crisis = [re.compile(p) for p in signals.crisis]
        self._individual = [re.compile(p) for p in signals.individual_case]
        self._domain = [re.compile(p) for p in signals.domain]

    def run(self, text: str) -> SignalMatch:
        return SignalMatch(
            crisis=any(p.search(text) for p in self._crisis),
            individual_case=any(p.search(text) for p in self._individual),
            domain_hits=tuple(m.group(0) for p in self._domain if (m := p.search(text))),
        )
