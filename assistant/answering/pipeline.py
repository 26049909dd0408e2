"""The answering component: question + home county → answer with sources, or an honest flag."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.answering import compose
from assistant.answering.decision import Calibration, Decision, Features, RouteFeatures, decide
from assistant.answering.models import ANSWERED, CRISIS, FLAGGED, OUT_OF_SCOPE, Answer, PartAnswer, SourceRef
from assistant.answering.referral import Rule, must_refer
from assistant.index.items import CHUNK, FAQ
from assistant.index.search import Candidate, HybridSearcher
from assistant.knowledge.regions import RegionTree
from assistant.privacy.redact import redact
from assistant.text.normalize import normalize
from assistant.text.question_split import split_question
from assistant.text.signals import SignalDetector, has_amount, has_contact

MAX_QUESTION_CHARS = 2000
_PLACEHOLDER_RE = re.compile(r"(我|俺)?(的)?(名字)?(叫做|叫|是)?【[^】]*】[，,]?")


def without_personal_data(text: str, keep: frozenset[str] = frozenset()) -> str:
    """The question with names and numbers taken out: they never help to find a policy, only mislead."""
    stripped = _PLACEHOLDER_RE.sub("", redact(text, keep)).strip(" ，,")
    return stripped or text


def route_features(cands: list[Candidate]) -> RouteFeatures | None:
    """Signals of the best candidate of one kind, with its margin over the runner-up."""
    if not cands:
        return None
    best = cands[0]
    runner = max((c.relevance for c in cands[1:]), default=best.relevance - 0.1)
    # agreement over the merged list of this kind: the best item is first both by meaning and by words
    agree = best is max(cands, key=lambda c: c.dense) and best is max(cands, key=lambda c: c.coverage)
    return RouteFeatures(best.relevance, best.coverage, best.relevance - runner, best.dense, agree,
                         has_amount(best.item.text), has_contact(best.item.text))


def overall_status(statuses: list[str]) -> str:
    """answered only when every part is; flagged when any part is; otherwise out_of_scope."""
    if set(statuses) == {ANSWERED}:
        return ANSWERED
    return FLAGGED if FLAGGED in statuses else OUT_OF_SCOPE


@dataclass
class PartResult:
    """Everything the decision saw for one part (used by eval and the debug view)."""

    text: str
    features: Features
    decision: Decision
    faq: list[Candidate]
    chunks: list[Candidate]


class Answerer:
    """Answers questions for one knowledge base and index. Thread-safe after construction."""

    def __init__(self, searcher: HybridSearcher, regions: RegionTree, signals: SignalDetector,
                 calibration: Calibration):
        self.searcher = searcher
        self.regions = regions
        self.signals = signals
        self.calibration = calibration
        self.place_words = regions.place_words()
        self.referral_rules: tuple[Rule, ...] = ()  # per-county "never answer automatically" (bureau review)

    def analyse(self, part: str, region_code: str) -> PartResult:
        """Retrieve and compute the decision features of one question part."""
        sig = self.signals.run(part)
        query = self.searcher.prepare(part)
        cands = self.searcher.search(query, region_code, (FAQ, CHUNK), k=20)
        faq = [c for c in cands if c.item.kind == FAQ]
        chunks = [c for c in cands if c.item.kind == CHUNK]
        features = Features(route_features(faq), route_features(chunks), len(sig.domain_hits),
                            sig.individual_case, sig.crisis, sig.asks_amount, sig.asks_contact)
        return PartResult(part, features, decide(features, self.calibration), faq, chunks)

    def analyse_question(self, question: str, region_code: str) -> tuple[str, list[PartResult], bool]:
        """Normalise, take out personal data, split into parts and analyse each.

        Returns the text used, the parts, and whether the question as a whole is a crisis expression.
        """
        text = without_personal_data(normalize(question)[:MAX_QUESTION_CHARS], self.place_words)
        results = [self.analyse(p, region_code) for p in split_question(text)]
        return text, results, self.signals.run(text).crisis

    def _part_answer(self, result: PartResult, region_code: str) -> PartAnswer:
        answer = self._compose_part(result, region_code)
        if answer.route == "faq":
            best = result.faq[0]
        elif answer.route == "chunk":
            best = result.chunks[0]
        else:  # unanswered: the topic of the nearest item, when it is near enough to say
            best = max(result.faq[:1] + result.chunks[:1], key=lambda c: c.relevance, default=None)
            if best and best.relevance < self.calibration.domain_relevance:
                best = None
        answer.topic = best.item.topics[0] if best and best.item.topics else None
        return answer

    def _compose_part(self, result: PartResult, region_code: str) -> PartAnswer:
        d = result.decision
        bureau = self.regions.bureau_region(region_code)
        if d.status == ANSWERED:
            item = (result.faq if d.route == "faq" else result.chunks)[0].item
            if must_refer(self.referral_rules, region_code, item.id, item.topics):
                return PartAnswer(result.text, FLAGGED, compose.flagged_message(bureau, False),
                                  reason="county rule: refer to the bureau")
        if d.status == ANSWERED and d.route == "faq":
            item = result.faq[0].item
            return PartAnswer(result.text, ANSWERED, compose.faq_answer(item),
                              compose.source_refs(item, self.regions), "faq", [item.id], d.reason)
        if d.status == ANSWERED:
            chosen = [result.chunks[0].item]
            second = result.chunks[1] if len(result.chunks) > 1 else None
            if second and second.item.target == chosen[0].target and RouteFeatures(
                    second.relevance, second.coverage, 1.0).passes(self.calibration.chunk):
                chosen.append(second.item)
            refs: list[SourceRef] = []
            for item in chosen:
                refs += [r for r in compose.source_refs(item, self.regions) if r not in refs]
            return PartAnswer(result.text, ANSWERED, compose.passage_answer(chosen), refs, "chunk",
                              [i.id for i in chosen], d.reason)
        if result.features.crisis:
            return PartAnswer(result.text, FLAGGED, compose.crisis_message(), reason=d.reason, crisis=True)
        if d.status == FLAGGED:
            msg = compose.flagged_message(bureau, result.features.individual_case)
            return PartAnswer(result.text, FLAGGED, msg, reason=d.reason)
        return PartAnswer(result.text, OUT_OF_SCOPE, compose.out_of_scope_message(), reason=d.reason)

    def run(self, question: str, region_code: str) -> Answer:
        """Answer `question` for an asker whose home region is `region_code`."""
        region = self.regions[region_code]
        text, results, whole_crisis = self.analyse_question(question, region_code)
        parts = [self._part_answer(r, region_code) for r in results]
        crisis = whole_crisis or any(p.crisis for p in parts)
        if crisis and not any(p.crisis for p in parts):
            parts.insert(0, PartAnswer(text, FLAGGED, compose.crisis_message(), reason="crisis expression",
                                       crisis=True))
        status = overall_status([p.status for p in parts])
        sources: list[SourceRef] = []
        for p in parts:
            sources += [s for s in p.sources if s not in sources]
        body = compose.join_parts([(p.question, p.answer) for p in parts])
        topic = next((p.topic for p in parts if p.topic), None)
        return Answer(question, region.name, status, body, sources, CRISIS if crisis else None, parts,
                      region_code=region.code, topic=topic)
