"""Shared helpers for the benchmark scripts: the runtime, labelled sets, percentiles, printing."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

EVAL = REPO / "tests" / "data" / "eval.jsonl"
CALIBRATION = REPO / "tests" / "data" / "calibration.jsonl"


def machine() -> dict:
    import psutil

    return {"python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1)}


def runtime(data_dir: Path | None = None, use_database: bool = False):
    from assistant.core.config import Settings
    from assistant.runtime import Runtime

    settings = Settings(data_dir=data_dir) if data_dir else Settings()
    return Runtime(settings, progress=lambda m: print(f"  … {m}", file=sys.stderr), use_database=use_database)


def labels(path: Path = EVAL, limit: int | None = None):
    from assistant.evaluation import read_labels

    rows = read_labels(path)
    return rows[:limit] if limit else rows


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary_ms(samples_s: list[float]) -> dict:
    ms = [s * 1000 for s in samples_s]
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 2), "p95_ms": round(percentile(ms, 95), 2),
            "mean_ms": round(statistics.fmean(ms), 2) if ms else None}


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def emit(name: str, figures: dict) -> None:
    """Print the figures as a readable block and as one JSON line (for docs/BENCHMARKS.md)."""
    print(f"\n== {name} ==")
    for key, value in figures.items():
        print(f"{key:>28}: {value}")
    print("JSON " + json.dumps({"bench": name, **figures}, ensure_ascii=False))


def scratch_data_dir() -> Path:
    """A temporary data directory sharing the converted model and a copy of the current index,
    so that benchmarks neither rebuild needlessly nor write into the real question log."""
    import shutil
    import tempfile

    from assistant.core.config import Settings

    real = Settings().data_dir
    tmp = Path(tempfile.mkdtemp(prefix="bangjiao-bench-"))
    if (real / "models").exists():
        (tmp / "models").symlink_to(real / "models", target_is_directory=True)
    if (real / "index").exists():
        shutil.copytree(real / "index", tmp / "index")
    return tmp
