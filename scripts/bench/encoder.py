"""float32 (sentence-transformers, PyTorch) vs int8 (ONNX, onnxruntime) encoder, side by side in one run.

For each backend: its own index built from the same knowledge with the same backend, then on the
evaluation questions: cosine of int8 to float32 query vectors (and passage vectors: can indexes be
mixed?), single-query encode time (the two encoders alternate query by query, one thread each, so
machine noise hits both alike), and recall@1 / decision figures through `assistant.evaluation.evaluate`.

    BANGJIAO_DATA_DIR=… .venv/bin/python scripts/bench/encoder.py [--limit N] [--timing-queries 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from common import EVAL, emit, labels, summary_ms
from quality import system_figures


def scratch(real: Path, backend: str) -> Path:
    """A data dir sharing the converted model (and its ONNX export), with an index of its own."""
    tmp = Path(tempfile.mkdtemp(prefix=f"bangjiao-encoder-{backend}-"))
    (tmp / "models").symlink_to(real / "models", target_is_directory=True)
    return tmp


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=None, help="only the first N evaluation questions")
    parser.add_argument("--timing-queries", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1, help="encoder threads for both backends")
    args = parser.parse_args()

    from assistant.core.config import Settings
    from assistant.embedding.embedder import ensure_default_model, set_torch_threads
    from assistant.runtime import Runtime

    set_torch_threads(args.threads)
    real = Settings().data_dir
    ensure_default_model(Settings().default_model_dir)
    ev = labels(EVAL, args.limit)
    questions = [lab.question for lab in ev]
    runtimes, out = {}, {}
    for backend in ("float32", "int8"):
        rt = Runtime(Settings(data_dir=scratch(real, backend), encoder=backend), use_database=False)
        started = time.perf_counter()
        rt.embedder.model  # noqa: B018 - load (and for int8 export on first use) before timing the build
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        rt.ensure_index()
        out[backend] = {"model_load_s": round(load_s, 1), "index_build_s": round(time.perf_counter() - started, 1)}
        runtimes[backend] = rt

    f32, i8 = runtimes["float32"].embedder, runtimes["int8"].embedder
    q32, q8 = f32.encode_queries(questions), i8.encode_queries(questions)
    qcos = (q32 * q8).sum(1)
    keys = [k for item in runtimes["float32"].ensure_index().items.values() for k in item.keys][:400]
    pcos = (f32.encode_passages(keys) * i8.encode_passages(keys)).sum(1)
    out["cosine_int8_vs_float32"] = {
        "queries": {"n": len(qcos), "mean": round(float(qcos.mean()), 4), "p5": round(float(np.percentile(qcos, 5)), 4),
                    "min": round(float(qcos.min()), 4)},
        "passages": {"n": len(pcos), "mean": round(float(pcos.mean()), 4),
                     "p5": round(float(np.percentile(pcos, 5)), 4), "min": round(float(pcos.min()), 4)},
        "target": "≥ 0.99",
    }

    timing = {"float32": [], "int8": []}
    sample = (questions * 2)[: args.timing_queries]
    for q in sample[:10]:  # warm-up
        f32.encode_queries([q]), i8.encode_queries([q])
    for n, q in enumerate(sample):
        order = (("float32", f32), ("int8", i8)) if n % 2 == 0 else (("int8", i8), ("float32", f32))
        for name, emb in order:
            start = time.perf_counter()
            emb.encode_queries([q])
            timing[name].append(time.perf_counter() - start)
    for name in timing:
        out[name]["encode_one_query"] = summary_ms(timing[name])
    out["speedup_p50_float32_over_int8"] = round(out["float32"]["encode_one_query"]["p50_ms"]
                                                 / out["int8"]["encode_one_query"]["p50_ms"], 2)

    for backend, rt in runtimes.items():
        out[backend]["quality"] = system_figures(rt, ev)
    a, b = out["float32"]["quality"], out["int8"]["quality"]
    out["quality_delta_points_int8_minus_float32"] = {
        key: round(100 * (b[key] - a[key]), 1) for key in ("recall@1", "recall@5", "mrr", "decision_accuracy")}
    out["targets"] = "int8 p50 ≥ 2× faster; cosine ≥ 0.99; recall@1 and decision accuracy within 0.5 point"
    emit("encoder: float32 vs int8", out)


if __name__ == "__main__":
    main()
