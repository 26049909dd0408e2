"""Choose ranking weights and decision thresholds on a labelled calibration set.

Ranking weights (coverage, missing-condition penalty) are chosen first, by recall@1 of the expected
source; questions are encoded once and re-ranked for every weight setting. Then retrieval runs once per
question and the decision, a pure function of the features, is searched over thresholds taken from the
range of scores the model actually produces (quantiles), so any encoder calibrates sensibly.

The objective weighs errors by their harm: a wrong answer (answering what should be flagged, or citing
the wrong source) costs 3, dismissing a real question as out of scope costs 1, a needless flag costs 1,
and every right decision earns 1. Offering choices earns 0.5 when a right entry is among them and costs
0.5 otherwise (the asker reads a list; "都不是" still flags the question).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from assistant.answering.decision import Calibration, Decision, Features, RouteThresholds, decide
from assistant.answering.models import ANSWERED, FLAGGED, OUT_OF_SCOPE, SUGGESTED
from assistant.answering.pipeline import MAX_SUGGESTIONS, Answerer, distinct_answers, overall_status
from assistant.evaluation import Labelled, ranked_targets
from assistant.index.search import RankingWeights
from assistant.knowledge.regions import RegionTree

WRONG_ANSWER_COST = 3.0
DISMISS_COST = 1.0
NEEDLESS_FLAG_COST = 1.0
CHOICE_GAIN = 0.5


@dataclass(frozen=True)
class Objective:
    """What each outcome is worth when thresholds are chosen (a right decision earns 1)."""

    wrong_answer: float = WRONG_ANSWER_COST  # answering what should be flagged, or citing the wrong source
    dismiss: float = DISMISS_COST  # a real question called out of scope
    needless_flag: float = NEEDLESS_FLAG_COST  # an answerable question flagged
    choice: float = CHOICE_GAIN  # choices offered: + when a right entry is among them, − otherwise

    def points(self) -> dict[str, float]:
        """What each outcome (`outcome`) scores."""
        return {RIGHT: 1.0, WRONG: -self.wrong_answer, CHOICE_RIGHT: self.choice, CHOICE_WRONG: -self.choice,
                AGREES: 1.0, DISMISSED: -self.dismiss, NEEDLESS_FLAG: -self.needless_flag, HARMLESS: 0.0}


DEFAULT_OBJECTIVE = Objective()
COVERAGE_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
MARGIN_GRID = (0.0, 0.005, 0.01, 0.02, 0.04)
CONFIDENCE_GRID = (-99.0, 1.0, 1.5, 2.0, 2.5, 3.0)
WEIGHT_GRID = {"coverage": (0.05, 0.1, 0.15, 0.25), "missing_condition": (0.0, 0.03),
               "entry_coverage": (0.0, 0.05, 0.1, 0.15, 0.2), "consensus": (0.0, 0.1),
               "title_precision": (0.0, 0.02, 0.04, 0.08)}


def score_grid(values: list[float], n: int = 40) -> np.ndarray:
    """Thresholds spanning the scores the model produced (so a model with wider scores calibrates too)."""
    if not values:
        return np.array([1.0])
    qs = np.quantile(np.asarray(values), np.linspace(0.02, 0.995, n))
    return np.unique(np.round(qs, 4))


@dataclass(frozen=True)
class PartRow:
    features: Features
    faq: str | None  # target of the best FAQ entry
    chunk: str | None  # target of the best passage
    offered: tuple[str, ...] = ()  # targets of the FAQ entries that would be offered as choices


@dataclass(frozen=True)
class Row:
    """One labelled question with the features of each of its parts (retrieval already done)."""

    label: Labelled
    parts: tuple[PartRow, ...]


def collect(answerer: Answerer, regions: RegionTree, labels: list[Labelled]) -> list[Row]:
    rows = []
    for label in labels:
        code = regions.resolve(label.county).code
        analysis = answerer.analyse_question(label.question, code)
        parts = []
        for r in analysis.parts:
            offered = tuple(c.item.target for c in r.suggestions) if r.suggestions else ()
            if not offered and r.faq:  # what would be offered if the decision offered choices
                offered = tuple(c.item.target for c in distinct_answers(r.faq, MAX_SUGGESTIONS))
            parts.append(PartRow(r.features, r.faq[0].item.target if r.faq else None,
                                 r.chunks[0].item.target if r.chunks else None, offered))
        rows.append(Row(label, tuple(parts)))
    return rows


RIGHT, WRONG, CHOICE_RIGHT, CHOICE_WRONG = "right", "wrong", "choice_right", "choice_wrong"
AGREES, DISMISSED, NEEDLESS_FLAG, HARMLESS = "agrees", "dismissed", "needless_flag", "harmless"


def outcome(row: Row, c: Calibration, decider: Callable[[Features, Calibration], Decision] = decide) -> str:
    """What the decision does with one labelled question: answers it right or wrong, offers choices with or
    without a right entry, agrees with a flag or out-of-scope label, dismisses it, flags it needlessly, or flags
    an off-topic question (harmless: a person reads it)."""
    decisions = [decider(p.features, c) for p in row.parts]
    predicted = overall_status([d.status for d in decisions])
    label = row.label
    if predicted == ANSWERED:
        chosen = {p.faq if d.route == "faq" else p.chunk for d, p in zip(decisions, row.parts, strict=True)}
        return RIGHT if label.status == ANSWERED and (not label.expected or chosen <= set(label.expected)) else WRONG
    if predicted == SUGGESTED:
        offered = {t for d, p in zip(decisions, row.parts, strict=True) for t in p.offered[:d.suggestions]}
        return CHOICE_RIGHT if label.status == ANSWERED and bool(offered & set(label.expected)) else CHOICE_WRONG
    if predicted == label.status:
        return AGREES
    if predicted == OUT_OF_SCOPE:
        return DISMISSED
    return NEEDLESS_FLAG if predicted == FLAGGED and label.status == ANSWERED else HARMLESS


def utility(rows: list[Row], c: Calibration,
            decider: Callable[[Features, Calibration], Decision] = decide,
            objective: Objective = DEFAULT_OBJECTIVE) -> tuple[float, float]:
    """(objective, accuracy) of calibration `c` on `rows` (`decider`: another decision rule to compare)."""
    points = objective.points()
    total, correct = 0.0, 0
    for row in rows:
        result = outcome(row, c, decider)
        total += points[result]
        correct += result in (RIGHT, AGREES)
    return total, correct / len(rows) if rows else 0.0


@dataclass(frozen=True)
class CalibrationResult:
    calibration: Calibration
    objective: float
    accuracy: float
    recall_at_1: float = 0.0
    held_out_objective: float = 0.0  # of the chosen ranking, by cross-validation (0 when not compared)

    @property
    def summary(self) -> str:
        c = self.calibration
        lines = []
        for name, t in (("FAQ", c.faq), ("passage", c.chunk)):
            lines.append(f"{name}: relevance ≥ {t.min_relevance}, coverage ≥ {t.min_coverage}, "
                         f"margin over a different answer ≥ {t.min_margin}, confidence ≥ {t.min_confidence}, "
                         f"relevance when dense and BM25 agree ≥ {t.min_relevance_agree}")
        lines.append(f"domain relevance ≥ {c.domain_relevance}; choices offered from relevance ≥ "
                     f"{c.suggest_relevance}")
        lines.append(f"ranking: coverage × {c.ranking.coverage}, whole-entry coverage × {c.ranking.entry_coverage}, "
                     f"key consensus × {c.ranking.consensus}, own-question precision × {c.ranking.title_precision}, "
                     f"missing condition − {c.ranking.missing_condition} "
                     f"(recall@1 on the calibration set {self.recall_at_1:.3f})")
        lines.append(f"objective {self.objective:.1f}, accuracy on the calibration set {self.accuracy:.3f}"
                     + (f"; objective on held-out folds {self.held_out_objective:.1f}" if self.held_out_objective
                        else ""))
        return "\n".join(lines)


def _relevances(rows: list[Row], route: str) -> list[float]:
    return [getattr(p.features, route).relevance for r in rows for p in r.parts if getattr(p.features, route)]


def _with_route(cal: Calibration, route: str, thresholds: RouteThresholds) -> Calibration:
    """`cal` with the thresholds of `route` ("faq" or "chunk") replaced."""
    return replace(cal, faq=thresholds) if route == "faq" else replace(cal, chunk=thresholds)


MAX_TABULATED_PARTS = 10
_ALWAYS = RouteThresholds(-np.inf, -np.inf, -np.inf, -np.inf, -np.inf)  # every present item passes
_NEVER = RouteThresholds(np.inf, np.inf, np.inf, np.inf, np.inf)  # no item passes


class RouteScorer:
    """`utility(rows, base with the thresholds of `route` replaced)[0]` for many thresholds, fast.

    With everything else fixed, what the decision does with a question depends only on which of its parts'
    best `route` item passes the thresholds. So the objective of every row is computed once per pattern of
    passing parts (by the same `outcome` and `decide`), and a threshold setting costs one vectorised
    `passes` over all parts and a table lookup, instead of deciding every question again."""

    def __init__(self, rows: list[Row], base: Calibration, route: str, objective: Objective = DEFAULT_OBJECTIVE):
        points = objective.points()
        self._rows, self._base, self._route, self._points = rows, base, route, points
        feats = [getattr(p.features, route) for r in rows for p in r.parts]

        def column(name: str, missing: float) -> np.ndarray:
            return np.array([getattr(f, name) if f is not None else missing for f in feats], dtype=np.float64)

        self._rel = column("relevance", -np.inf)
        self._cov = column("coverage", -np.inf)
        self._margin = column("margin", -np.inf)
        self._conf = column("confidence", -np.inf)
        self._agree = np.array([f is not None and f.agree for f in feats], dtype=bool)
        self._can = np.array([f is not None and not f.missing_condition for f in feats], dtype=bool)
        self._count = np.array([len(r.parts) for r in rows], dtype=np.int64)
        self._first = np.concatenate([[0], np.cumsum(self._count)[:-1]]).astype(np.int64)  # each row's first part
        # a row's patterns are entries offset..offset + 2**parts of one flat table; a question of more than
        # MAX_TABULATED_PARTS parts is decided again for each setting instead (its table would be too large)
        self._wide = self._count > MAX_TABULATED_PARTS
        sizes = np.where(self._wide, 0, 2 ** np.minimum(self._count, MAX_TABULATED_PARTS))
        self._offset = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        table: list[float] = []
        for row, wide in zip(rows, self._wide.tolist(), strict=True):
            for pattern in range(0 if wide else 2 ** len(row.parts)):
                forced = {id(p.features): (_ALWAYS if pattern >> j & 1 else _NEVER) for j, p in enumerate(row.parts)}

                def decider(f: Features, c: Calibration, forced: dict = forced) -> Decision:
                    return decide(f, _with_route(c, route, forced[id(f)]))

                table.append(points[outcome(row, base, decider)])
        self._table = np.array(table, dtype=np.float64)

    def passes(self, t: RouteThresholds) -> np.ndarray:
        """`RouteFeatures.passes(t)` of every part at once (False where the part has no item of the route)."""
        relevant = (self._rel >= t.min_relevance) | (self._agree & (self._rel >= t.min_relevance_agree))
        return (self._can & relevant & (self._cov >= t.min_coverage) & (self._margin >= t.min_margin)
                & (self._conf >= t.min_confidence))

    def __call__(self, t: RouteThresholds) -> float:
        passed = self.passes(t).astype(np.int64)
        pattern = np.zeros(len(self._first), dtype=np.int64)
        for j in range(min(int(self._count.max(initial=0)), MAX_TABULATED_PARTS)):
            has = (self._count > j) & ~self._wide
            pattern[has] |= passed[self._first[has] + j] << j
        # a wide row's entry is a placeholder (its value is decided below)
        values = (self._table[np.where(self._wide, 0, self._offset + pattern)].tolist() if len(self._table)
                  else [0.0] * len(pattern))
        cal = _with_route(self._base, self._route, t) if self._wide.any() else self._base
        total = 0.0
        for i, value in enumerate(values):  # summed in row order, as `utility` sums
            total += self._points[outcome(self._rows[i], cal)] if self._wide[i] else value
        return total


def _best_route(rows: list[Row], base: Calibration, route: str,
                objective: Objective = DEFAULT_OBJECTIVE) -> Calibration:
    score_of = RouteScorer(rows, base, route, objective)
    best, best_score = base, score_of(getattr(base, route))
    grid = score_grid(_relevances(rows, route))
    for rel in grid:
        for cov in COVERAGE_GRID:
            for margin in MARGIN_GRID:
                thresholds = RouteThresholds(float(rel), cov, margin)
                score = score_of(thresholds)
                if score > best_score:
                    best, best_score = _with_route(base, route, thresholds), score
    current: RouteThresholds = getattr(best, route)
    for conf in CONFIDENCE_GRID:
        thresholds = replace(current, min_confidence=conf)
        score = score_of(thresholds)
        if score > best_score:
            best, best_score = _with_route(best, route, thresholds), score
    current = getattr(best, route)
    for agree in grid[current.min_relevance > grid]:
        thresholds = replace(current, min_relevance_agree=float(agree))
        score = score_of(thresholds)
        if score > best_score:
            best, best_score = _with_route(best, route, thresholds), score
    return best


def calibrate(rows: list[Row], start: Calibration | None = None, rounds: int = 2,
              objective: Objective = DEFAULT_OBJECTIVE) -> CalibrationResult:
    """Thresholds for the decision (ranking weights are kept as in `start`)."""
    c = start or Calibration()
    all_rel = _relevances(rows, "faq") + _relevances(rows, "chunk")
    domain_grid = score_grid(all_rel, 30)
    for _ in range(rounds):
        c = _best_route(rows, c, "faq", objective)
        c = _best_route(rows, c, "chunk", objective)
        def value(x: Calibration) -> float:
            return utility(rows, x, objective=objective)[0]

        c = max((replace(c, domain_relevance=float(d)) for d in domain_grid), key=value)
        c = max((replace(c, suggest_relevance=float(d)) for d in [*score_grid(_relevances(rows, "faq"), 30), 9.0]),
                key=value)
    score, accuracy = utility(rows, c, objective=objective)
    c = replace(c, notes=f"chosen by `assistant calibrate` on {len(rows)} labelled questions; "
                         f"objective {score:.1f}, accuracy {accuracy:.3f}")
    return CalibrationResult(c, score, accuracy)


def recall_at_1(answerer: Answerer, regions: RegionTree, labels: list[Labelled]) -> float:
    hits = n = 0
    for label in labels:
        if label.status != ANSWERED or not label.expected:
            continue
        n += 1
        ranked = ranked_targets(answerer.analyse_question(label.question, regions.resolve(label.county).code).parts)
        hits += bool(ranked) and ranked[0] in label.expected
    return hits / n if n else 0.0


@contextmanager
def encoded_once(answerer: Answerer) -> Iterator[None]:
    """Within the block, each distinct question text is encoded once (re-ranking only costs the search)."""
    searcher = answerer.searcher
    original = searcher.prepare
    searcher.prepare = lru_cache(maxsize=None)(original)  # type: ignore[method-assign]
    try:
        yield
    finally:
        searcher.prepare = original  # type: ignore[method-assign]


def ranking_candidates(answerer: Answerer, regions: RegionTree, labels: list[Labelled], keep: int = 4,
                       within: float = 0.01, rounds: int = 2) -> list[tuple[RankingWeights, float]]:
    """The ranking weights whose recall@1 is within `within` of the best found (at most `keep`, best first; ties
    keep the simpler weights). Searched one weight at a time over its grid (`WEIGHT_GRID`), the others held,
    for `rounds` rounds: a few dozen re-rankings instead of the whole product. Use inside `encoded_once`."""
    searcher = answerer.searcher
    original = searcher.weights
    seen: dict[RankingWeights, float] = {}

    def recall(w: RankingWeights) -> float:
        if w not in seen:
            searcher.weights = w
            seen[w] = recall_at_1(answerer, regions, labels)
        return seen[w]

    current = RankingWeights(**{name: grid[0] for name, grid in WEIGHT_GRID.items()})
    try:
        for _ in range(rounds):
            for name, grid in WEIGHT_GRID.items():
                # ties keep the earlier (smaller) value of the grid
                current = max((replace(current, **{name: v}) for v in grid), key=recall)
    finally:
        searcher.weights = original
    best = max(seen.values())
    close = [(w, r) for w, r in seen.items() if r >= best - within - 1e-9]
    close.sort(key=lambda x: (-x[1], sum(abs(v) for v in vars(x[0]).values())))
    return close[:keep]


def fold_splits(rows: list[Row], folds: int = 5, seed: int = 7) -> list[tuple[list[Row], list[Row]]]:
    """(fit on, score on) for each of `folds` folds: a fixed shuffle, every `folds`-th question held out in turn;
    both keep the questions' order."""
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    out = []
    for k in range(folds):
        held = set(order[k::folds])
        out.append(([r for i, r in enumerate(rows) if i not in held], [r for i, r in enumerate(rows) if i in held]))
    return out


