"""The Python Unigram tokenizer gives the ids tokenizers gives, on a hand-made tokenizer and on the real model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from assistant.embedding import unigram
from assistant.embedding.unigram import ConversionError, UnigramTokenizer

HARD_CASES = [
    "", " ", "   ", "\t\n\r", "\u3000", "\x01\x02", "a<s>b", "<s>", "</s><pad><mask><unk>", "＜s＞", " a", "a ",
    "a  b", "出狱后医保怎么办?", "出狱后医保怎么办？", "（全角）(半角)，,。.！!", "１２３４５ 12345 ①②③",
    "ＡＢＣ abc ABC", "呵呵呵", "呵呵呵呵呵", "ກ຺ຸ ກ຺ຸ",
    "Hello World, release in 2024年3月!", "😀😀 出狱 👍🏽", "繁體字：刑滿釋放人員申請低保", "𠀀𪚥龘 𬌗 㐀", "ｱｲｳ ㈱ ㍿",
    "e\u0301 ﬁ", "\ufeff开头", "query: 你好", "passage: 社保 断缴",
]


def tiny_tokenizer_json() -> dict:
    """A small XLM-R-shaped tokenizer.json: fairseq ids, control-character removal, NFKC, Metaspace, template."""
    pieces = ["▁", "a", "b", "ab", "▁a", "▁ab", "▁b", "c", "1", "2", "12", "<", "s", ">",
              "出", "狱", "出狱", "▁出狱", "x", "xx"]
    vocab = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]]
    vocab += [[p, -1.0 - 0.25 * i] for i, p in enumerate(pieces)] + [["<mask>", 0.0]]
    specials = [(0, "<s>"), (1, "<pad>"), (2, "</s>"), (3, "<unk>"), (len(vocab) - 1, "<mask>")]
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
              "special": True} for i, t in specials]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Replace", "pattern": {"String": "\u0001"}, "content": ""},
            {"type": "Replace", "pattern": {"String": "\n"}, "content": " "},
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
            {"type": "NFKC"},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}},
                                      {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                           "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                                                          "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}},
        "decoder": None,
        "model": {"type": "Unigram", "unk_id": 3, "vocab": vocab, "byte_fallback": False},
    }


def reference(path: Path, max_length: int) -> Tokenizer:
    tok = Tokenizer.from_file(str(path))
    tok.enable_truncation(max_length)
    return tok


def test_tiny_tokenizer_ids_truncation_and_padding_match_tokenizers(tmp_path: Path):
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(tiny_tokenizer_json(), ensure_ascii=False), encoding="utf-8")
    unigram.build(path, tmp_path)
    first = (tmp_path / unigram.UNIGRAM_FILE).read_bytes()
    unigram.build(path, tmp_path)
    assert (tmp_path / unigram.UNIGRAM_FILE).read_bytes() == first  # deterministic
    texts = [*HARD_CASES, "ab ab\nab", "a\x01b", "abcab 12 1 2", "出狱 出狱出狱", "ab" * 40, "<s>ab</s>ab<mask>",
             "ab▁ab", "１２ ＜s＞", "zzz yy", "xxx", "xxxxx xxxx", "axxxb"]
    for max_length in (4, 7, 512):
        ref, tok = reference(path, max_length), UnigramTokenizer(tmp_path, max_length)
        for text in texts:
            expected = ref.encode(text).ids
            assert tok.ids(text) == expected, (max_length, text)
            assert len(expected) <= max_length and expected[0] == 0 and expected[-1] == 2
    ref, tok = reference(path, 6), UnigramTokenizer(tmp_path, 6)
    ref.enable_padding(pad_id=1)
    batch = ["ab", "ab ab ab ab ab", ""]
    ids, mask = tok.encode_batch(batch)
    assert ids.tolist() == [e.ids for e in ref.encode_batch(batch)]
    assert mask.tolist() == [[1, 1, 1, 0, 0, 0], [1] * 6, [1, 1, 0, 0, 0, 0]]
    assert ids[0].tolist()[3:] == [1, 1, 1] and ids[1, -1] == 2  # padded with <pad>; </s> kept when truncated
    assert tok.encode_batch([])[0].shape == (0, 0)


@pytest.mark.parametrize("change", ["precompiled", "bpe", "prefix_first", "normalized_added"])
def test_a_tokenizer_it_cannot_reproduce_is_refused(tmp_path: Path, change: str):
    data = tiny_tokenizer_json()
    if change == "precompiled":
        data["normalizer"]["normalizers"].append({"type": "Precompiled", "precompiled_charsmap": ""})
    elif change == "bpe":
        data["model"]["type"] = "BPE"
    elif change == "prefix_first":
        data["pre_tokenizer"]["prepend_scheme"] = "first"
    else:
        data["added_tokens"][0]["normalized"] = True
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConversionError):
        unigram.build(path, tmp_path)
    assert not unigram.exists(tmp_path)


def corpus_texts() -> list[str]:
    from assistant.index.items import knowledge_items
    from assistant.knowledge.loader import load_knowledge
    from tests.helpers import KNOWLEDGE

    kb = load_knowledge(KNOWLEDGE)
    texts = [t for f in kb.faq for t in (f.question, *f.paraphrases, f.answer)]
    texts += [s.text for d in kb.documents for s in d.sections]
    texts += [k for item in knowledge_items(kb) for k in item.keys]
    for path in sorted((Path(__file__).parent / "data").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                texts += [row["question"]] if "question" in row else []
                texts += [t["question"] for t in row.get("turns", []) if "question" in t]
    return texts


@pytest.mark.slow
def test_real_model_ids_equal_tokenizers_on_every_text(embedder):
    from assistant.embedding.onnx_encoder import ensure_onnx

    folder = ensure_onnx(embedder.model_dir, embedder.fingerprint)
    assert unigram.exists(folder)
    ref = reference(folder / "tokenizer.json", 512)
    tok = UnigramTokenizer(folder, 512)
    texts = list(dict.fromkeys(corpus_texts()))
    assert len(texts) > 1000
    prompts = ["", *sorted(set(embedder.prompts.values()))]
    texts = [p + t for p in prompts for t in texts] + HARD_CASES + ["出狱后" * 400, "x" * 3000, "ab " * 600]
    expected = [e.ids for e in ref.encode_batch(texts)]
    differing = [t[:60] for t, e in zip(texts, expected, strict=True) if tok.ids(t) != e]
    assert not differing, (len(differing), differing[:10])
    assert any(len(e) == 512 for e in expected)  # truncation was exercised

    # every code point, 200 to a text, untruncated: the normalizer and the unknown pieces agree everywhere
    points = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    chunks = ["".join(points[i : i + 200]) for i in range(0, len(points), 200)]
    ref.no_truncation()
    wide = UnigramTokenizer(folder, 100_000)
    expected = [e.ids for e in ref.encode_batch(chunks)]
    differing = [i for i, (t, e) in enumerate(zip(chunks, expected, strict=True)) if wide.ids(t) != e]
    assert not differing, [hex(ord(chunks[i][0])) for i in differing[:10]]

    ids, mask = tok.encode_batch(texts[:64])
    ref.enable_truncation(512)
    ref.enable_padding(pad_id=1)
    batch = ref.encode_batch(texts[:64])
    assert np.array_equal(ids, np.array([e.ids for e in batch]))
    assert np.array_equal(mask, np.array([e.attention_mask for e in batch]))
    print(f"compared {len(texts)} texts and {len(chunks)} code-point texts")


@pytest.mark.parametrize("convertible", [True, False])
def test_an_earlier_export_gets_unigram_json_on_first_use(tmp_path: Path, convertible: bool):
    from assistant.embedding.onnx_encoder import INT8_FILE, ensure_onnx, onnx_dir

    model_dir = tmp_path / "model"
    target = onnx_dir(model_dir, "f00d")
    target.mkdir(parents=True)
    data = tiny_tokenizer_json()
    if not convertible:
        data["model"]["type"] = "BPE"
    (target / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
    (target / "export.json").write_text("{}", encoding="utf-8")
    (target / INT8_FILE).write_bytes(b"")
    assert ensure_onnx(model_dir, "f00d") == target  # no export: the ONNX files are there
    assert unigram.exists(target) is convertible
    assert not list(target.glob("*.tmp*"))
