"""Server memory and start-up, float32 vs int8 encoder in one run: time to the first answer with the
index present, resident memory after start, and growth while answering questions at 4 clients.
`--tracemalloc` also runs the questions in process and prints the Python allocations that grew most.

    BANGJIAO_DATA_DIR=… .venv/bin/python scripts/bench/memory.py [--questions 1000] [--tracemalloc]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time

from common import REPO, emit, labels, runtime
from latency import http_load, register_kiosk, start_server


def bench_data_dir(encoder: str, seed: dict[str, str]):
    """A data dir per encoder beside the real one, sharing its models; kept, so its index is built once
    (or copied from an index already built with that encoder, `--seed-index ENCODER=DIR`)."""
    import shutil

    from assistant.core.config import Settings

    real = Settings().data_dir
    data = real / f"bench-memory-{encoder}"
    data.mkdir(exist_ok=True)
    if not (data / "models").exists():
        (data / "models").symlink_to(real / "models", target_is_directory=True)
    if encoder in seed and not (data / "index").exists():
        shutil.copytree(seed[encoder], data / "index")
    return data


def server_run(encoder: str, checkpoints: list[int], env_extra: dict[str, str], seed: dict[str, str]) -> dict:
    import httpx
    import psutil

    data = bench_data_dir(encoder, seed)
    env = {**os.environ, "PYTHONPATH": str(REPO), "BANGJIAO_DATA_DIR": str(data), "BANGJIAO_ENCODER": encoder,
           **env_extra}
    token, pin = register_kiosk(env)
    # the index for this encoder once, outside the timed start (start-up is measured with the index present)
    subprocess.run([sys.executable, "-c", "from assistant.runtime import Runtime; from assistant.core.config import "
                    "Settings; Runtime(Settings(), use_database=False).ensure_index()"], env=env, check=True,
                   capture_output=True)
    started = time.perf_counter()
    proc, base = start_server(env)
    try:
        ready = time.perf_counter() - started
        session = httpx.post(f"{base}/api/session", json={"county": "涟源", "pin": pin},
                             headers={"X-Kiosk-Token": token}).json()["session"]
        headers = {"X-Kiosk-Token": token, "X-Kiosk-Session": session}
        first = httpx.post(f"{base}/api/ask", json={"question": "出狱后医保怎么办"}, headers=headers, timeout=120)
        assert first.status_code == 200, first.text
        out: dict = {"health_ready_s": round(ready, 1),
                     "startup_to_first_answer_s": round(time.perf_counter() - started, 1)}
        mb = lambda: round(psutil.Process(proc.pid).memory_info().rss / 2**20)  # noqa: E731
        out["rss_after_start_mb"] = start = mb()
        texts = [lab.question for lab in labels()]
        done = 0
        for point in checkpoints:
            asyncio.run(http_load(base, headers, texts, 4, point - done))
            done = point
            out[f"rss_after_{point}_questions_mb"] = mb()
        out["growth_per_1000_questions_mb"] = round((out[f"rss_after_{done}_questions_mb"] - start) * 1000 / done)
        if len(checkpoints) > 1:
            first_cp = checkpoints[0]
            late = out[f"rss_after_{done}_questions_mb"] - out[f"rss_after_{first_cp}_questions_mb"]
            out[f"growth_after_first_{first_cp}_per_1000_mb"] = round(late * 1000 / (done - first_cp))
        return out
    finally:
        proc.terminate()
        proc.wait(20)


def python_heap(questions: int) -> dict:
    """Python-level allocations (tracemalloc) that grew while answering `questions` in process."""
    import tracemalloc

    rt = runtime()
    answerer = rt.answerer
    labs = labels()
    regions = [rt.regions.resolve(lab.county).code for lab in labs]
    for lab, region in list(zip(labs, regions, strict=True))[:20]:
        answerer.run(lab.question, region)
    tracemalloc.start(10)
    before = tracemalloc.take_snapshot()
    for i in range(questions):
        answerer.run(labs[i % len(labs)].question, regions[i % len(labs)])
    after = tracemalloc.take_snapshot()
    stats = after.compare_to(before, "lineno")
    total = sum(s.size_diff for s in stats)
    return {"python_heap_growth_kb": round(total / 1024),
            "top": [f"{s.traceback[0].filename.split('site-packages/')[-1]}:{s.traceback[0].lineno} "
                    f"{s.size_diff / 1024:+.0f} KB" for s in stats[:6]]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--encoders", nargs="+", default=["float32", "int8"])
    parser.add_argument("--env", nargs="*", default=[], help="extra server environment, e.g. MALLOC_ARENA_MAX=2")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--seed-index", nargs="*", default=[], help="ENCODER=DIR of an index built with it")
    args = parser.parse_args()
    extra = dict(kv.split("=", 1) for kv in args.env)
    checkpoints = sorted({min(300, args.questions), args.questions})
    seed = dict(kv.split("=", 1) for kv in args.seed_index)
    out = {enc: server_run(enc, checkpoints, extra, seed) for enc in args.encoders}
    if extra:
        out["server_env"] = extra
    out["targets"] = "first answer ≤ 5 s; resident ≤ 600 MB after start; growth ≤ 50 MB per 1,000 questions"
    emit("memory and start-up", out)
    if args.tracemalloc:
        emit("python heap (in process)", python_heap(args.questions))


if __name__ == "__main__":
    main()