def cross_validated(rows: list[Row], start: Calibration, folds: int = 5, seed: int = 7,
                    objective: Objective = DEFAULT_OBJECTIVE) -> float:
    """The objective on questions the thresholds were not fitted on: thresholds fitted on the other folds
    (`fold_splits`) and scored on each fold in turn, summed."""
    total = 0.0
    for train, test in fold_splits(rows, folds, seed):
        fitted = calibrate(train, start, objective=objective).calibration
        total += utility(test, fitted, objective=objective)[0]
    return total


def fit_everything(answerer: Answerer, regions: RegionTree, labels: list[Labelled],
                   objective: Objective = DEFAULT_OBJECTIVE, folds: int = 5) -> CalibrationResult:
    """Ranking weights and thresholds together. The weights nearly as good as the best by recall@1
    (`ranking_candidates`), and the weights in use, are compared by the objective their thresholds reach on
    questions they were not fitted on (`cross_validated`): more weights always fit the calibration set better,
    not always new questions. The winner's thresholds are then fitted on every question."""
    searcher = answerer.searcher
    original = searcher.weights
    try:
        with encoded_once(answerer):
            candidates = ranking_candidates(answerer, regions, labels)
            if original not in dict(candidates):  # the weights in use are always among those compared
                candidates.append((original, recall_at_1(answerer, regions, labels)))
            best: tuple[float, RankingWeights, float, list[Row]] | None = None
            for weights, recall in candidates:
                searcher.weights = weights
                rows = collect(answerer, regions, labels)
                start = replace(answerer.calibration, ranking=weights)
                held_out = (cross_validated(rows, start, folds, objective=objective)
                            if len(candidates) > 1 and len(rows) >= folds * 10 else 0.0)
                if best is None or held_out > best[0] + 1e-9:
                    best = held_out, weights, recall, rows
    finally:
        searcher.weights = original
    assert best is not None  # the grid is never empty
    held_out, weights, recall, rows = best
    result = calibrate(rows, replace(answerer.calibration, ranking=weights), objective=objective)
    return replace(result, recall_at_1=recall, held_out_objective=held_out)
