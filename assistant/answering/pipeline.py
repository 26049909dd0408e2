"""The answering component: question + home county (+ earlier turns) → answer with sources, choices, or a flag."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from assistant.answering import compose
from assistant.answering.decision import Calibration, Decision, Features, RouteFeatures, decide
from assistant.answering.models import (
    ANSWERED,
    CRISIS,
    FLAGGED,
    OUT_OF_SCOPE,
    SUGGESTED,
    Answer,
    PartAnswer,
    SourceRef,
    Suggestion,
)
from assistant.answering.referral import Rule, must_refer
from assistant.dialogue.resolve import Context, next_context, resolve
from assistant.dialogue.slots import Slots, Vocabulary, expand_coordination, extract, inherit
from assistant.index.items import CHUNK, FAQ, Item
from assistant.index.search import Candidate, HybridSearcher
from assistant.knowledge.regions import RegionTree
from assistant.privacy.redact import redact
from assistant.text.normalize import normalize, tidy
from assistant.text.question_split import split_question
from assistant.text.signals import SignalDetector, has_amount, has_contact

MAX_QUESTION_CHARS = 2000
MAX_SUGGESTIONS = 3
TIE = 0.005  # answers that say the same and are this close are equally good: the more local one is shown
_PLACEHOLDER_RE = re.compile(r"(我|俺)?(的)?(名字)?(叫做|叫|是)?【[^】]*】[，,]?")


def searchable(redacted: str) -> str:
    """A redacted question made ready to search: normalised, the placeholders (and a 我叫 before them) taken out
    (names and numbers never help to find a policy, only mislead). A question that was nothing but personal data
    stays as redacted, never the words it was redacted from."""
    text = normalize(redacted)
    return _PLACEHOLDER_RE.sub("", text).strip(" ，,") or text


def redacted_question(question: str, keep: frozenset[str] = frozenset()) -> tuple[str, bool]:
    """The one redaction of a question per request, and whether it covers the whole question: of its tidied form
    (`tidy`: simplified, NFKC except the punctuation of Chinese, case kept), cut to MAX_QUESTION_CHARS. The search
    uses it (`searchable`) and the question log stores it, so personal data is taken out once, first."""
    tidied = tidy(question)
    return redact(tidied[:MAX_QUESTION_CHARS], keep), len(tidied) <= MAX_QUESTION_CHARS


def _provisions(item: Item) -> frozenset[tuple[str, str, str]]:
    return frozenset((s.title, str(s.article), s.clause or "") for s in item.sources if s.article)


def same_answer(a: Item, b: Item) -> bool:
    """Two items say the same thing: passages of one document section's source, or the same provision cited."""
    return a.target == b.target or bool(_provisions(a) & _provisions(b))


def prefer_local(cands: list[Candidate]) -> list[Candidate]:
    """Best first; among the answers that say the same as the best and are as good, the most local one."""
    if len(cands) < 2:
        return cands
    best = cands[0]
    peers = [c for c in cands if c.relevance >= best.relevance - TIE and same_answer(c.item, best.item)]
    top = max(peers, key=lambda c: (c.locality, c.relevance))
    return cands if top is best else [top, *(c for c in cands if c is not top)]


NO_DISTRIBUTION = 99.0  # fewer than two other candidates: nothing to stand out from, the margin alone decides


def relative_confidence(best: float, others: list[float]) -> float:
    """How many standard deviations the best stands above the other candidates in scope (a tiny knowledge base
    may have fewer than two others: then there is no spread to measure and the criterion does not hold it back)."""
    if len(others) < 2:
        return NO_DISTRIBUTION
    arr = np.asarray(others, dtype=np.float64)
    return float((best - arr.mean()) / max(float(arr.std()), 1e-3))


def distinct_answers(cands: list[Candidate], limit: int) -> list[Candidate]:
    """The best candidates that each say something different, best first."""
    out: list[Candidate] = []
    for c in cands:
        if not any(same_answer(c.item, o.item) for o in out):
            out.append(c)
            if len(out) == limit:
                break
    return out


def route_features(cands: list[Candidate], shown: Callable[[Item], str] = lambda item: item.text
                   ) -> RouteFeatures | None:
    """Signals of the best candidate of one kind: margin over the best *different* answer, confidence.
    `shown` gives the text the asker would read (fill-in fields the bureau has saved filled in): whether it
    states an amount or a contact is judged on that text."""
    if not cands:
        return None
    best = cands[0]
    different = [c.relevance for c in cands[1:] if not same_answer(c.item, best.item)]
    runner = max(different, default=best.relevance - 0.1)
    # agreement over the merged list of this kind: the best item is first both by meaning and by words
    agree = best is max(cands, key=lambda c: c.dense) and best is max(cands, key=lambda c: c.coverage)
    text = shown(best.item)
    return RouteFeatures(best.relevance, best.coverage, best.relevance - runner, best.dense, agree,
                         has_amount(text), has_contact(text),
                         relative_confidence(best.relevance, [c.relevance for c in cands[1:]]), bool(best.missing))


