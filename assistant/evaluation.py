"""Run a labelled question file and measure decisions and retrieval (accuracy, recall@k, MRR)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from assistant.answering.models import ANSWERED, FLAGGED, OUT_OF_SCOPE, SUGGESTED
from assistant.answering.pipeline import Answerer, PartResult, overall_status
from assistant.knowledge.regions import RegionTree

STATUSES = (ANSWERED, FLAGGED, OUT_OF_SCOPE)  # what a label can say
PREDICTED = (ANSWERED, SUGGESTED, FLAGGED, OUT_OF_SCOPE)  # what the system can do


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




def answered_targets(results: list[PartResult]) -> list[str]:
    """Targets (doc or FAQ ids) of the items that answered the answered parts."""
    return [(r.faq if r.decision.route == "faq" else r.chunks)[0].item.target
            for r in results if r.decision.status == ANSWERED]


@dataclass
class Report:
    n: int = 0
    confusion: Counter = field(default_factory=Counter)  # (label, predicted) -> count
    ranks: list[int | None] = field(default_factory=list)  # rank of first expected target, answerable only
    crisis_total: int = 0
    crisis_caught: int = 0
    false_alerts: int = 0
    wrong_answers: list[str] = field(default_factory=list)  # answered an answerable question from a wrong source
    unwarranted: list[str] = field(default_factory=list)  # answered a question that should not be answered
    answerable: int = 0
    answered_right: int = 0
    chosen_right: int = 0  # suggested, with a right entry among the choices
    by_kind: Counter = field(default_factory=Counter)  # (kind, "n" | "flagged" | "answered") -> count

    def share(self, kind: str, what: str) -> float:
        n = self.by_kind.get((kind, "n"), 0)
        return self.by_kind.get((kind, what), 0) / n if n else 0.0

    @property
    def own_case_or_uncovered_flagged(self) -> float:
        n = sum(self.by_kind.get((k, "n"), 0) for k in ("individual", "uncovered"))
        hit = sum(self.by_kind.get((k, "flagged"), 0) for k in ("individual", "uncovered"))
        return hit / n if n else 0.0

    def accuracy(self, status: str | None = None) -> float:
        """Share of right decisions (an answer counts only from an expected source)."""
        rows = [(k, v) for k, v in self.confusion.items() if status is None or k[0] == status]
        total = sum(v for _, v in rows)
        right = sum(v for (a, b), v in rows if a == b)
        if status in (None, ANSWERED):
            right -= len(self.wrong_answers)
        return right / total if total else 0.0

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
            "wrong_answers": len(self.wrong_answers), "unwarranted_answers": len(self.unwarranted),
            "answerable_answered_right": round(self.answered_right / self.answerable, 4) if self.answerable else 0.0,
            "answerable_answered_or_choice_right": round(
                (self.answered_right + self.chosen_right) / self.answerable, 4) if self.answerable else 0.0,
            "wrong_or_unwarranted_share": round((len(self.wrong_answers) + len(self.unwarranted)) / self.n, 4)
            if self.n else 0.0,
            "own_case_or_uncovered_flagged": round(self.own_case_or_uncovered_flagged, 4),
            "offtopic_not_answered": round(1 - self.share("offtopic", "answered"), 4),
        }

    def render(self) -> str:
        lines = [f"问题数 questions: {self.n}", f"总体准确率 accuracy: {self.accuracy():.3f}"]
        for s in STATUSES:
            total = sum(v for (a, _), v in self.confusion.items() if a == s)
            lines.append(f"  {s:<13} accuracy {self.accuracy(s):.3f}  (n={total})")
        lines.append(f"检索 retrieval (answerable, n={len(self.ranks)}): recall@1 {self.recall_at(1):.3f}  "
                     f"recall@5 {self.recall_at(5):.3f}  MRR {self.mrr:.3f}")
        lines.append("混淆矩阵 confusion (rows: label, columns: decision)")
        lines.append(" " * 14 + "".join(f"{s:>14}" for s in PREDICTED))
        for a in STATUSES:
            lines.append(f"{a:<14}" + "".join(f"{self.confusion.get((a, b), 0):>14}" for b in PREDICTED))
        if self.answerable:
            lines.append(f"可回答的问题 answerable (n={self.answerable}): answered right "
                         f"{self.answered_right / self.answerable:.3f}, answered or right choice offered "
                         f"{(self.answered_right + self.chosen_right) / self.answerable:.3f}")
        lines.append(f"本人案情/未覆盖 own case or uncovered flagged: {self.own_case_or_uncovered_flagged:.3f};  "
                     f"无关问题未作答 off-topic not answered: {1 - self.share('offtopic', 'answered'):.3f}")
        wrong = len(self.wrong_answers) + len(self.unwarranted)
        lines.append(f"错答或不该答 wrong or unwarranted answers: {wrong} ({wrong / self.n:.1%})" if self.n else "")
        lines.append(f"危机提醒 crisis alerts: {self.crisis_caught}/{self.crisis_total} caught, "
                     f"{self.false_alerts} false")
        lines.append(f"答错（给出了错误来源的回答）wrong answers: {len(self.wrong_answers)}; "
                     f"不该答的答了 unwarranted: {len(self.unwarranted)}")
        return "\n".join(lines)


def evaluate(answerer: Answerer, regions: RegionTree, labels: list[Labelled]) -> tuple[Report, list[dict]]:
    """Run every labelled question; return the report and one detail row per question."""
    report = Report()
    details: list[dict] = []
    for label in labels:
        code = regions.resolve(label.county).code
        analysis = answerer.analyse_question(label.question, code)
        results = analysis.parts
        crisis = analysis.crisis or any(r.features.crisis for r in results)
        predicted = overall_status([r.decision.status for r in results])
        report.n += 1
        report.confusion[(label.status, predicted)] += 1
        report.by_kind[(label.kind, "n")] += 1
        report.by_kind[(label.kind, predicted)] += 1
        ranked = ranked_targets(results)
        if label.status == ANSWERED and label.expected:
            report.ranks.append(next((i for i, t in enumerate(ranked) if t in label.expected), None))
        chosen = answered_targets(results)
        offered = [c.item.target for r in results for c in r.suggestions]
        right = bool(chosen) and all(t in label.expected for t in chosen) if label.expected else True
        if predicted == ANSWERED and label.status != ANSWERED:
            report.unwarranted.append(label.question)
        elif chosen and label.status == ANSWERED and label.expected and not right:
            report.wrong_answers.append(label.question)
        if label.status == ANSWERED:
            report.answerable += 1
            report.answered_right += int(predicted == ANSWERED and right)
            report.chosen_right += int(predicted == SUGGESTED and any(t in label.expected for t in offered + chosen))
        if label.alert == "crisis":
            report.crisis_total += 1
            report.crisis_caught += int(crisis)
        elif crisis:
            report.false_alerts += 1
        details.append({"question": label.question, "county": label.county, "label": label.status,
                        "kind": label.kind, "predicted": predicted, "expected": list(label.expected),
                        "chosen": chosen, "offered": offered, "top": ranked[:5],
                        "resolved": analysis.resolved_question, "reasons": [r.decision.reason for r in results]})
    return report, details


@dataclass(frozen=True)
class Turn:
    question: str
    status: str
    expected: tuple[str, ...] = ()
    alert: str | None = None
    needs_context: bool = False


@dataclass(frozen=True)
class Conversation:
    id: str
    county: str
    kind: str
    turns: tuple[Turn, ...]


def read_conversations(path: Path) -> list[Conversation]:
    """Read a JSONL file of labelled conversations; raise LabelError naming the line of any bad entry."""
    out: list[Conversation] = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            turns = tuple(Turn(t["question"], t["status"], tuple(t.get("expected") or ()), t.get("alert"),
                               bool(t.get("needs_context"))) for t in raw["turns"])
            conv = Conversation(str(raw.get("id", n)), raw.get("county", "全国"), raw.get("kind", ""), turns)
        except (ValueError, KeyError, TypeError) as exc:
            raise LabelError(f"{path}:{n}: 无效的对话标注行 ({exc})") from exc
        if not turns or any(t.status not in STATUSES for t in turns):
            raise LabelError(f"{path}:{n}: 每轮都要有 status（{'/'.join(STATUSES)}）")
        out.append(conv)
    return out


def is_conversation_file(path: Path) -> bool:
    first = next((line for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()), "")
    try:
        return "turns" in json.loads(first)
    except ValueError:
        return False


@dataclass
class ConversationReport:
    conversations: int = 0
    turns: int = 0
    follow_ups: int = 0  # turns that need the earlier turns to be understood
    follow_ups_right: int = 0  # …answered from an expected source (or, when labelled unanswerable, not answered)
    blind: int = 0  # turns that need context and had none
    blind_answered: int = 0  # …answered anyway (must be 0)
    switches: int = 0  # complete questions on a new subject after earlier turns
    switches_right: int = 0
    wrong_answers: int = 0
    crisis_total: int = 0
    crisis_caught: int = 0

    def to_json(self) -> dict:
        return {"conversations": self.conversations, "turns": self.turns,
                "follow_up_turns": self.follow_ups,
                "follow_ups_right": round(self.follow_ups_right / self.follow_ups, 4) if self.follow_ups else 0.0,
                "context_free_ellipsis": self.blind, "context_free_ellipsis_answered": self.blind_answered,
                "topic_switch_turns": self.switches,
                "topic_switches_right": round(self.switches_right / self.switches, 4) if self.switches else 0.0,
                "wrong_or_unwarranted_answers": self.wrong_answers,
                "crisis_recall": f"{self.crisis_caught}/{self.crisis_total}"}

    def render(self) -> str:
        j = self.to_json()
        return "\n".join([
            f"对话 conversations: {j['conversations']}，轮次 turns: {j['turns']}",
            f"追问 follow-up turns (need context): {j['follow_up_turns']}，答对 right: {j['follow_ups_right']:.3f}",
            f"没有上文的省略问 context-free ellipsis: {j['context_free_ellipsis']}，被回答 answered: "
            f"{j['context_free_ellipsis_answered']}",
            f"换话题 topic switches: {j['topic_switch_turns']}，答对 right: {j['topic_switches_right']:.3f}",
            f"错答或不该答 wrong or unwarranted answers: {j['wrong_or_unwarranted_answers']}",
            f"危机提醒 crisis alerts: {j['crisis_recall']}",
        ])


def evaluate_conversations(answerer: Answerer, regions: RegionTree,
                           conversations: list[Conversation]) -> tuple[ConversationReport, list[dict]]:
    """Run every conversation turn by turn, carrying the context as the kiosk does."""
    from assistant.dialogue.resolve import Context

    report = ConversationReport()
    details: list[dict] = []
    for conv in conversations:
        code = regions.resolve(conv.county).code
        report.conversations += 1
        context = Context()
        for i, turn in enumerate(conv.turns):
            had_context = not context.empty
            analysis = answerer.analyse_question(turn.question, code, context)
            context = analysis.context
            results = analysis.parts
            predicted = overall_status([r.decision.status for r in results])
            chosen = answered_targets(results)
            right_source = bool(chosen) and all(t in turn.expected for t in chosen) if turn.expected else True
            right = predicted == ANSWERED and right_source if turn.status == ANSWERED else predicted != ANSWERED
            wrong = predicted == ANSWERED and not (turn.status == ANSWERED and right_source)
            crisis = analysis.crisis or any(r.features.crisis for r in results)
            report.turns += 1
            report.wrong_answers += int(wrong)
            if turn.needs_context and had_context:
                report.follow_ups += 1
                report.follow_ups_right += int(right)
            elif turn.needs_context:
                report.blind += 1
                report.blind_answered += int(predicted == ANSWERED)
            elif i > 0 and conv.kind == "topic_switch":
                report.switches += 1
                report.switches_right += int(right)
            if turn.alert == "crisis":
                report.crisis_total += 1
                report.crisis_caught += int(crisis)
            details.append({"conversation": conv.id, "turn": i + 1, "question": turn.question,
                            "resolved": analysis.resolved_question, "label": turn.status, "predicted": predicted,
                            "expected": list(turn.expected), "chosen": chosen, "right": right})
    return report, details
