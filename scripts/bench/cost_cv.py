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
import random
from collections import Counter

from common import CALIBRATION, emit, labels, runtime

from assistant.answering.calibration import Objective, Row, calibrate, collect, encoded_once
from assistant.answering.decision import Calibration, decide
from assistant.answering.models import ANSWERED, SUGGESTED
from assistant.answering.pipeline import overall_status


def outcome(row: Row, c: Calibration) -> str:
    """right / wrong / choice_right / choice_wrong / flag_ok / flag_needless / other for one question."""
    decisions = [decide(p.features, c) for p in row.parts]
    predicted = overall_status([d.status for d in decisions])
    label = row.label
    if predicted == ANSWERED:
        chosen = {p.faq if d.route == "faq" else p.chunk for d, p in zip(decisions, row.parts, strict=True)}
        right = label.status == ANSWERED and (not label.expected or chosen <= set(label.expected))
        return "right" if right else "wrong"
    if predicted == SUGGESTED:
        offered = {t for d, p in zip(decisions, row.parts, strict=True) for t in p.offered[:d.suggestions]}
        right = label.status == ANSWERED and bool(offered & set(label.expected))
        return "choice_right" if right else "choice_wrong"
    if label.status == ANSWERED:
        return "needless"
    return "ok" if predicted == label.status else "other"


def figures(counts: Counter, answerable: int, total: int) -> dict:
    return {"answered_right": round(counts["right"] / answerable, 3),
            "right_or_choice": round((counts["right"] + counts["choice_right"]) / answerable, 3),
            "wrong": counts["wrong"], "wrong_share": round(counts["wrong"] / total, 3),
            "choices_without_right_entry": counts["choice_wrong"], "needless_flags": counts["needless"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--costs", type=float, nargs="+", default=[3.0, 5.0, 8.0, 12.0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rt = runtime()
    with encoded_once(rt.answerer):
        rows = collect(rt.answerer, rt.regions, labels(CALIBRATION))
    order = list(range(len(rows)))
    random.Random(args.seed).shuffle(order)
    folds = [order[i::args.folds] for i in range(args.folds)]
    answerable = sum(r.label.status == ANSWERED for r in rows)
    results = {}
    for cost in args.costs:
        objective = Objective(wrong_answer=cost)
        held_out: Counter = Counter()
        for k, held in enumerate(folds):
            train = [rows[i] for j, f in enumerate(folds) if j != k for i in f]
            rule = calibrate(train, rt.answerer.calibration, objective=objective).calibration
            held_out.update(outcome(rows[i], rule) for i in held)
        in_sample = calibrate(rows, rt.answerer.calibration, objective=objective).calibration
        results[f"cost {cost:g}"] = {
            "held_out": figures(held_out, answerable, len(rows)),
            "in_sample": figures(Counter(outcome(r, in_sample) for r in rows), answerable, len(rows))}
    emit("cost_cv", {"calibration_questions": len(rows), "answerable": answerable, "folds": args.folds,
                     "results": results})


if __name__ == "__main__":
    main()
