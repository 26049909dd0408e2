"""Issue 12 item 2: does a learned combination of the decision signals beat the hand-written threshold rule?

5-fold cross-validation on the calibration set only (the evaluation sets are never used): in each fold the
threshold rule is calibrated on four fifths (`assistant calibrate`'s search) and a logistic regression per
route (FAQ, passage) is fitted on the same rows, its probability cut chosen by the same objective; both are
scored on the held-out fifth with that objective (+1 right, −3 wrong answer, ±0.5 choices, −1 needless flag
or dismissal).

    .venv/bin/python scripts/bench/decider_cv.py [--folds 5] [--seed 7] [--limit N]
"""

from __future__ import annotations

import argparse

import numpy as np
from common import CALIBRATION, emit, labels, runtime

from assistant.answering import decision as D
from assistant.answering.calibration import Row, calibrate, collect, encoded_once, fold_splits, utility
from assistant.answering.decision import Calibration, Decision, Features, RouteFeatures

CUTS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.99)


def signals(r: RouteFeatures, f: Features) -> list[float]:
    """The numbers the threshold rule looks at, as one vector."""
    return [r.relevance, r.dense, r.coverage, r.margin, max(min(r.confidence, 6.0), -6.0), float(r.agree),
            float(f.domain_words > 0)]


def samples(rows: list[Row], route: str) -> tuple[np.ndarray, np.ndarray]:
    """One sample per question part: the route's best item's signals; 1 when it is an expected source."""
    x, y = [], []
    for row in rows:
        for part in row.parts:
            r = getattr(part.features, route)
            if r is None or r.missing_condition:
                continue
            target = part.faq if route == "faq" else part.chunk
            x.append(signals(r, part.features))
            y.append(int(row.label.status == "answered" and target in row.label.expected))
    return np.array(x), np.array(y)


class LearnedRule:
    """The decision with each route's thresholds replaced by a logistic regression's probability cut."""

    def __init__(self, models: dict, cuts: dict[str, float]):
        self.models, self.cuts = models, cuts

    def trusted(self, route: str, r: RouteFeatures, f: Features) -> bool:
        model = self.models[route]
        return (not r.missing_condition and model is not None
                and model.predict_proba([signals(r, f)])[0, 1] >= self.cuts[route])

    def __call__(self, f: Features, c: Calibration) -> Decision:
        if f.crisis or f.individual_case or not f.domain_words:
            return D.decide(f, c)  # the same rule for everything but trusting an item
        lacking = False
        for route in ("faq", "chunk"):
            r = getattr(f, route)
            if r and self.trusted(route, r, f):
                if not f.lacks_detail(r):
                    return Decision(D.ANSWERED, route, f"learned: {route}")
                lacking = True
        if lacking:
            return Decision(D.FLAGGED, None, "asks for an amount or contact the knowledge base does not state")
        return D._unanswered(f, c)


def fit_learned(train: list[Row], c: Calibration) -> LearnedRule:
    from sklearn.linear_model import LogisticRegression

    models = {}
    for route in ("faq", "chunk"):
        x, y = samples(train, route)
        models[route] = LogisticRegression(max_iter=1000).fit(x, y) if len(set(y)) > 1 else None
    best, best_score = None, -1e9
    for cf in CUTS:
        for cc in CUTS:
            rule = LearnedRule(models, {"faq": cf, "chunk": cc})
            score = utility(train, c, rule)[0]
            if score > best_score:
                best, best_score = rule, score
    assert best is not None
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--limit", type=int, default=None, help="only the first N calibration questions")
    args = parser.parse_args()
    rt = runtime()
    with encoded_once(rt.answerer):
        rows = collect(rt.answerer, rt.regions, labels(CALIBRATION, args.limit))
    start = rt.answerer.calibration
    per_fold: list[dict] = []
    totals = {"threshold_rule": 0.0, "logistic_regression": 0.0}
    for k, (train, test) in enumerate(fold_splits(rows, args.folds, args.seed)):
        rule = calibrate(train, start).calibration
        learned = fit_learned(train, rule)
        scores = {"threshold_rule": utility(test, rule)[0], "logistic_regression": utility(test, rule, learned)[0]}
        for name, value in scores.items():
            totals[name] += value
        per_fold.append({"fold": k, "questions": len(test), **scores, "cuts": learned.cuts})
    emit("decider_cv", {"calibration_questions": len(rows), "folds": per_fold,
                        **{f"{name}_total": value for name, value in totals.items()}})


if __name__ == "__main__":
    main()
