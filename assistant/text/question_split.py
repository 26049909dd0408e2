"""Split a compound question ("医保怎么处理？会不会影响孩子入党？") into its parts."""

from __future__ import annotations

import re

_SENTENCE_RE = re.compile(r"(?<=[？?！!。；;\n])")
# a connector starts a new part only at the start of a clause ("还有效吗" is not "还有" + "效吗")
_CONNECTOR_RE = re.compile(r"(?:^|(?<=[，,。？?！!；;]))(?:还有(?:个|一个|件|一件)事(?:儿|情)?|还有(?:就是)?|"
                           r"换(?:个|一个)(?:事儿|事|话题|问题)|另外(?:再)?问(?:一)?下|另外|再问(?:一)?下|"
                           r"还想问(?:一下)?|顺便问(?:一下)?|问(?:一)?下|第二个问题|其次)[，,：:]?")
_QUESTION_WORD_RE = re.compile(
    r"(怎么|咋|啥|什么|吗|么|能不能|会不会|可不可以|是不是|有没有|要不要|多久|多长|几年|哪里|哪儿|去哪|找谁|如何|呢|没有|行不行|中不中|不[？?]?$|没[？?]?$)"
)
MIN_PART = 4
# people who type without punctuation separate clauses with a space: "孩子能当警察不 能入党不"
_SPACE_BETWEEN_WORDS_RE = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")


def _looks_like_question(text: str) -> bool:
    return len(text) >= MIN_PART and bool(_QUESTION_WORD_RE.search(text))


def split_question(text: str) -> list[str]:
    """Parts of a (normalised) question; a single question comes back as one part."""
    pieces: list[str] = []
    text = _SPACE_BETWEEN_WORDS_RE.sub("，", text)
    for sentence in _SENTENCE_RE.split(text):
        for chunk in _CONNECTOR_RE.split(sentence):
            chunk = chunk.strip(" ，,。；;")
            if not chunk:
                continue
            clauses = [c.strip() for c in re.split(r"[，,]", chunk) if c.strip()]
            current = ""
            for clause in clauses:
                if current and _looks_like_question(current) and _looks_like_question(clause):
                    pieces.append(current)
                    current = clause
                else:
                    current = f"{current}，{clause}" if current else clause
            if current:
                pieces.append(current)
    parts: list[str] = []
    for piece in pieces:
        core = piece.strip("？?！!。；; ")
        if parts and len(core) < MIN_PART:
            parts[-1] = f"{parts[-1]}{piece}"
        elif core:
            parts.append(piece.strip())
    return parts or [text.strip()]
