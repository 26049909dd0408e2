"""Hybrid search scoped to the asker's region chain: dense + BM25 candidates, one consistent score."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.embedding.embedder import Embedder
from assistant.index.items import CHUNK, FAQ, Item
from assistant.index.partition import Hit
from assistant.index.store import SearchIndex, TermStats
from assistant.knowledge.regions import RegionTree
from assistant.text.analyzer import Analyzer
from assistant.text.conditions import ConditionDetector, missing_conditions
from assistant.text.normalize import normalize

MAX_CACHED_CONDITIONS = 50_000


@dataclass(frozen=True)
class RankingWeights:
    """How lexical evidence and defining conditions enter the relevance (fitted by `assistant calibrate`)."""

    coverage: float = 0.15  # × share of the query's IDF weight found in the item's best key
    missing_condition: float = 0.05  # − per defining condition of the item that the question does not name
    # × share of the query's IDF weight found anywhere in the item's keys (an FAQ entry as one document:
    # question, every wording and the answer together, as the LangChain ensemble's BM25 sees it)
    entry_coverage: float = 0.0
    # × how close the item's second-best key comes to its best one (several wordings agree), −1..0
    consensus: float = 0.0
    # × share of the IDF weight of the item's own question (an FAQ question, a passage's heading) that the
    # question names: a general question prefers the general entry over siblings about something it never
    # mentions (出去以后社保咋整 → 出狱后社保怎么办, not 失业保险金怎么领)
    title_precision: float = 0.0


@dataclass(frozen=True)
class Query:
    """A normalised question with its tokens and vector (computed once, reused for every partition)."""

    text: str
    tokens: tuple[str, ...]
    vector: np.ndarray
    conditions: frozenset[str] = frozenset()
    idf: dict[str, float] | None = None  # IDF weight of each query token (global term statistics)


@dataclass(frozen=True)
class Candidate:
    item: Item
    dense: float
    bm25: float
    coverage: float
    locality: int
    missing: frozenset[str] = frozenset()  # defining conditions of the item the question does not name
    relevance: float = 0.0  # how well the item answers, independent of where it comes from

    @property
    def score(self) -> float:
        """Ranking score. Locality only breaks ties between answers that say the same (see the pipeline)."""
        return self.relevance


def idf_weights(query_tokens: tuple[str, ...], stats: TermStats) -> dict[str, float]:
    """IDF weight of each distinct query token, in the order the tokens first occur (computed once per query; a
    fixed order makes the coverage sums, and so ties, the same in every process whatever the hash seed)."""
    return {t: stats.idf(t) for t in dict.fromkeys(query_tokens)}


def _cached(cache: dict, key: str, compute: Callable[[], Any]) -> Any:
    """`cache[key]`, computed on a miss; at most MAX_CACHED_CONDITIONS keys (then the cache starts again: a
    national index has millions of items)."""
    found = cache.get(key)
    if found is None:
        if len(cache) >= MAX_CACHED_CONDITIONS:
            cache.clear()
        found = cache[key] = compute()
    return found


class HybridSearcher:
    """Searches the partitions of a region chain and merges them with one comparable score."""

    def __init__(self, index: SearchIndex, embedder: Embedder, analyzer: Analyzer, regions: RegionTree,
                 per_partition: int = 10, conditions: ConditionDetector | None = None,
                 weights: RankingWeights | None = None):
        self.index = index
        self.embedder = embedder
        self.analyzer = analyzer
        self.regions = regions
        self.per_partition = per_partition
        self.conditions = conditions or ConditionDetector({})
        self.weights = weights or RankingWeights()
        self._item_conditions: dict[str, tuple[frozenset[str], ...]] = {}
        self._title_tokens: dict[str, tuple[tuple[str, ...], float]] = {}
        self._title_stats: TermStats | None = None  # the term statistics the cached title weights came from

    def prepare(self, question: str) -> Query:
        text = normalize(question)
        expansions = self.analyzer.expand(text)
        dense_text = f"{text}（{'，'.join(expansions)}）" if expansions else text
        vector = self.embedder.encode_queries([dense_text])[0]
        tokens = tuple(self.analyzer.tokens(text))
        return Query(text, tokens, vector, self.conditions.find(dense_text), idf_weights(tokens, self.index.stats))

    def item_conditions(self, item: Item) -> tuple[frozenset[str], ...]:
        """Conditions named by what defines the item (an FAQ entry's question, a passage's own heading), in groups
        of alternatives (`ConditionDetector.alternatives`).

        Cached by that text (an entry edited under the same id is looked at afresh), bounded (`_cached`)."""
        text = defining_text(item)
        return _cached(self._item_conditions, text, lambda: self.conditions.alternatives(text))

    def title_weights(self, item: Item) -> tuple[tuple[str, ...], float]:
        """The distinct tokens of what defines the item and the sum of their IDF weights (cached by that text,
        bounded like `item_conditions`, and computed afresh when the term statistics change)."""
        stats = self.index.stats
        if stats is not self._title_stats:
            self._title_tokens.clear()
            self._title_stats = stats
        text = defining_text(item)

        def weigh() -> tuple[tuple[str, ...], float]:
            tokens = tuple(dict.fromkeys(self.analyzer.tokens(text)))
            return tokens, sum(stats.idf(t) for t in tokens)

        return _cached(self._title_tokens, text, weigh)

    def title_precision(self, item: Item, query: Query) -> float:
        """Share of the IDF weight of the item's own question that the question's tokens name."""
        tokens, total = self.title_weights(item)
        if not total:
            return 0.0
        weights = query.idf if query.idf is not None else idf_weights(query.tokens, self.index.stats)
        return sum(weights[t] for t in tokens if t in weights) / total

    def search(self, query: Query, region_code: str, kinds: tuple[str, ...] = (FAQ, CHUNK),
               k: int = 10) -> list[Candidate]:
        """Top `k` candidates of the given kinds from the region chain of `region_code`, best first."""
        out: list[Candidate] = []
        weights = query.idf if query.idf is not None else idf_weights(query.tokens, self.index.stats)
        for region in self.regions.chain(region_code):
            locality = self.regions.locality(region.code)
            for kind in kinds:
                part = self.index.partition(kind, region.code)
                if part is None:
                    continue
                hits = part.search(query.vector, list(query.tokens), self.per_partition)
                if not hits:
                    continue
                covs = part.key_coverages(weights)
                best_covs = part.item_best_coverages(covs)
                entry_covs = part.item_coverages(weights) if self.weights.entry_coverage else None
                for hit in hits:
                    out.append(self._candidate(hit, part, query, locality, best_covs, entry_covs))
        out.sort(key=lambda c: c.score, reverse=True)
        return out[:k]

    def _candidate(self, hit: Hit, part, query: Query, locality: int, best_covs: np.ndarray,
                   entry_covs: np.ndarray | None) -> Candidate:
        """One hit scored; `best_covs` (`Partition.item_best_coverages`) and `entry_covs`
        (`Partition.item_coverages`, when weighted) hold the lexical coverage of every item of its partition,
        computed once per query."""
        item = part.items[hit.item_id]
        pos = part.item_pos[hit.item_id]
        cov = float(best_covs[pos])
        w = self.weights
        agreement = 0.0
        if hit.dense_rank is None or w.consensus:
            key_rows = part.key_rows(hit.item_id)
            cosines = np.sort(part.dense.reconstruct_n(key_rows.start, len(key_rows)) @ query.vector)
            if hit.dense_rank is None:  # found by BM25 only: score its best key densely too
                hit.dense = float(cosines[-1])
            if len(cosines) > 1:
                agreement = float(cosines[-2] - cosines[-1])
        entry_cov = float(entry_covs[pos]) if entry_covs is not None else 0.0
        missing = missing_conditions(self.item_conditions(item), query.conditions)
        precision = self.title_precision(item, query) if w.title_precision else 0.0
        relevance = (hit.dense + w.coverage * cov + w.entry_coverage * entry_cov + w.consensus * agreement
                     + w.title_precision * precision - w.missing_condition * len(missing))
        return Candidate(item, hit.dense, hit.bm25, cov, locality, missing, relevance)


def defining_text(item: Item) -> str:
    """What an item is about in its own words: an FAQ question, or a passage's last heading."""
    if item.kind == FAQ:
        return item.title
    return item.context.rsplit("/", 1)[-1]
