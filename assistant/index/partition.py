"""One region's slice of one item kind: a FAISS inner-product index and a BM25 index over its keys."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import bm25s
import faiss
import numpy as np

from assistant.index.items import Item


@dataclass
class Hit:
    item_id: str
    dense: float = 0.0
    bm25: float = 0.0
    dense_rank: int | None = None
    bm25_rank: int | None = None
    key: str = ""


def _shares_of_weight(holders: dict[str, np.ndarray], weights: dict[str, float], size: int) -> np.ndarray:
    """Per position 0..size-1, the share of the total of `weights` (token → weight) whose tokens it holds
    (`holders`: token → positions holding it); added in the order of `weights`, so sums and ties are the same
    in every process."""
    out = np.zeros(size, dtype=np.float64)
    total = sum(weights.values())
    if not total:
        return out
    for token, weight in weights.items():
        found = holders.get(token)
        if found is not None:
            out[found] += weight
    return out / total


class Partition:
    """Search keys of items of one kind in one region, and the items themselves (saved with it, so a process
    holds the items of the partitions it holds). Searching touches this partition only."""

    def __init__(self, name: str, item_ids: list[str], key_item: np.ndarray, key_tokens: list[list[str]],
                 dense: faiss.Index, bm25: bm25s.BM25 | None, keys: list[str], items: dict[str, Item] | None = None):
        self.name = name
        self.item_ids = item_ids
        self.items = items or {}
        self.key_item = key_item
        self.key_tokens = key_tokens
        self.key_sets = [frozenset(t) for t in key_tokens]  # for coverage: set membership per key
        self.dense = dense
        self.bm25 = bm25
        self.keys = keys
        self.item_pos = {item_id: i for i, item_id in enumerate(item_ids)}
        # keys of one item are contiguous, so an item's keys are rows starts[i]..starts[i+1]
        self._starts = np.searchsorted(key_item, np.arange(len(item_ids) + 1))
        self._token_rows: dict[str, np.ndarray] | None = None  # token → key rows holding it (built on first use)
        self._token_items: dict[str, np.ndarray] | None = None  # token → items with a key holding it (on first use)

    def _rows_by_token(self) -> dict[str, np.ndarray]:
        """Token → the key rows holding it (built on first use)."""
        if self._token_rows is None:
            rows: dict[str, list[int]] = {}
            for row, tokens in enumerate(self.key_sets):
                for token in tokens:
                    rows.setdefault(token, []).append(row)
            self._token_rows = {t: np.array(r, dtype=np.int64) for t, r in rows.items()}
        return self._token_rows

    def key_coverages(self, weights: dict[str, float]) -> np.ndarray:
        """Per key row, the share of the query's IDF weight (`weights`, token → weight) the key contains, for all
        keys at once."""
        return _shares_of_weight(self._rows_by_token(), weights, len(self.key_sets))

    def item_best_coverages(self, key_coverages: np.ndarray) -> np.ndarray:
        """Per item (in `item_ids` order), the best of its keys' coverages (`key_coverages`), all at once."""
        out = np.zeros(len(self.item_ids), dtype=np.float64)
        if len(key_coverages):
            has_keys = self._starts[:-1] < self._starts[1:]
            out[has_keys] = np.maximum.reduceat(key_coverages, self._starts[:-1][has_keys])
        return out

    def item_coverages(self, weights: dict[str, float]) -> np.ndarray:
        """Per item, the share of the query's IDF weight found anywhere in its keys (an FAQ entry as one document:
        question, wordings and answer together), for all items at once."""
        if self._token_items is None:
            self._token_items = {t: np.unique(self.key_item[rows]) for t, rows in self._rows_by_token().items()}
        return _shares_of_weight(self._token_items, weights, len(self.item_ids))

    def key_rows(self, item_id: str) -> range:
        pos = self.item_pos[item_id]
        return range(int(self._starts[pos]), int(self._starts[pos + 1]))

    @classmethod
    def build(cls, name: str, items: list[Item], vectors: np.ndarray, key_tokens: list[list[str]]) -> Partition:
        key_item = np.array([i for i, item in enumerate(items) for _ in item.keys], dtype=np.int32)
        keys = [k for item in items for k in item.keys]
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        bm25 = None
        if any(key_tokens):
            bm25 = bm25s.BM25()
            bm25.index(key_tokens, show_progress=False)
        return cls(name, [i.id for i in items], key_item, key_tokens, index, bm25, keys, {i.id: i for i in items})

    def search(self, query_vector: np.ndarray, query_tokens: list[str], k: int) -> list[Hit]:
        """Best keys by dense and by BM25, reduced to one hit per item (its best key)."""
        hits: dict[str, Hit] = {}
        n_keys = len(self.key_item)
        if n_keys == 0:
            return []
        kk = min(n_keys, k * 4)
        scores, idx = self.dense.search(query_vector.reshape(1, -1), kk)
        rank = 0
        for score, key in zip(scores[0], idx[0], strict=True):
            if key < 0:
                continue
            item_id = self.item_ids[self.key_item[key]]
            if item_id not in hits:
                hits[item_id] = Hit(item_id, dense=float(score), dense_rank=rank, key=self.keys[key])
                rank += 1
        if self.bm25 is not None:
            vocab = self.bm25.vocab_dict
            known = [t for t in query_tokens if t in vocab]
            if known:
                bm = self.bm25.get_scores(known)
                top = np.argsort(-bm)[:kk]
                rank = 0
                seen: set[str] = set()
                for key in top:
                    if bm[key] <= 0:
                        break
                    item_id = self.item_ids[self.key_item[key]]
                    if item_id in seen:
                        continue
                    seen.add(item_id)
                    hit = hits.setdefault(item_id, Hit(item_id, key=self.keys[key]))
                    hit.bm25, hit.bm25_rank = float(bm[key]), rank
                    rank += 1
        return list(hits.values())

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.dense, str(folder / "dense.faiss"))
        if self.bm25 is not None:
            self.bm25.save(str(folder / "bm25"), show_progress=False)
        meta = {"name": self.name, "item_ids": self.item_ids, "key_item": self.key_item.tolist(),
                "key_tokens": self.key_tokens, "keys": self.keys}
        (folder / "keys.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        items = [self.items[i].to_json() for i in self.item_ids]
        (folder / "items.json").write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> Partition:
        meta = json.loads((folder / "keys.json").read_text(encoding="utf-8"))
        dense = faiss.read_index(str(folder / "dense.faiss"))
        bm25 = None
        if (folder / "bm25").exists():
            bm25 = bm25s.BM25.load(str(folder / "bm25"), show_progress=False, verbosity=0)
        key_item = np.array(meta["key_item"], dtype=np.int32)
        if dense.ntotal != len(key_item):
            raise ValueError(f"{folder}: dense index has {dense.ntotal} vectors for {len(key_item)} keys")
        items = {d["id"]: Item.from_json(d) for d in json.loads((folder / "items.json").read_text(encoding="utf-8"))}
        missing = [i for i in meta["item_ids"] if i not in items]
        if missing:
            raise ValueError(f"{folder}: {len(missing)} items missing (e.g. {missing[0]})")
        return cls(meta["name"], meta["item_ids"], key_item, meta["key_tokens"], dense, bm25, meta["keys"], items)
