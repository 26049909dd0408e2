"""Answer quality on a labelled set: this system vs BM25 alone, dense alone and a LangChain baseline.

    .venv/bin/python scripts/bench/quality.py [--set tests/data/frozen_test.jsonl] [--limit N] [--skip-langchain]
The LangChain baseline needs the optional extra: pip install -e ".[bench]".
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import CALIBRATION, EVAL, emit, labels, runtime


def system_figures(rt, eval_labels) -> dict:
    from assistant.evaluation import evaluate

    report, _ = evaluate(rt.answerer, rt.regions, eval_labels)
    figures = report.to_json()
    return {"recall@1": round(report.recall_at(1), 3), "recall@5": round(report.recall_at(5), 3),
            "mrr": round(report.mrr, 3), "decision_accuracy": round(report.accuracy(), 3),
            "wrong_or_unwarranted_answers": len(report.wrong_answers) + len(report.unwarranted),
            **{k: figures[k] for k in ("answerable_answered_right", "answerable_answered_or_choice_right",
                                       "wrong_or_unwarranted_share", "own_case_or_uncovered_flagged",
                                       "offtopic_not_answered", "crisis_recall", "false_crisis_alerts")},
            "confusion": {f"{a}->{b}": v for (a, b), v in sorted(report.confusion.items())}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions of each set")
    parser.add_argument("--skip-langchain", action="store_true")
    parser.add_argument("--set", type=Path, default=EVAL, help="labelled questions to measure (default eval.jsonl)")
    args = parser.parse_args()
    from baselines import LangChainBaseline, PartitionBaseline, evaluate_ranker

    rt = runtime()
    ev, cal = labels(args.set, args.limit), labels(CALIBRATION, args.limit)
    results = {"this system": system_figures(rt, ev)}
    for mode in ("bm25", "dense"):
        results[f"{mode} alone"] = evaluate_ranker(PartitionBaseline(rt, mode).rank, rt, ev, cal)
    if not args.skip_langchain:
        from assistant.index.items import knowledge_items

        lc = LangChainBaseline(rt, knowledge_items(rt.kb))
        results["LangChain ensemble"] = evaluate_ranker(lc.rank, rt, ev, cal)
    for name, figures in results.items():
        emit(f"quality: {name}", {"set": args.set.name, "questions": len(ev), **figures})
    base = results.get("LangChain ensemble")
    if base:
        gain = (results["this system"]["recall@1"] - base["recall@1"]) * 100
        emit("quality: target", {"recall@1 points above LangChain": round(gain, 1), "target": "≥ 5"})


if __name__ == "__main__":
    main()
