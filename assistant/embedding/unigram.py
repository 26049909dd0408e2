"""The encoder's tokenizer in plain Python, converted from the model folder's `tokenizer.json`.

HuggingFace `tokenizers` holds the 250k-piece Unigram vocabulary of XLM-R in about 280 MB of resident
memory (measured; malloc_trim does not return it), the largest single cost of the int8 server. This
module holds the same vocabulary as one dict (~50–70 MB) and reproduces tokenizers' pipeline step by step,
so the ids are the ones `tokenizers` gives (tests/test_unigram.py compares every text of the knowledge
base and test sets, and every code point):

- the added tokens (`<s>`, `</s>`, `<mask>` …) matched in the raw text, leftmost-longest;
- the normalizer steps of tokenizer.json (Replace, NFKC, …), per segment between them, run by
  `tokenizers`' own normalizer objects (small; its NFKC tables differ from Python's unicodedata);
- Metaspace: spaces become "▁", every segment starts with "▁", words are split before each "▁";
- the Unigram Viterbi of tokenizers (`encode_optimized`): float64 path scores summed left to right,
  a later candidate replaces the best only when strictly better, unknown characters scored
  min_score - 10 and consecutive unknowns fused into one `<unk>`;
- the `<s>` … `</s>` template, truncation to max_length keeping `</s>`, padding with `<pad>`.

Why not `sentencepiece`: its Viterbi sums float32 scores, so exact ties (the same pieces in another
order, e.g. 呵呵呵 = 呵+呵呵 or 呵呵+呵) are broken by rounding differently from tokenizers' float64;
on the knowledge base and test sets one text in 15,000 got other ids. Here the arithmetic is the same.

tokenizer.json is converted once, at export time, into `unigram.json` (the steps, the special ids and
the pieces with their scores, in id order). A tokenizer.json with a step this module does not know
raises `ConversionError`, and the encoder then keeps `tokenizers`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

UNIGRAM_FILE = "unigram.json"
FORMAT = 1
UNK_PENALTY = 10.0  # tokenizers' K_UNK_PENALTY: an unknown character scores min_score - 10
_UNICODE_FORMS = {"NFKC", "NFC", "NFKD", "NFD"}
SPACE = "\u2581"


class ConversionError(ValueError):
    """tokenizer.json uses a step this module does not reproduce exactly."""


def _check_normalizer(spec: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The flat list of normalizer steps, each one this module can apply exactly."""
    if spec is None:
        return []
    steps = spec["normalizers"] if spec.get("type") == "Sequence" else [spec]
    out: list[dict[str, Any]] = []
    for step in steps:
        kind = step.get("type")
        if kind == "Replace" and len(step["pattern"]) == 1 and set(step["pattern"]) <= {"String", "Regex"}:
            out.append({"type": "Replace", "pattern": step["pattern"], "content": step["content"]})
        elif kind in _UNICODE_FORMS:
            out.append({"type": kind})
        else:
            raise ConversionError(f"normalizer step {kind!r} is not reproduced by the Python tokenizer")
    return out


def convert(data: dict[str, Any]) -> dict[str, Any]:
    """The content of unigram.json for a parsed tokenizer.json, checked to be a pipeline reproduced here."""
    model = data.get("model") or {}
    if model.get("type") != "Unigram" or model.get("byte_fallback") or model.get("unk_id") is None:
        raise ConversionError("only a Unigram model with an unknown piece and no byte fallback is reproduced")
    pre = data.get("pre_tokenizer") or {}
    if not (pre.get("type") == "Metaspace" and pre.get("replacement") == SPACE
            and pre.get("prepend_scheme", "always") == "always" and pre.get("split", True)):
        raise ConversionError(f"pre-tokenizer {pre.get('type')!r} is not reproduced by the Python tokenizer")
    post = data.get("post_processor") or {}
    single = post.get("single") or []
    if post.get("type") != "TemplateProcessing" or len(single) != 3 or "Sequence" not in single[1]:
        raise ConversionError("only a <s> … </s> template post-processor is reproduced")
    specials = post["special_tokens"]
    bos = specials[single[0]["SpecialToken"]["id"]]["ids"]
    eos = specials[single[2]["SpecialToken"]["id"]]["ids"]
    vocab = model["vocab"]
    added = data.get("added_tokens") or []
    for token in added:
        if token.get("normalized") or token.get("lstrip") or token.get("rstrip") or token.get("single_word"):
            raise ConversionError(f"added token {token['content']!r} has options not reproduced here")
        if token["id"] >= len(vocab) or vocab[token["id"]][0] != token["content"]:
            raise ConversionError(f"added token {token['content']!r} is not in the Unigram vocabulary")
    pieces = [piece for piece, _ in vocab]
    if len(set(pieces)) != len(pieces):
        raise ConversionError("the Unigram vocabulary repeats a piece")
    pad = next((t["id"] for t in added if t["content"] == "<pad>"), 0)
    return {"format": FORMAT, "normalizer": _check_normalizer(data.get("normalizer")),
            "added_tokens": {t["content"]: t["id"] for t in added}, "bos": bos, "eos": eos, "pad": pad,
            "unk_id": model["unk_id"], "pieces": pieces, "scores": [float(score) for _, score in vocab]}


def build(tokenizer_json: Path, target_dir: Path) -> Path:
    """Write unigram.json for `tokenizer_json` into `target_dir` (deterministic, atomic); return its path."""
    data = json.loads(Path(tokenizer_json).read_text(encoding="utf-8"))
    content = json.dumps(convert(data), ensure_ascii=False, separators=(",", ":"))
    path = Path(target_dir) / UNIGRAM_FILE
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    tmp.write_text(content, encoding="utf-8")
    os.replace(tmp, path)
    return path


