"""Decide, from several retrieval signals, whether a question part is answered, flagged or out of scope.

Pure functions over plain numbers, so the thresholds can be calibrated on a labelled set
(see `assistant.answering.calibration`) and the decision tested in isolation.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from assistant.answering.models import ANSWERED, FLAGGED, OUT_OF_SCOPE, SUGGESTED
from assistant.index.search import RankingWeights

DEFAULT_CALIBRATION = Path(__file__).with_name("calibration.json")


@dataclass(frozen=True)
class RouteThresholds:
    """An item is trusted as the answer when all of these hold."""

    min_relevance: float
    min_coverage: float
    min_margin: float = 0.0  # over the best candidate that gives a different answer
    # a lower relevance suffices when the dense and the lexical ranking agree on the item
    min_relevance_agree: float = 1.0
    # how far the best stands out from the other candidates in scope (standard deviations)
    min_confidence: float = -99.0


@dataclass(frozen=True)
class Calibration:
    faq: RouteThresholds = field(default_factory=lambda: RouteThresholds(0.90, 0.30))
    chunk: RouteThresholds = field(default_factory=lambda: RouteThresholds(0.88, 0.45))
    # below this relevance, a question with no domain word is not about release and reintegration
    domain_relevance: float = 0.86
    # "你是想问……？": approved FAQ entries at least this relevant are offered as choices
    suggest_relevance: float = 0.93
    ranking: RankingWeights = field(default_factory=RankingWeights)
    notes: str = ""

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path | None = None) -> Calibration:
        path = path or DEFAULT_CALIBRATION
        if not path.exists():
            return cls()
        raw = json.loads(path.read_text(encoding="utf-8"))
        defaults = cls()
        return cls(RouteThresholds(**raw["faq"]), RouteThresholds(**raw["chunk"]), raw["domain_relevance"],
                   raw.get("suggest_relevance", defaults.suggest_relevance),
                   RankingWeights(**raw.get("ranking", {})), raw.get("notes", ""))


@dataclass(frozen=True)
class RouteFeatures:
    """Signals about the best item of one kind (FAQ or chunk) for a question part."""

    relevance: float = 0.0
    coverage: float = 0.0
    margin: float = 0.0  # relevance gap to the runner-up item of the same kind
    dense: float = 0.0
    agree: bool = False  # the best item is near the top of both the dense and the BM25 lists
    has_amount: bool = True  # the item states a sum of money
    has_contact: bool = True  # the item states a phone number or address
    confidence: float = 0.0  # (best − mean of the others) / their standard deviation
    missing_condition: bool = False  # the item is defined by a condition the question does not name

    def passes(self, t: RouteThresholds) -> bool:
        relevant = self.relevance >= t.min_relevance or (self.agree and self.relevance >= t.min_relevance_agree)
        return (relevant and self.coverage >= t.min_coverage and self.margin >= t.min_margin
                and self.confidence >= t.min_confidence and not self.missing_condition)


@dataclass(frozen=True)
class Features:
    faq: RouteFeatures | None
    chunk: RouteFeatures | None
    domain_words: int
    individual_case: bool
    crisis: bool
    asks_amount: bool = False
    asks_contact: bool = False
    # relevance of the best FAQ entries that each say something different (best first): the choices
    offered: tuple[float, ...] = ()

    def lacks_detail(self, route: RouteFeatures) -> bool:
        """The question asks for an amount or contact that the item does not state (never guess it)."""
        return (self.asks_amount and not route.has_amount) or (self.asks_contact and not route.has_contact)

    @property
    def best_relevance(self) -> float:
        return max((r.relevance for r in (self.faq, self.chunk) if r), default=0.0)


@dataclass(frozen=True)
class Decision:
    status: str
    route: str | None
    reason: str
    suggestions: int = 0  # how many of the offered FAQ entries to show (status suggested)


def decide(f: Features, c: Calibration) -> Decision:
    """answered (by FAQ or passage) / flagged / out_of_scope, with a short reason for the debug view."""
    if f.crisis:
        return Decision(FLAGGED, None, "crisis expression")
    if f.individual_case:
        return Decision(FLAGGED, None, "about the asker's own case")
    if not f.domain_words:  # nothing of release and reintegration named: never answered automatically
        return _unanswered(f, c)
    lacking = False
    if f.faq and f.faq.passes(c.faq):
        if not f.lacks_detail(f.faq):
            return Decision(ANSWERED, "faq", "approved FAQ matches")
        lacking = True
    if f.chunk and f.chunk.passes(c.chunk):
        if not f.lacks_detail(f.chunk):
            return Decision(ANSWERED, "chunk", "policy passage matches")
        lacking = True
    if lacking:
        return Decision(FLAGGED, None, "asks for an amount or contact the knowledge base does not state")
    return _unanswered(f, c)


def _unanswered(f: Features, c: Calibration) -> Decision:
    """No confident answer: choices when approved entries are plausible, else flagged or out of scope."""
    if f.domain_words or f.best_relevance >= c.domain_relevance:
        n = sum(1 for r in f.offered if r >= c.suggest_relevance)
        if n:
            return Decision(SUGGESTED, None, "plausible approved FAQ entries offered as choices", n)
        return Decision(FLAGGED, None, "in the domain, not answerable from the knowledge base")
    return Decision(OUT_OF_SCOPE, None, "not about release and reintegration")
