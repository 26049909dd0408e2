"""The encoder as ONNX: exported once from the local model folder, dynamically quantized to int8.

sentence-transformers' own ONNX backend (`backend="onnx"`, `export_dynamic_quantized_onnx_model`)
needs `optimum-onnx`, whose only release pins transformers < 4.58 while sentence-transformers 6
needs transformers ≥ 5, so the two cannot be installed together. This module does the same steps
with the libraries underneath: `torch.onnx.export` of the model with its pooling and normalisation,
`onnxruntime.quantization.quantize_dynamic` (int8 weights, activations quantized per call), and an
`onnxruntime` session. The folder's `tokenizer.json` is converted at export for a Python tokenizer
(assistant/embedding/unigram.py: the same ids in ~50–70 MB instead of tokenizers' ~280 MB). Queries
then need neither PyTorch nor transformers at run time.

The files live beside the model folder, keyed by the folder's fingerprint and the export recipe, and
are written to a temporary folder and renamed, so they are built once, offline and deterministically.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from assistant.embedding import unigram

EXPORT_FORMAT = "bangjiao-onnx-3"
FLOAT32_FILE = "model_float32.onnx"
INT8_FILE = "model_int8.onnx"
OPSET = 17
# Quantize the matrix products and the embedding tables (the 250k-row word table is most of the
# model's size); LayerNorm, softmax and pooling stay float32. Per-channel weight scales and the
# reduced (7-bit) range measured best on the evaluation questions (cosine to float32: per-tensor
# 0.989 mean / 0.984 min; per-channel 0.9955 / 0.990; per-channel + reduced range 0.9965 / 0.992);
# the reduced range also avoids int16 overflow in the AVX2 kernels of CPUs without VNNI.
QUANTIZED_OPS = ("MatMul", "Gather")
PER_CHANNEL = True
REDUCE_RANGE = True


class OnnxExportError(RuntimeError):
    """The model folder cannot be exported to ONNX (unsupported pooling, missing files, libraries)."""


def onnx_dir(model_dir: Path, fingerprint: str) -> Path:
    """Where the ONNX files of a model folder live: a sibling keyed by the folder's fingerprint."""
    model_dir = Path(model_dir)
    return model_dir.parent / f"{model_dir.name}.onnx" / f"{fingerprint}-{EXPORT_FORMAT}"


def _pooling_mode(model_dir: Path) -> str:
    config_path = model_dir / "1_Pooling" / "config.json"
    if not config_path.exists():
        return "mean"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if config.get("pooling_mode_mean_tokens"):
        return "mean"
    if config.get("pooling_mode_cls_token"):
        return "cls"
    raise OnnxExportError(f"{model_dir}: only mean or CLS pooling can be exported to ONNX")


def _max_length(model_dir: Path) -> int:
    path = model_dir / "sentence_bert_config.json"
    if path.exists():
        return int(json.loads(path.read_text(encoding="utf-8")).get("max_seq_length") or 512)
    return 512


def ensure_onnx(model_dir: Path, fingerprint: str, progress=None) -> Path:
    """The folder holding the int8 ONNX file of `model_dir`, exporting it on first use (~1-2 min)."""
    target = onnx_dir(model_dir, fingerprint)
    if (target / "export.json").exists() and (target / INT8_FILE).exists():
        if not unigram.exists(target):
            _build_unigram(target / "tokenizer.json", target)  # exported before unigram.json existed
        return target
    if progress:
        progress(f"导出 ONNX 与 int8 编码器（仅首次）… (exporting the ONNX/int8 encoder once into {target})")
    export(Path(model_dir), target)
    return target


