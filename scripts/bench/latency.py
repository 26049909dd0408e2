"""Latency and memory: the bare encoder call (the floor), in-process ask, HTTP at 1/4/16 concurrent
clients through a real server on loopback, the LangChain baseline doing the same work, server memory
after start and after N questions, and startup time to the first answered question.

    .venv/bin/python scripts/bench/latency.py [--questions 200] [--http-requests 200] [--memory-questions 1000]
        [--no-baseline]   (skip the LangChain baseline: it encodes every item once, minutes of CPU)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time

from common import REPO, emit, labels, runtime, scratch_data_dir, summary_ms, timed

SERVER = """
import sys
from assistant.core.config import get_settings
from assistant.embedding.embedder import set_torch_threads
from assistant.runtime import Runtime
set_torch_threads(get_settings().server_torch_threads)  # as `assistant serve` does, in its order:
runtime = Runtime(get_settings())
runtime.load_model_in_background()  # the model loads while the web framework is imported and the app built
import uvicorn
from assistant.api.main import create_app
uvicorn.run(create_app(runtime=runtime, rate="1000000/minute"), host="127.0.0.1", port=int(sys.argv[1]),
            log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def in_process(n: int, baseline: bool = True) -> dict:
    rt = runtime()
    answerer = rt.answerer
    questions = [lab.question for lab in labels()][:n]
    regions = [rt.regions.resolve(lab.county).code for lab in labels()][:n]
    embedder = rt.embedder
    for q in questions[:10]:  # warm-up
        embedder.encode_queries([q])
        answerer.run(q, "000000")
    floor = [timed(embedder.encode_queries, [q])[0] for q in questions]
    ask = [timed(answerer.run, q, r)[0] for q, r in zip(questions, regions, strict=True)]
    f, a = summary_ms(floor), summary_ms(ask)
    out = {"encoder_floor": f, "ask_in_process": a, "ratio_p50_ask_to_floor": round(a["p50_ms"] / f["p50_ms"], 2),
           "target": "ask p50 ≤ 1.5 × floor"}
    if not baseline:
        return out
    try:
        from baselines import LangChainBaseline

        from assistant.index.items import knowledge_items

        lc = LangChainBaseline(rt, knowledge_items(rt.kb))
        out["langchain_retrieve"] = summary_ms([timed(lc.rank, q, r)[0] for q, r in zip(questions, regions,
                                                                                        strict=True)])
    except ImportError:
        out["langchain_retrieve"] = "skipped (pip install -e '.[bench]')"
    return out


def register_kiosk(data_env: dict) -> tuple[str, str]:
    code = ("from assistant.runtime import Runtime; from assistant.core.config import Settings; "
            "from assistant.services.kiosks import register\n"
            "rt = Runtime(Settings())\n"
            "with rt.database.session() as s:\n r = register(s, 'bench', 'bench')\nprint(r.token, r.pin)")
    out = subprocess.run([sys.executable, "-c", code], env=data_env, capture_output=True, text=True, check=True)
    token, pin = out.stdout.split()[-2:]
    return token, pin


async def http_load(base: str, headers: dict, questions: list[str], concurrency: int, total: int) -> dict:
    import httpx

    samples: list[float] = []
    errors = 0
    queue = list(range(total))

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while queue:
            i = queue.pop()
            start = time.perf_counter()
            r = await client.post(f"{base}/api/ask", json={"question": questions[i % len(questions)]},
                                  headers=headers)
            samples.append(time.perf_counter() - start)
            errors += r.status_code != 200

    async with httpx.AsyncClient(timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {**summary_ms(samples), "errors": errors, "throughput_per_s": round(total / elapsed, 1)}


def start_server(env: dict) -> tuple[subprocess.Popen, str]:
    """Start the server in its own process and wait until /health answers."""
    import httpx

    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.perf_counter() - started > 300:
            proc.kill()
            raise RuntimeError("server did not become ready")
        time.sleep(0.1)


def over_http(requests: int, memory_questions: int) -> dict:
    import httpx
    import psutil

    env = {**os.environ, "PYTHONPATH": str(REPO), "BANGJIAO_DATA_DIR": str(scratch_data_dir())}
    token, pin = register_kiosk(env)
    started = time.perf_counter()
    proc, base = start_server(env)
    try:
        session = httpx.post(f"{base}/api/session", json={"county": "涟源", "pin": pin},
                             headers={"X-Kiosk-Token": token}).json()["session"]
        headers = {"X-Kiosk-Token": token, "X-Kiosk-Session": session}
        first = httpx.post(f"{base}/api/ask", json={"question": "出狱后医保怎么办"}, headers=headers, timeout=60)
        startup = time.perf_counter() - started
        assert first.status_code == 200
        rss_start = psutil.Process(proc.pid).memory_info().rss
        questions = [lab.question for lab in labels()]
        out: dict = {"startup_to_first_answer_s": round(startup, 1),
                     "rss_after_start_mb": round(rss_start / 2**20)}
        for c in (1, 4, 16):
            out[f"http_{c}_clients"] = asyncio.run(http_load(base, headers, questions, c, requests))
        asyncio.run(http_load(base, headers, questions, 4, memory_questions))
        out[f"rss_after_{memory_questions}_more_questions_mb"] = round(psutil.Process(proc.pid).memory_info().rss
                                                                       / 2**20)
        out["target"] = "HTTP p95 < 150 ms at 4 clients"
        return out
    finally:
        proc.terminate()
        proc.wait(20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--http-requests", type=int, default=200)
    parser.add_argument("--memory-questions", type=int, default=1000)
    parser.add_argument("--no-baseline", action="store_true", help="skip the LangChain baseline")
    args = parser.parse_args()
    emit("latency: in process", in_process(args.questions, not args.no_baseline))
    emit("latency: HTTP and memory", over_http(args.http_requests, args.memory_questions))


if __name__ == "__main__":
    main()
