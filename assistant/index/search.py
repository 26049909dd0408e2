"""Hybrid search scoped to the asker's region chain: dense + BM25 candidates, one consistent score."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assistant.embedding.embedder import Embedder
from assistant.index.items import CHUNK, FAQ, Item
from assistant.index.partition import Hit
from assistant.index.store import SearchIndex, TermStats
from assistant.knowledge.regions import RegionTree
from assistant.text.analyzer import Analyzer
from assistant.text.normalize import normalize

COVERAGE_WEIGHT = 0.15
LOCALITY_WEIGHT = 0.005


@dataclass(frozen=True)
class Query:
    """A normalised question with its tokens and vector (computed once, reused for every partition)."""

    text: str
    tokens: tuple[str, ...]
    vector: np.ndarray


@dataclass(frozen=True)
class Candidate:
    item: Item
    dense: float
    bm25: float
    coverage: float
    locality: int

    @property
    def relevance(self) -> float:
        """How well the item answers, independent of where it comes from."""
        return self.dense + COVERAGE_WEIGHT * self.coverage

    @property
    def score(self) -> float:
        """Ranking score: relevance, with a small bonus for more local sources (county > … > national)."""
        return self.relevance + LOCALITY_WEIGHT * self.locality


def coverage(query_tokens: tuple[str, ...], key_tokens: list[str], stats: TermStats) -> float:
    """Share of the query's IDF weight that the key's tokens contain (0..1)."""
    wanted = set(query_tokens)
    if not wanted:
        return 0.0
    have = set(key_tokens)
    total = sum(stats.idf(t) for t in wanted)
    return sum(stats.idf(t) for t in wanted if t in have) / total


class HybridSearcher:
    """Searches the partitions of a region chain and merges them with one comparable score."""

    def __init__(self, index: SearchIndex, embedder: Embedder, analyzer: Analyzer, regions: RegionTree,
                 per_partition: int = 10):
        self.index = index
        self.embedder = embedder
        self.analyzer = analyzer
        self.regions = regions
        self.per_partition = per_partition

    def prepare(self, question: str) -> Query:
        text = normalize(question)
        expansions = self.analyzer.expand(text)
        dense_text = f"{text}（{'，'.join(expansions)}）" if expansions else text
        vector = self.embedder.encode_queries([dense_text])[0]
        return Query(text, tuple(self.analyzer.tokens(text)), vector)

    def search(self, query: Query, region_code: str, kinds: tuple[str, ...] = (FAQ, CHUNK),
               k: int = 10) -> list[Candidate]:
        """Top `k` candidates of the given kinds from the region chain of `region_code`, best first."""
        out: list[Candidate] = []
        for region in self.regions.chain(region_code):
            locality = self.regions.locality(region.code)
            for kind in kinds:
                part = self.index.partition(kind, region.code)
                if part is None:
                    continue
                for hit in part.search(query.vector, list(query.tokens), self.per_partition):
                    out.append(self._candidate(hit, part, query, locality))
        out.sort(key=lambda c: c.score, reverse=True)
        return out[:k]

    def _candidate(self, hit: Hit, part, query: Query, locality: int) -> Candidate:
        item = self.index.items[hit.item_id]
        key_rows = part.key_rows(hit.item_id)
        cov = max((coverage(query.tokens, part.key_tokens[r], self.index.stats) for r in key_rows), default=0.0)
        if hit.dense_rank is None:  # found by BM25 only: score its best key densely too
            vecs = np.vstack([part.dense.reconstruct(int(r)) for r in key_rows])
            hit.dense = float(np.max(vecs @ query.vector))
        return Candidate(item, hit.dense, hit.bm25, cov, locality)