def exists(folder: Path) -> bool:
    """Whether `folder` holds a unigram.json of this format (read from its first bytes only)."""
    try:
        with open(Path(folder) / UNIGRAM_FILE, encoding="utf-8") as f:
            return f.read(64).startswith(f'{{"format":{FORMAT},')
    except OSError:
        return False


def normalizer(steps: list[dict[str, Any]]):
    """tokenizer.json's normalizer steps as `tokenizers` objects (a few MB, unlike its Unigram model).

    Normalizing in Python is not the same: unicodedata (Unicode 14) and tokenizers' NFKC tables (older)
    order and compose the marks of later-added scripts differently (e.g. Lao U+0EBA)."""
    from tokenizers import Regex, normalizers

    built = []
    for step in steps:
        if step["type"] == "Replace":
            pattern = step["pattern"]
            built.append(normalizers.Replace(pattern["String"] if "String" in pattern else Regex(pattern["Regex"]),
                                             step["content"]))
        else:
            built.append(getattr(normalizers, step["type"])())
    return normalizers.Sequence(built)


class UnigramTokenizer:
    """Token ids as tokenizers' pipeline gives them: added tokens, normalizer, Metaspace, Unigram, template."""

    def __init__(self, folder: Path, max_length: int):
        meta = json.loads((Path(folder) / UNIGRAM_FILE).read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ConversionError(f"{Path(folder) / UNIGRAM_FILE}: unknown format {meta.get('format')!r}")
        self.normalize = normalizer(meta["normalizer"]).normalize_str
        self.added: dict[str, int] = meta["added_tokens"]
        # leftmost, then longest, as tokenizers' added-vocabulary matcher
        self._added_re = (re.compile("|".join(re.escape(t) for t in sorted(self.added, key=len, reverse=True)))
                          if self.added else None)
        self.bos: list[int] = list(meta["bos"])
        self.eos: list[int] = list(meta["eos"])
        self.pad_id = int(meta["pad"])
        self.unk_id = int(meta["unk_id"])
        if max_length < len(self.bos) + len(self.eos):
            raise ValueError(f"max_length {max_length} leaves no room for the special tokens")
        self.max_length = max_length
        pieces: list[str] = meta.pop("pieces")
        self.scores: list[float] = meta.pop("scores")
        self.ids_of: dict[str, int] = {piece: i for i, piece in enumerate(pieces)}
        self.max_piece = max(map(len, pieces))
        self.unk_score = min(self.scores) - UNK_PENALTY

    def _segments(self, text: str) -> list[str | int]:
        """The raw text split at added tokens: strings to normalize, ids of the tokens between them."""
        if self._added_re is None:
            return [text]
        out: list[str | int] = []
        start = 0
        for match in self._added_re.finditer(text):
            if match.start() > start:
                out.append(text[start:match.start()])
            out.append(self.added[match.group()])
            start = match.end()
        if start < len(text):
            out.append(text[start:])
        return out

    def _word(self, word: str, out: list[int]) -> None:
        """Append the ids of one pre-tokenized word: tokenizers' Unigram `encode_optimized`, step for step."""
        n = len(word)
        best = [0.0] * (n + 1)
        start = [-1] * (n + 1)
        node = [0] * (n + 1)
        get, scores, unk = self.ids_of.get, self.scores, self.unk_id
        for i in range(n):
            here = best[i]
            single = False
            for j in range(i + 1, min(n, i + self.max_piece) + 1):
                pid = get(word[i:j])
                if pid is None:
                    continue
                score = scores[pid] + here
                if start[j] < 0 or score > best[j]:
                    best[j], start[j], node[j] = score, i, pid
                if j == i + 1:
                    single = True
            if not single:
                score = self.unk_score + here
                if start[i + 1] < 0 or score > best[i + 1]:
                    best[i + 1], start[i + 1], node[i + 1] = score, i, unk
        ids: list[int] = []
        end = n
        unk_end = -1  # end of a run of unknown nodes being fused
        while end > 0:
            begin = start[end]
            if node[end] == unk:
                if unk_end < 0:
                    unk_end = end
            else:
                if unk_end >= 0:
                    ids.append(self.ids_of.get(word[end:unk_end], unk))
                    unk_end = -1
                ids.append(node[end])
            end = begin
        if unk_end >= 0:
            ids.append(self.ids_of.get(word[0:unk_end], unk))
        out.extend(reversed(ids))

    def ids(self, text: str) -> list[int]:
        """The ids of `text` with the template's special tokens, truncated to max_length (the end token kept)."""
        body: list[int] = []
        for segment in self._segments(text):
            if isinstance(segment, int):
                body.append(segment)
                continue
            normalized = self.normalize(segment).replace(" ", SPACE)
            if not normalized:
                continue
            if not normalized.startswith(SPACE):  # Metaspace, prepend scheme "always"
                normalized = SPACE + normalized
            for word in normalized.split(SPACE)[1:]:  # split before every "▁", which stays with its word
                self._word(SPACE + word, body)
        room = self.max_length - len(self.bos) - len(self.eos)
        return self.bos + body[:room] + self.eos

    def encode_batch(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """input_ids and attention_mask of `texts`, padded with the pad id to the longest of them."""
        rows = [self.ids(text) for text in texts]
        width = max((len(r) for r in rows), default=0)
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        return ids, mask
