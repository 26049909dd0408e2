"""Choose decision thresholds on a labelled calibration set.

Retrieval runs once per question; the decision is a pure function of the features, so many
threshold settings can be tried quickly. The objective weighs errors by their harm: a wrong
answer (answering what should be flagged, or citing the wrong source) costs 3, dismissing a real
question as out of scope costs 1, a needless flag costs 1, and every right decision earns 1.
Thresholds are searched coordinate-wise (FAQ route, passage route, domain cut-off, twice over).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from assistant.answering.decision import Calibration, Features, RouteThresholds, decide
from assistant.answering.models import ANSWERED, FLAGGED, OUT_OF_SCOPE
from assistant.answering.pipeline import Answerer, overall_status
from assistant.evaluation import Labelled
from assistant.knowledge.regions import RegionTree

WRONG_ANSWER_COST = 3.0
DISMISS_COST = 1.0
NEEDLESS_FLAG_COST = 1.0
RELEVANCE_GRID = np.round(np.arange(0.80, 1.105, 0.005), 3)
COVERAGE_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
MARGIN_GRID = (0.0, 0.005, 0.01, 0.02)
DOMAIN_GRID = np.round(np.arange(0.80, 0.96, 0.01), 3)


@dataclass(frozen=True)
class Row:
    """One labelled question with the features of each of its parts (retrieval already done)."""

    label: Labelled
    parts: tuple[tuple[Features, str | None, str | None], ...]  # features, top FAQ target, top chunk target


def collect(answerer: Answerer, regions: RegionTree, labels: list[Labelled]) -> list[Row]:
    rows = []
    for label in labels:
        code = regions.resolve(label.county).code
        _, results, _ = answerer.analyse_question(label.question, code)
        parts = [(r.features, r.faq[0].item.target if r.faq else None, r.chunks[0].item.target if r.chunks else None)
                 for r in results]
        rows.append(Row(label, tuple(parts)))
    return rows


def utility(rows: list[Row], c: Calibration) -> tuple[float, float]:
    """(objective, accuracy) of calibration `c` on `rows`."""
    total, correct = 0.0, 0
    for row in rows:
        decisions = [decide(f, c) for f, _, _ in row.parts]
        predicted = overall_status([d.status for d in decisions])
        label = row.label
        if predicted == ANSWERED:
            chosen = {faq if d.route == "faq" else chunk for d, (_, faq, chunk) in zip(decisions, row.parts,
                                                                                      strict=True)}
            right = label.status == ANSWERED and (not label.expected or bool(chosen & set(label.expected)))
            total += 1 if right else -WRONG_ANSWER_COST
            correct += right
        elif predicted == label.status:
            total += 1
            correct += 1
        elif predicted == OUT_OF_SCOPE:
            total -= DISMISS_COST
        elif predicted == FLAGGED and label.status == ANSWERED:
            total -= NEEDLESS_FLAG_COST
        # flagged when out of scope: harmless (a person reads it), neither reward nor cost
    return total, correct / len(rows) if rows else 0.0


@dataclass(frozen=True)
class CalibrationResult:
    calibration: Calibration
    objective: float
    accuracy: float

    @property
    def summary(self) -> str:
        c = self.calibration
        return (f"FAQ: relevance ≥ {c.faq.min_relevance}, coverage ≥ {c.faq.min_coverage}, "
                f"margin ≥ {c.faq.min_margin}, relevance when dense and BM25 agree ≥ {c.faq.min_relevance_agree}\n"
                f"passage: relevance ≥ {c.chunk.min_relevance}, coverage ≥ {c.chunk.min_coverage}, "
                f"margin ≥ {c.chunk.min_margin}, relevance when dense and BM25 agree ≥ {c.chunk.min_relevance_agree}\n"
                f"domain relevance ≥ {c.domain_relevance}\n"
                f"objective {self.objective:.1f}, accuracy on the calibration set {self.accuracy:.3f}")


def _best_route(rows: list[Row], base: Calibration, route: str) -> Calibration:
    best, best_score = base, utility(rows, base)[0]
    for rel in RELEVANCE_GRID:
        for cov in COVERAGE_GRID:
            for margin in MARGIN_GRID:
                cand = replace(base, **{route: RouteThresholds(float(rel), cov, margin)})
                score = utility(rows, cand)[0]
                if score > best_score:
                    best, best_score = cand, score
    current: RouteThresholds = getattr(best, route)
    for agree in RELEVANCE_GRID[current.min_relevance > RELEVANCE_GRID]:
        cand = replace(best, **{route: replace(current, min_relevance_agree=float(agree))})
        score = utility(rows, cand)[0]
        if score > best_score:
            best, best_score = cand, score
    return best


def calibrate(rows: list[Row], start: Calibration | None = None, rounds: int = 2) -> CalibrationResult:
    c = start or Calibration()
    for _ in range(rounds):
        c = _best_route(rows, c, "faq")
        c = _best_route(rows, c, "chunk")
        c = max((replace(c, domain_relevance=float(d)) for d in DOMAIN_GRID), key=lambda x: utility(rows, x)[0])
    objective, accuracy = utility(rows, c)
    c = replace(c, notes=f"chosen by `assistant calibrate` on {len(rows)} labelled questions; "
                         f"objective {objective:.1f}, accuracy {accuracy:.3f}")
    return CalibrationResult(c, objective, accuracy)