def overall_status(statuses: list[str]) -> str:
    """answered when every part is; flagged when any part is; suggested when any part offers choices."""
    if set(statuses) == {ANSWERED}:
        return ANSWERED
    if FLAGGED in statuses:
        return FLAGGED
    return SUGGESTED if SUGGESTED in statuses else OUT_OF_SCOPE


_RANK = {ANSWERED: 3, SUGGESTED: 2, FLAGGED: 1, OUT_OF_SCOPE: 0}


@dataclass
class PartResult:
    """Everything the decision saw for one part (used by eval and the debug view)."""

    text: str  # what was searched (after context was applied)
    features: Features
    decision: Decision
    faq: list[Candidate]
    chunks: list[Candidate]
    asked: str = ""  # the asker's words for this part
    suggestions: list[Candidate] = field(default_factory=list)
    needs_context: bool = False


@dataclass
class Analysis:
    """A whole question analysed: the text used, its parts, crisis, and the context for the next turn."""

    text: str
    parts: list[PartResult]
    crisis: bool
    context: Context
    redacted: str | None = None  # the whole question with personal data replaced (what the question log stores)

    @property
    def resolved_question(self) -> str:
        return "；".join(p.text for p in self.parts)


class Answerer:
    """Answers questions for one knowledge base and index. Thread-safe after construction."""

    def __init__(self, searcher: HybridSearcher, regions: RegionTree, signals: SignalDetector,
                 calibration: Calibration, vocabulary: Vocabulary):
        self.searcher = searcher
        self.vocabulary = vocabulary  # the lexicon's slot words and conditions, for follow-ups and compound parts
        self.regions = regions
        self.signals = signals
        self.calibration = calibration
        self.place_words = regions.place_words()
        self.referral_rules: tuple[Rule, ...] = ()  # per-county "never answer automatically" (bureau review)

    def shown_text(self, item: Item) -> str:
        """An item's text with the bureau's saved contacts in its fill-in fields (blank fields stay marked)."""
        return compose.fill_saved(item.text, self.regions)

    def slots(self, text: str) -> Slots:
        return extract(text, self.vocabulary)

    def analyse(self, part: str, region_code: str, asked: str = "") -> PartResult:
        """Retrieve and compute the decision features of one question part."""
        sig = self.signals.run(part)
        query = self.searcher.prepare(part)
        cands = self.searcher.search(query, region_code, (FAQ, CHUNK), k=20)
        faq = prefer_local([c for c in cands if c.item.kind == FAQ])
        chunks = prefer_local([c for c in cands if c.item.kind == CHUNK])
        offered = distinct_answers(faq, MAX_SUGGESTIONS)
        shown = self.shown_text
        features = Features(route_features(faq, shown), route_features(chunks, shown), len(sig.domain_hits),
                            sig.individual_case, sig.crisis, sig.asks_amount, sig.asks_contact,
                            tuple(c.relevance for c in offered))
        decision = decide(features, self.calibration)
        chosen = offered[:decision.suggestions] if decision.status == SUGGESTED else []
        return PartResult(part, features, decision, faq, chunks, asked or part, chosen)

    def _analyse_in_context(self, piece: str, region_code: str, ctx: Context, after_release: bool,
                            previous: Slots | None) -> PartResult:
        slots = self.slots(piece)
        res = resolve(piece, slots, ctx)
        if res.needs_context:
            f = Features(None, None, 1, False, False)
            return PartResult(piece, f, Decision(SUGGESTED, None, "needs context: which topic?"), [], [], piece,
                              needs_context=True)
        text = res.question if res.used_context else inherit(piece, slots, after_release, previous)
        result = self.analyse(text, region_code, asked=piece)
        # a part of a compound question is never less answerable than asked alone; a follow-up that leans on
        # what came before ("那剥夺政治权利期间的呢") means nothing alone and is never answered as if alone
        if text != piece and not res.used_context and _RANK[result.decision.status] < _RANK[ANSWERED]:
            alone = self.analyse(piece, region_code, asked=piece)
            if _RANK[alone.decision.status] > _RANK[result.decision.status]:
                return alone
        return result

    def analyse_question(self, question: str, region_code: str, context: Context | None = None) -> Analysis:
        """Take out personal data, normalise, split into parts, resolve each against what came before, analyse."""
        redacted, whole = redacted_question(question, self.place_words)
        text = searchable(redacted)
        ctx = context or Context()
        after_release = self.slots(text).after_release
        results: list[PartResult] = []
        previous: Slots | None = None
        for raw in split_question(text):
            for piece in expand_coordination(raw, self.vocabulary):
                result = self._analyse_in_context(piece, region_code, ctx, after_release, previous)
                results.append(result)
                if not result.needs_context and not result.features.crisis:
                    resolved_slots = self.slots(result.text)
                    ctx = next_context(ctx, result.text, resolved_slots)
                    previous = resolved_slots
        return Analysis(text, results, self.signals.crisis(text), ctx, redacted if whole else None)

    def _part_answer(self, result: PartResult, region_code: str) -> PartAnswer:
        answer = self._compose_part(result, region_code)
        best: Candidate | None
        if answer.route == "faq":
            best = result.faq[0]
        elif answer.route == "chunk":
            best = result.chunks[0]
        else:  # unanswered: the topic of the nearest item, when it is near enough to say
            best = max(result.faq[:1] + result.chunks[:1], key=lambda c: c.relevance, default=None)
            if best and best.relevance < self.calibration.domain_relevance:
                best = None
        answer.topic = best.item.topics[0] if best and best.item.topics else None
        answer.resolved = result.text
        return answer

    def suggestion(self, item: Item) -> Suggestion:
        return Suggestion(item.id, item.title, compose.faq_answer(item, self.regions),
                          compose.source_refs(item, self.regions), item.reviewed)

    def _compose_part(self, result: PartResult, region_code: str) -> PartAnswer:
        d = result.decision
        bureau = self.regions.bureau_region(region_code)
        asked = result.asked
        if d.status == ANSWERED:
            item = (result.faq if d.route == "faq" else result.chunks)[0].item
            if must_refer(self.referral_rules, region_code, item.id, item.topics):
                return PartAnswer(asked, FLAGGED, compose.flagged_message(bureau, False),
                                  reason="county rule: refer to the bureau")
        if d.status == ANSWERED and d.route == "faq":
            item = result.faq[0].item
            return PartAnswer(asked, ANSWERED, compose.faq_answer(item, self.regions),
                              compose.source_refs(item, self.regions), "faq", [item.id], d.reason,
                              reviewed=[item.reviewed])
        if d.status == ANSWERED:
            chosen = [result.chunks[0].item]
            second = result.chunks[1] if len(result.chunks) > 1 else None
            if second and second.item.target == chosen[0].target and not second.missing and RouteFeatures(
                    second.relevance, second.coverage, 1.0, confidence=99.0).passes(self.calibration.chunk):
                chosen.append(second.item)
            refs: list[SourceRef] = []
            for item in chosen:
                refs += [r for r in compose.source_refs(item, self.regions) if r not in refs]
            return PartAnswer(asked, ANSWERED, compose.passage_answer(chosen, self.regions), refs, "chunk",
                              [i.id for i in chosen], d.reason, reviewed=[i.reviewed for i in chosen])
        if result.features.crisis:
            return PartAnswer(asked, FLAGGED, compose.crisis_message(), reason=d.reason, crisis=True)
        if result.needs_context:
            return PartAnswer(asked, SUGGESTED, compose.clarify_message(), reason=d.reason)
        if d.status == SUGGESTED:
            offered = [self.suggestion(c.item) for c in result.suggestions]
            return PartAnswer(asked, SUGGESTED, compose.suggestion_message(), reason=d.reason, suggestions=offered)
        if d.status == FLAGGED:
            msg = compose.flagged_message(bureau, result.features.individual_case)
            return PartAnswer(asked, FLAGGED, msg, reason=d.reason)
        return PartAnswer(asked, OUT_OF_SCOPE, compose.out_of_scope_message(), reason=d.reason)

    def has_content(self, region_code: str) -> bool:
        """Whether the index holds documents or FAQ entries of this very region."""
        return any(self.searcher.index.has_partition(kind, region_code) for kind in (FAQ, CHUNK))

    def has_local(self, region_code: str) -> bool:
        """Whether the knowledge base has anything of the county's own or its city's (not only rules of its
        province and the nation)."""
        return any(self.has_content(r.code) for r in self.regions.chain(region_code)
                   if r.level in ("county", "city"))

    def run(self, question: str, region_code: str, note: str | None = None,
            context: Context | None = None) -> Answer:
        """Answer `question` for an asker whose home region is `region_code`, after the turns in `context`.

        `note` (e.g. which county an old name was taken for) opens the answer text; so does a plain word
        when the county has no local information yet.
        """
        region = self.regions[region_code]
        analysis = self.analyse_question(question, region_code, context)
        parts = [self._part_answer(r, region_code) for r in analysis.parts]
        crisis = analysis.crisis or any(p.crisis for p in parts)
        if crisis and not any(p.crisis for p in parts):
            parts.insert(0, PartAnswer(analysis.text, FLAGGED, compose.crisis_message(), reason="crisis expression",
                                       crisis=True))
        status = overall_status([p.status for p in parts])
        sources: list[SourceRef] = []
        suggestions: list[Suggestion] = []
        for p in parts:
            sources += [s for s in p.sources if s not in sources]
            suggestions += [s for s in p.suggestions if s not in suggestions]
        body = compose.join_parts([(p.question, p.answer) for p in parts])
        notes = [note] if note else []
        if not crisis and status != OUT_OF_SCOPE and not self.has_local(region_code):
            chain = self.regions.chain(region_code)
            wider = [r for r in chain[1:] if r.level == "national" or self.has_content(r.code)]
            notes.append(compose.no_local_note(chain[0], wider))
        if notes:
            body = "\n\n".join([*notes, body])
        topic = next((p.topic for p in parts if p.topic), None)
        return Answer(question, region.name, status, body, sources, CRISIS if crisis else None, parts,
                      region_code=region.code, topic=topic, suggestions=suggestions,
                      resolved_question=analysis.resolved_question, context=analysis.context,
                      redacted_question=analysis.redacted)
