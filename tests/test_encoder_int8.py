"""The int8 encoder (ONNX, onnxruntime): offline export, vectors close to float32, index follows the backend."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from assistant.core.config import Settings
from assistant.embedding.embedder import Embedder
from assistant.index.manifest import Manifest
from assistant.runtime import Runtime

QUESTIONS = ["出狱后医保怎么办？", "蹲号子出来 驾照咋整", "刑满释放人员可以申请最低生活保障吗",
             "劳改释放了社保断了几年还能补交不", "我的减刑什么时候批", "今天天气怎么样"]


def fake_model_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "modules.json").write_text("[]", encoding="utf-8")
    return folder


def test_manifest_records_the_encoder_and_switching_makes_the_index_stale(tmp_path: Path):
    f32 = Manifest(content_hash="c", model="m", model_dir="d", encoder="float32")
    i8 = Manifest(content_hash="c", model="m", model_dir="d", encoder="int8")
    assert f32.identity() != i8.identity()
    i8.save(tmp_path / "manifest.json")
    assert Manifest.load(tmp_path / "manifest.json").identity() == i8.identity()
    raw = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    del raw["encoder"]  # written before the encoder was recorded: stale for either backend
    (tmp_path / "old.json").write_text(json.dumps(raw), encoding="utf-8")
    old = Manifest.load(tmp_path / "old.json")
    assert old.identity() not in (f32.identity(), i8.identity())


@pytest.mark.parametrize("encoder", ["int8", "float32"])
def test_runtime_builds_its_manifest_with_the_configured_encoder(tmp_path: Path, mini_kb: Path, encoder: str):
    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=mini_kb, encoder=encoder)
    runtime = Runtime(settings, use_database=False,
                      embedder=Embedder(fake_model_folder(tmp_path), backend=settings.encoder))
    assert runtime.expected_manifest().encoder == encoder


def test_unknown_encoder_is_refused(tmp_path: Path):
    with pytest.raises(ValidationError):
        Settings(encoder="int4")
    with pytest.raises(ValueError, match="unknown encoder backend"):
        Embedder(fake_model_folder(tmp_path), backend="int4")


@pytest.mark.slow
def test_int8_loads_from_local_files_only_and_matches_float32(embedder: Embedder, float32_embedder: Embedder,
                                                             monkeypatch: pytest.MonkeyPatch):
    def no_network(*_args, **_kwargs):
        raise AssertionError("the int8 encoder tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    int8 = Embedder(embedder.model_dir, backend="int8")
    float32 = float32_embedder
    queries = int8.encode_queries(QUESTIONS)
    passages = int8.encode_passages(QUESTIONS)
    folder = next(embedder.model_dir.parent.glob(f"{embedder.model_dir.name}.onnx/*"))
    assert (folder / "model_int8.onnx").stat().st_size < 0.4 * (embedder.model_dir / "model.safetensors").stat().st_size
    assert queries.shape == (len(QUESTIONS), 384) and queries.dtype == np.float32
    assert np.allclose(np.linalg.norm(queries, axis=1), 1.0, atol=1e-3)
    cos_q = (queries * float32.encode_queries(QUESTIONS)).sum(1)
    cos_p = (passages * float32.encode_passages(QUESTIONS)).sum(1)
    assert cos_q.min() >= 0.99, cos_q
    assert cos_p.min() >= 0.99, cos_p
    # different questions stay apart: the vectors are not trivially alike
    assert (queries[0] @ queries[-1]) < 0.95
