"""Retrieval baselines on the same knowledge base and questions: BM25 alone, dense alone, LangChain.

Each ranks targets (document or FAQ ids) for a question in the asker's region chain and decides with
thresholds fitted on the calibration set by the same objective as the system (+1 right, −3 wrong
answer, −1 needless flag, −1 dismissing a real question).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from assistant.answering.calibration import DISMISS_COST, NEEDLESS_FLAG_COST, WRONG_ANSWER_COST
from assistant.index.items import Item

Ranked = list[tuple[str, float]]  # (target id, score), best first


@dataclass
class ThresholdDecider:
    answer_at: float = 1e9
    domain_at: float = -1e9

    def decide(self, score: float) -> str:
        if score >= self.answer_at:
            return "answered"
        return "flagged" if score >= self.domain_at else "out_of_scope"


def utility(rows: list[tuple[object, Ranked]], d: ThresholdDecider) -> float:
    total = 0.0
    for label, ranked in rows:
        top = ranked[0] if ranked else ("", -1e9)
        status = d.decide(top[1])
        if status == "answered":
            right = label.status == "answered" and (not label.expected or top[0] in label.expected)
            total += 1 if right else -WRONG_ANSWER_COST
        elif status == label.status:
            total += 1
        elif status == "out_of_scope":
            total -= DISMISS_COST
        elif label.status == "answered":
            total -= NEEDLESS_FLAG_COST
    return total


def fit(rows: list[tuple[object, Ranked]]) -> ThresholdDecider:
    scores = sorted({round(r[1][0][1], 4) for r in rows if r[1]})
    grid = [scores[int(i)] for i in np.linspace(0, len(scores) - 1, min(len(scores), 120))] if scores else [0.0]
    best, best_u = ThresholdDecider(), -1e18
    for a in grid:
        for b in [-1e9, *grid]:
            if b > a:
                continue
            d = ThresholdDecider(a, b)
            u = utility(rows, d)
            if u > best_u:
                best, best_u = d, u
    return best


def dedupe(ranked: Ranked) -> Ranked:
    seen, out = set(), []
    for target, score in ranked:
        if target not in seen:
            seen.add(target)
            out.append((target, score))
    return out


class PartitionBaseline:
    """BM25-only or dense-only ranking over the system's own partitions (same scope, same tokens)."""

    def __init__(self, runtime, mode: str):
        self.runtime, self.mode = runtime, mode
        self.index = runtime.ensure_index()

    def rank(self, question: str, region: str) -> Ranked:
        searcher = self.runtime.answerer.searcher
        query = searcher.prepare(question)
        out: Ranked = []
        for r in self.runtime.regions.chain(region):
            for kind in ("faq", "chunk"):
                part = self.index.partition(kind, r.code)
                if part is None:
                    continue
                for hit in part.search(query.vector, list(query.tokens), 10):
                    score = hit.bm25 if self.mode == "bm25" else hit.dense
                    if self.mode == "bm25" and hit.bm25_rank is None:
                        continue
                    if self.mode == "dense" and hit.dense_rank is None:
                        continue
                    out.append((part.items[hit.item_id].target, score))
        return dedupe(sorted(out, key=lambda x: -x[1]))


class LangChainBaseline:
    """What a typical team builds: EnsembleRetriever(BM25Retriever + FAISS) on the same embedder.

    Documents are the same chunks and FAQ entries (question, paraphrases and answer in one text).
    Results are post-filtered to the asker's region chain; "no answer" is a threshold on the best
    FAISS relevance score.
    """

    def __init__(self, runtime, items: list[Item]):
        import jieba
        from langchain_classic.retrievers import EnsembleRetriever
        from langchain_community.retrievers import BM25Retriever
        from langchain_community.vectorstores import FAISS
        from langchain_core.documents import Document
        from langchain_core.embeddings import Embeddings

        embedder = runtime.embedder

        class E5(Embeddings):
            def embed_documents(self, texts: list[str]) -> list[list[float]]:
                return embedder.encode_passages(texts).tolist()

            def embed_query(self, text: str) -> list[float]:
                return embedder.encode_queries([text])[0].tolist()

        docs = []
        for item in items:
            body = item.keys[0] if item.kind == "chunk" else "\n".join([*item.keys[:-1], item.text])
            docs.append(Document(page_content=body, metadata={"target": item.target, "region": item.region}))
        self.regions = runtime.regions
        self.bm25 = BM25Retriever.from_documents(docs, preprocess_func=jieba.lcut_for_search, k=20)
        self.store = FAISS.from_documents(docs, E5())
        self.ensemble = EnsembleRetriever(retrievers=[self.bm25, self.store.as_retriever(search_kwargs={"k": 20})],
                                          weights=[0.5, 0.5])

    def rank(self, question: str, region: str) -> Ranked:
        scope = {r.code for r in self.regions.chain(region)}
        docs = [d for d in self.ensemble.invoke(question) if d.metadata["region"] in scope]
        if not docs:
            return []
        best = self.store.similarity_search_with_relevance_scores(question, k=30)
        relevance = {d.metadata["target"]: s for d, s in best if d.metadata["region"] in scope}
        top_score = max(relevance.values(), default=0.0)
        # the ensemble decides the order; the "no answer" threshold applies to the best vector relevance
        return dedupe([(d.metadata["target"], top_score) for d in docs])


def evaluate_ranker(rank: Callable[[str, str], Ranked], runtime, eval_labels, cal_labels) -> dict:
    """Fit thresholds on the calibration set, then measure on the eval set."""
    def rows(labels):
        return [(lab, rank(lab.question, runtime.regions.resolve(lab.county).code)) for lab in labels]

    decider = fit(rows(cal_labels))
    measured = rows(eval_labels)
    ranks, correct, wrong = [], 0, 0
    confusion: dict[str, int] = {}
    for label, ranked in measured:
        status = decider.decide(ranked[0][1] if ranked else -1e9)
        confusion[f"{label.status}->{status}"] = confusion.get(f"{label.status}->{status}", 0) + 1
        if label.status == "answered" and label.expected:
            ranks.append(next((i for i, (t, _) in enumerate(ranked) if t in label.expected), None))
        if status == label.status and (status != "answered" or not label.expected
                                       or ranked[0][0] in label.expected):
            correct += 1
        if status == "answered" and (label.status != "answered" or ranked[0][0] not in label.expected):
            wrong += 1
    n = len(ranks)
    return {"recall@1": round(sum(1 for r in ranks if r == 0) / n, 3),
            "recall@5": round(sum(1 for r in ranks if r is not None and r < 5) / n, 3),
            "mrr": round(sum(1 / (r + 1) for r in ranks if r is not None) / n, 3),
            "decision_accuracy": round(correct / len(measured), 3), "wrong_or_unwarranted_answers": wrong,
            "confusion": confusion}
