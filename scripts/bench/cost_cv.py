"""How does the price of a wrong answer trade answers against wrong answers on questions not calibrated on?

5-fold cross-validation on the calibration set only (the evaluation sets are never used): for each cost of a
wrong answer, the thresholds are calibrated on four fifths with that cost and the decisions counted on the
held-out fifth. Prints, per cost, the held-out share of answerable questions answered right, answered or with
a right choice, and the wrong or unwarranted answers among all questions — the figures the product's policy
("a confident wrong answer is the worst defect") is chosen from.

    .venv/bin/python scripts/bench/cost_cv.py [--costs 3 5 8 12] [--folds 5] [--seed 7]
"""

from __future__ import annotations

import argparse
from collections import Counter

from common import CALIBRATION, emit, labels, runtime

from assistant.answering.calibration import (
    CHOICE_RIGHT,
    CHOICE_WRONG,
    DISMISSED,
    NEEDLESS_FLAG,
    RIGHT,
    WRONG,
    Objective,
    calibrate,
    collect,
    encoded_once,
    fold_splits,
    outcome,
)
from assistant.answering.models import ANSWERED


def figures(counts: Counter, answerable: int, total: int) -> dict:
    return {"answered_right": round(counts[RIGHT] / answerable, 3),
            "right_or_choice": round((counts[RIGHT] + counts[CHOICE_RIGHT]) / answerable, 3),
            "wrong": counts[WRONG], "wrong_share": round(counts[WRONG] / total, 3),
            "choices_without_right_entry": counts[CHOICE_WRONG],
            "needless_flags_or_dismissed": counts[NEEDLESS_FLAG] + counts[DISMISSED]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--costs", type=float, nargs="+", default=[3.0, 5.0, 8.0, 12.0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rt = runtime()
    with encoded_once(rt.answerer):
        rows = collect(rt.answerer, rt.regions, labels(CALIBRATION))
    splits = fold_splits(rows, args.folds, args.seed)
    answerable = sum(r.label.status == ANSWERED for r in rows)
    results = {}
    for cost in args.costs:
        objective = Objective(wrong_answer=cost)
        held_out: Counter = Counter()
        for train, test in splits:
            rule = calibrate(train, rt.answerer.calibration, objective=objective).calibration
            held_out.update(outcome(r, rule) for r in test)
        in_sample = calibrate(rows, rt.answerer.calibration, objective=objective).calibration
        results[f"cost {cost:g}"] = {
            "held_out": figures(held_out, answerable, len(rows)),
            "in_sample": figures(Counter(outcome(r, in_sample) for r in rows), answerable, len(rows))}
    emit("cost_cv", {"calibration_questions": len(rows), "answerable": answerable, "folds": args.folds,
                     "results": results})


if __name__ == "__main__":
    main()
