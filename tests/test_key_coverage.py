"""Coverage of every key and item of a partition at once equals the per-key and per-item definitions."""

from __future__ import annotations

import random

import numpy as np
from fake_embedder import FakeEmbedder

from assistant.index.items import FAQ, Item
from assistant.index.partition import Partition


def weighted_coverage(weights: dict[str, float], have: frozenset[str]) -> float:
    """The definition: the share of the total weight whose tokens are in `have`."""
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in have) / total if total else 0.0


def _partition() -> tuple[Partition, list[list[str]]]:
    rng = random.Random(3)
    words = [f"w{i}" for i in range(30)]
    items = [Item(f"faq-{i}", FAQ, f"faq-{i}", "000000", f"q{i}", "", f"a{i}", (), (),
                  tuple(f"k{i}-{j}" for j in range(rng.randint(1, 5)))) for i in range(12)]
    tokens = [rng.sample(words, rng.randint(0, 6)) for item in items for _ in item.keys]
    vectors = FakeEmbedder().encode_passages([k for item in items for k in item.keys])
    return Partition.build("000000/faq", items, vectors, tokens), tokens


def test_key_coverages_match_the_per_key_definition():
    part, tokens = _partition()
    rng = random.Random(5)
    for _ in range(50):
        weights = {f"w{rng.randint(0, 35)}": rng.uniform(0.1, 5.0) for _ in range(rng.randint(0, 8))}
        got = part.key_coverages(weights)
        want = [weighted_coverage(weights, frozenset(t)) for t in tokens]
        assert np.allclose(got, want, rtol=0, atol=1e-12)
        assert got.shape == (len(tokens),) and (got >= 0).all() and (got <= 1 + 1e-12).all()


def test_item_coverages_at_once_match_the_per_item_definitions():
    """The best key's coverage and the whole entry's coverage of every item, computed for the partition at once,
    equal the per-item definitions (max over the item's keys; coverage of the union of its keys' tokens)."""
    part, tokens = _partition()
    rng = random.Random(7)
    for _ in range(50):
        weights = {f"w{rng.randint(0, 35)}": rng.uniform(0.1, 5.0) for _ in range(rng.randint(0, 8))}
        covs = part.key_coverages(weights)
        best = part.item_best_coverages(covs)
        entry = part.item_coverages(weights)
        for pos, item_id in enumerate(part.item_ids):
            rows = part.key_rows(item_id)
            assert best[pos] == max(covs[r] for r in rows)
            union = frozenset().union(*(frozenset(tokens[r]) for r in rows))  # every token of the item's keys
            assert abs(entry[pos] - weighted_coverage(weights, union)) < 1e-12
            assert entry[pos] >= best[pos] - 1e-12  # the union covers at least what its best key covers
