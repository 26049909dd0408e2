"""A deterministic stand-in for the embedding model (like Haystack's MockTextEmbedder), for tests whose
assertions do not depend on the model's semantics: index build/load, partitions, search, compose, pipeline logic.

Hashed character n-grams of the normalised text go into a fixed-size vector. Like a real sentence model's vectors,
every vector also shares one common direction, so unrelated texts still have a clearly positive cosine and
near-paraphrases a high one: cos(a, b) = SHARED + (1 - SHARED) * cos_ngrams(a, b). That keeps the calibrated
thresholds (assistant/answering/calibration.json) meaningful for plain cases: a question that shares most of its
wording with an FAQ entry is answered, an unrelated one is out of scope. Nothing is loaded; encoding is instant.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import numpy as np

from assistant.text.normalize import normalize

SHARED = 0.75  # the cosine of two texts with no n-gram in common
_NON_WORD = re.compile(r"[\W_]+")
_NGRAMS = ((1, 0.5), (2, 1.0), (3, 1.0))  # (length, weight)


class FakeEmbedder:
    """The interface of assistant.embedding.embedder.Embedder (encode_queries/encode_passages, fingerprint,
    model_dir, backend, dimension, enable_batching) without a model. Queries and passages encode alike."""

    backend = "float32"

    def __init__(self, dimension: int = 256, model_dir: Path = Path("fake-embedder")):
        self._dimension = dimension
        self.model_dir = Path(model_dir)
        self.fingerprint = f"fake-ngram-{dimension}-{SHARED}"
        self.prompts: dict[str, str] = {}

    @property
    def dimension(self) -> int:
        return self._dimension

    def enable_batching(self) -> None:
        """Nothing to batch: encoding is instant."""

    def vector(self, text: str) -> np.ndarray:
        """One L2-normalised vector: the shared direction in slot 0, hashed signed n-gram counts in the rest."""
        chars = _NON_WORD.sub("", normalize(text))
        grams = np.zeros(self._dimension - 1, dtype=np.float64)
        for n, weight in _NGRAMS:
            for i in range(len(chars) - n + 1):
                h = zlib.crc32(chars[i : i + n].encode("utf-8"))
                grams[h % (self._dimension - 1)] += weight if h & 0x80000000 else -weight
        norm = np.linalg.norm(grams)
        out = np.zeros(self._dimension, dtype=np.float32)
        out[0] = SHARED**0.5
        if norm:
            out[1:] = grams / norm * (1 - SHARED) ** 0.5
        else:  # no characters at all: the shared direction only
            out[0] = 1.0
        return out

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        return np.ascontiguousarray(np.vstack([self.vector(t) for t in texts]), dtype=np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        return self._encode(texts)