def export(model_dir: Path, target: Path) -> Path:
    """Export `model_dir` to ONNX and write its dynamic int8 quantization to `target`/model_int8.onnx."""
    try:
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from transformers import AutoModel
    except ImportError as exc:  # pragma: no cover - dependency missing
        raise OnnxExportError(f"ONNX export needs torch, transformers and onnxruntime: {exc}") from exc

    pooling = _pooling_mode(model_dir)
    tmp = target.with_name(target.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()

    class Pooled(torch.nn.Module):
        """The transformer plus pooling and L2 normalisation, as sentence-transformers computes them."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            hidden = self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            if pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    ids = torch.tensor([[0, 5, 6, 2], [0, 7, 2, 1]], dtype=torch.long)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.long)
    float_path = tmp / FLOAT32_FILE
    with torch.no_grad():
        torch.onnx.export(
            Pooled(model), (ids, mask), str(float_path), dynamo=False, opset_version=OPSET,
            input_names=["input_ids", "attention_mask"], output_names=["sentence_embedding"],
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                          "sentence_embedding": {0: "batch"}},
        )
    quantize_dynamic(str(float_path), str(tmp / INT8_FILE), weight_type=QuantType.QInt8,
                     op_types_to_quantize=list(QUANTIZED_OPS), per_channel=PER_CHANNEL, reduce_range=REDUCE_RANGE)
    float_path.unlink()  # only the int8 file is used; float32 runs through sentence-transformers
    shutil.copy(model_dir / "tokenizer.json", tmp / "tokenizer.json")
    _build_unigram(tmp / "tokenizer.json", tmp)
    import onnxruntime
    (tmp / "export.json").write_text(json.dumps({
        "format": EXPORT_FORMAT, "source": str(model_dir), "pooling": pooling, "max_length": _max_length(model_dir),
        "opset": OPSET, "quantized_ops": list(QUANTIZED_OPS), "per_channel": PER_CHANNEL,
        "reduce_range": REDUCE_RANGE, "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
    }, indent=1), encoding="utf-8")
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
    return target


def _build_unigram(tokenizer_json: Path, folder: Path) -> None:
    """Convert tokenizer.json to unigram.json; a tokenizer it cannot reproduce (or a read-only folder) keeps
    `tokenizers`."""
    import logging

    try:
        unigram.build(tokenizer_json, folder)
    except (unigram.ConversionError, OSError) as exc:
        logging.getLogger(__name__).warning("tokenizer stays on `tokenizers` (more memory): %s", exc)


class OnnxEncoder:
    """Encodes texts with an exported ONNX file through onnxruntime (no PyTorch needed)."""

    def __init__(self, folder: Path, file_name: str, threads: int | None = None):
        import onnxruntime as ort

        folder = Path(folder)
        meta = json.loads((folder / "export.json").read_text(encoding="utf-8"))
        self.max_length = int(meta.get("max_length", 512))
        self.unigram: unigram.UnigramTokenizer | None = None
        self.tokenizer = None
        if unigram.exists(folder):
            self.unigram = unigram.UnigramTokenizer(folder, self.max_length)
        else:
            from tokenizers import Tokenizer

            self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            self.tokenizer.enable_truncation(self.max_length)
            pad_id = self.tokenizer.token_to_id("<pad>")
            self.tokenizer.enable_padding(pad_id=pad_id if pad_id is not None else 0)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # The arena keeps the largest buffers it ever saw, and memory patterns are cached per input
        # shape (every question length and batch size is a new one): without both, memory follows the
        # current batch instead of growing with the variety of shapes seen.
        options.enable_cpu_mem_arena = False
        options.enable_mem_pattern = False
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(folder / file_name), options, providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Vectors in the order of `texts`. Texts are batched longest first, as sentence-transformers does, so
        a batch is padded to the length of similar texts, not to the longest passage among short questions."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out: list[np.ndarray] = []
        for start in range(0, len(order), batch_size):
            ids, mask = self.tokenize([texts[i] for i in order[start : start + batch_size]])
            out.append(self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0])
        vectors = np.concatenate(out).astype(np.float32, copy=False)
        restored = np.empty_like(vectors)
        restored[order] = vectors
        return restored

    def tokenize(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """input_ids and attention_mask of `texts`, padded to the longest (unigram.py, else tokenizers)."""
        if self.unigram is not None:
            return self.unigram.encode_batch(texts)
        assert self.tokenizer is not None
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return ids, mask
