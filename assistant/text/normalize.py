"""Text normalisation: NFKC (full-width → half-width), traditional → simplified, tidy whitespace."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_SPACE_RE = re.compile(r"[ \t\u3000]+")


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


# Full-width punctuation a reader of Chinese expects to see as it was typed (NFKC would make it ASCII).
_CJK_PUNCT = "，？！：；（）"
_HIDE_PUNCT = {ord(c): 0xF0000 + i for i, c in enumerate(_CJK_PUNCT)}  # private-use stand-ins NFKC leaves alone
_SHOW_PUNCT = {v: ord(_CJK_PUNCT[i]) for i, v in enumerate(_HIDE_PUNCT.values())}


def tidy(text: str) -> str:
    """`normalize` for text people read (a logged question): the same characters, except that case and the
    full-width punctuation of Chinese (，？！：；（）) are kept. `normalize(tidy(t)) == normalize(t)`."""
    text = unicodedata.normalize("NFKC", text.translate(_HIDE_PUNCT)).translate(_SHOW_PUNCT)
    text = _CONTROL_RE.sub("", text)
    text = to_simplified(text)
    text = _SPACE_RE.sub(" ", text)
    lines = [line.strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line).strip()


def normalize(text: str) -> str:
    """Canonical form used everywhere before matching: NFKC, simplified, no control chars, one space."""
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL_RE.sub("", text)
    text = to_simplified(text)
    text = _SPACE_RE.sub(" ", text)
    lines = [line.strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line).strip().lower()
