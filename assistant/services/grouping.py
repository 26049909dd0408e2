"""Near-duplicate detection for follow-up questions (pure)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import jieba

from assistant.text.normalize import normalize

_NOISE_RE = re.compile(r"[\s\W_]+")
_PLACEHOLDER_RE = re.compile(r"【[^】]*】")
_FILLER = frozenset({
    "我", "俺", "你", "的", "了", "吗", "呢", "吧", "啊", "是", "在", "有", "没有", "有没有", "能", "能不能", "会",
    "会不会", "可以", "怎么", "咋", "啥", "什么", "出狱", "出去", "出来", "后", "以后",
})
SIMILAR = 0.5
WORD_OVERLAP = 0.7


def _core(text: str) -> str:
    return _NOISE_RE.sub("", _PLACEHOLDER_RE.sub("", normalize(text)))


def bigrams(text: str) -> set[str]:
    core = _core(text)
    return {core[i : i + 2] for i in range(len(core) - 1)} or {core}


def content_words(text: str) -> set[str]:
    return {w for w in jieba.lcut(_core(text)) if w not in _FILLER and len(w) > 1}


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of character bigrams after normalisation (0..1)."""
    x, y = bigrams(a), bigrams(b)
    return len(x & y) / len(x | y) if x | y else 0.0


@dataclass(frozen=True)
class Fingerprint:
    """What near-duplicate detection compares, computed once per text."""

    grams: frozenset[str]
    words: frozenset[str]


def fingerprint(text: str) -> Fingerprint:
    return Fingerprint(frozenset(bigrams(text)), frozenset(content_words(text)))


def fingerprints_match(a: Fingerprint, b: Fingerprint) -> bool:
    """Same question in other words: similar characters, or most content words shared (at least two)."""
    union = a.grams | b.grams
    if union and len(a.grams & b.grams) / len(union) >= SIMILAR:
        return True
    shared = a.words & b.words
    return len(shared) >= 2 and len(shared) / max(1, min(len(a.words), len(b.words))) >= WORD_OVERLAP


def is_near_duplicate(a: str, b: str) -> bool:
    """Same question in other words: similar characters, or most content words shared (at least two)."""
    return fingerprints_match(fingerprint(a), fingerprint(b))


def cluster(texts: Sequence[str]) -> list[list[int]]:
    """Indices of `texts` in near-duplicate groups: each text joins the first group whose first text it
    matches, in order (each text is fingerprinted once)."""
    prints = [fingerprint(t) for t in texts]
    groups: list[list[int]] = []
    for i, fp in enumerate(prints):
        for group in groups:
            if fingerprints_match(prints[group[0]], fp):
                group.append(i)
                break
        else:
            groups.append([i])
    return groups
