"""The fake embedder keeps the real one's contract: fixed size, unit length, deterministic, normalised text."""

from __future__ import annotations

import numpy as np
from fake_embedder import SHARED, FakeEmbedder


def test_vectors_are_unit_length_fixed_size_and_deterministic():
    emb = FakeEmbedder(dimension=64)
    texts = ["出狱后医保怎么办", "", "ＡＢＣ１２３", "今天天气怎么样"]
    vectors = emb.encode_passages(texts)
    assert vectors.shape == (4, 64) and vectors.dtype == np.float32 and vectors.flags["C_CONTIGUOUS"]
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert np.array_equal(vectors, FakeEmbedder(dimension=64).encode_queries(texts))  # another instance, same vectors
    assert emb.encode_queries([]).shape == (0, 64)


def test_similar_wording_scores_higher_than_unrelated_and_normalisation_counts():
    emb = FakeEmbedder()
    q, same, near, far, trad = emb.encode_queries(
        ["出狱后医保怎么办", "出狱后医保怎么办？", "出狱以后医保该怎么弄", "今天天气怎么样", "出獄後醫保怎麼辦"])
    assert float(q @ same) > 0.999 and float(q @ trad) > 0.999  # punctuation and traditional characters ignored
    assert float(q @ near) > float(q @ far) >= SHARED - 0.05
    assert emb.fingerprint != FakeEmbedder(dimension=128).fingerprint
