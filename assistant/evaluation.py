"""Run a labelled question file and measure decisions and retrieval (accuracy, recall@k, MRR)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from assistant.answering.models import ANSWERED, FLAGGED, OUT_OF_SCOPE
from assistant.answering.pipeline import Answerer, PartResult, overall_status
from assistant.knowledge.regions import RegionTree

STATUSES = (ANSWERED, FLAGGED, OUT_OF_SCOPE)


class LabelError(ValueError):
    """A labelled question file line is not valid."""


@dataclass(frozen=True)
class Labelled:
    question: str
    county: str
    status: str
    expected: tuple[str, ...] = ()
    alert: str | None = None
    kind: str = ""


def read_labels(path: Path) -> list[Labelled]:
    """Read a JSONL file of labelled questions; raise LabelError naming the line of any bad entry."""
    out: list[Labelled] = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            label = Labelled(raw["question"], raw.get("county", "全国"), raw["status"],
                             tuple(raw.get("expected") or ()), raw.get("alert"), raw.get("kind", ""))
        except (ValueError, KeyError, TypeError) as exc:
            raise LabelError(f"{path}:{n}: 无效的标注行 ({exc})") from exc
        if label.status not in STATUSES:
            raise LabelError(f"{path}:{n}: status 应为 {'/'.join(STATUSES)}：{label.status!r}")
        out.append(label)
    return out


def ranked_targets(results: list[PartResult]) -> list[str]:
    """Targets (doc or FAQ ids) of all parts' candidates, interleaved by rank, without repeats."""
    lists = [[c.item.target for c in sorted(r.faq + r.chunks, key=lambda c: c.score, reverse=True)]
             for r in results]
    out: list[str] = []
    for rank in range(max((len(x) for x in lists), default=0)):
        for ranked in lists:
            if rank < len(ranked) and ranked[rank] not in out:
                out.append(ranked[rank])
    return out




@dataclass
class Report:
    n: int = 0
    confusion: Counter = field(default_factory=Counter)  # (label, predicted) -> count
    ranks: list[int | None] = field(default_factory=list)  # rank of first expected target, answerable only
    crisis_total: int = 0
    crisis_caught: int = 0
    false_alerts: int = 0
    wrong_answers: list[str] = field(default_factory=list)

    def accuracy(self, status: str | None = None) -> float:
        rows = [(k, v) for k, v in self.confusion.items() if status is None or k[0] == status]
        total = sum(v for _, v in rows)
        return sum(v for (a, b), v in rows if a == b) / total if total else 0.0

    def recall_at(self, k: int) -> float:
        return sum(1 for r in self.ranks if r is not None and r < k) / len(self.ranks) if self.ranks else 0.0

    @property
    def mrr(self) -> float:
        return sum(1 / (r + 1) for r in self.ranks if r is not None) / len(self.ranks) if self.ranks else 0.0

    def to_json(self) -> dict:
        return {
            "questions": self.n, "accuracy": round(self.accuracy(), 4),
            "accuracy_by_status": {s: round(self.accuracy(s), 4) for s in STATUSES},
            "recall@1": round(self.recall_at(1), 4), "recall@5": round(self.recall_at(5), 4),
            "mrr": round(self.mrr, 4), "answerable_with_ids": len(self.ranks),
            "confusion": {f"{a}->{b}": v for (a, b), v in sorted(self.confusion.items())},
            "crisis_recall": f"{self.crisis_caught}/{self.crisis_total}", "false_crisis_alerts": self.false_alerts,
            "wrong_answers": len(self.wrong_answers),
        }

    def render(self) -> str:
        lines = [f"问题数 questions: {self.n}", f"总体准确率 accuracy: {self.accuracy():.3f}"]
        for s in STATUSES:
            total = sum(v for (a, _), v in self.confusion.items() if a == s)
            lines.append(f"  {s:<13} accuracy {self.accuracy(s):.3f}  (n={total})")
        lines.append(f"检索 retrieval (answerable, n={len(self.ranks)}): recall@1 {self.recall_at(1):.3f}  "
                     f"recall@5 {self.recall_at(5):.3f}  MRR {self.mrr:.3f}")
        lines.append("混淆矩阵 confusion (rows: label, columns: decision)")
        lines.append(" " * 14 + "".join(f"{s:>14}" for s in STATUSES))
        for a in STATUSES:
            lines.append(f"{a:<14}" + "".join(f"{self.confusion.get((a, b), 0):>14}" for b in STATUSES))
        lines.append(f"危机提醒 crisis alerts: {self.crisis_caught}/{self.crisis_total} caught, "
                     f"{self.false_alerts} false")
        lines.append(f"答错（给出了错误来源的回答）wrong answers: {len(self.wrong_answers)}")
        return "\n".join(lines)


def evaluate(answerer: Answerer, regions: RegionTree, labels: list[Labelled]) -> tuple[Report, list[dict]]:
    """Run every labelled question; return the report and one detail row per question."""
    report = Report()
    details: list[dict] = []
    for label in labels:
        code = regions.resolve(label.county).code
        _, results, whole_crisis = answerer.analyse_question(label.question, code)
        crisis = whole_crisis or any(r.features.crisis for r in results)
        predicted = overall_status([r.decision.status for r in results])
        report.n += 1
        report.confusion[(label.status, predicted)] += 1
        ranked = ranked_targets(results)
        if label.status == ANSWERED and label.expected:
            report.ranks.append(next((i for i, t in enumerate(ranked) if t in label.expected), None))
        chosen = [(r.faq if r.decision.route == "faq" else r.chunks)[0].item.target
                  for r in results if r.decision.status == ANSWERED]
        if predicted == ANSWERED and label.status == ANSWERED and label.expected and not any(
                t in label.expected for t in chosen):
            report.wrong_answers.append(label.question)
        if label.alert == "crisis":
            report.crisis_total += 1
            report.crisis_caught += int(crisis)
        elif crisis:
            report.false_alerts += 1
        details.append({"question": label.question, "county": label.county, "label": label.status,
                        "predicted": predicted, "expected": list(label.expected), "chosen": chosen,
                        "top": ranked[:5], "reasons": [r.decision.reason for r in results]})
    return report, details
