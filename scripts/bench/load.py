"""Load: many kiosks asking at once through the real server on loopback, for a bounded time and request count.

Starts the service (uvicorn, `assistant.api.main.create_app`) in a child process on 127.0.0.1 with a free port,
in a scratch data directory (the converted model shared, the current index copied, a fresh SQLite database),
registers K kiosks, opens a session on each through the API (officer PIN), then K async httpx clients ask
questions from tests/data/eval.jsonl — each kiosk the questions of its own county, back to back with no pause —
until --duration seconds or --max-requests questions have passed. The per-kiosk rate limit (20/minute in
production) is raised to 1,000,000/minute here, so that it is not what limits the load.

Reports throughput, latency percentiles and errors (must be 0), and checks that every successful question was
logged exactly once: the ids the API returned are unique and equal the rows in `questions` for this run (per
kiosk too), every follow-up id is unique and matches a `followups` row, and nothing is left in the spool.
Exit code 1 when there were errors or the log does not match.

    .venv/bin/python scripts/bench/load.py [--kiosks 16] [--duration 180] [--max-requests 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from common import REPO, emit, labels, machine, percentile, scratch_data_dir

RATE = "1000000/minute"  # the production default is 20/minute per kiosk; here it must not be the bottleneck
SERVER = """
import sys, uvicorn
from assistant.api.main import create_app
from assistant.core.config import get_settings
from assistant.embedding.embedder import set_torch_threads
set_torch_threads(get_settings().server_torch_threads)  # as `assistant serve` does
uvicorn.run(create_app(rate=sys.argv[2]), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@dataclass(frozen=True)
class Kiosk:
    name: str
    token: str
    pin: str
    county: str


@dataclass(frozen=True)
class Sample:
    kiosk: str
    seconds: float
    status: int  # HTTP status; 0 when the request failed without a response
    question_id: int | None = None
    followup_id: int | None = None
    answer_status: str | None = None
    error: str | None = None


def busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (all processes, all cores)."""
    import psutil

    t = psutil.cpu_times()
    return t.user + t.nice + t.system + t.irq + t.softirq


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# eval.jsonl labels some questions with a city, a province or 全国, which cannot be an inmate's home
NOT_A_HOME = frozenset({"娄底市", "长沙市", "赤峰市", "衡阳市", "衡阳", "全国", "湖南省", "内蒙古"})


def questions_by_county() -> dict[str, list[str]]:
    """Eval questions grouped by the asker's county, the counties with most questions first."""
    groups: dict[str, list[str]] = {}
    for lab in labels():
        if lab.county in NOT_A_HOME:  # a kiosk session opens only for a county-level home
            continue
        groups.setdefault(lab.county, []).append(lab.question)
    return dict(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])))


def register_kiosks(database_url: str, prison: str, counties: list[str], n: int) -> list[Kiosk]:
    from assistant.services.kiosks import register
    from assistant.storage.db import Database

    db = Database(database_url)
    try:
        out = []
        with db.session() as s:
            for i in range(n):
                reg = register(s, prison, f"终端{i + 1:02d}")
                out.append(Kiosk(f"终端{i + 1:02d}", reg.token, reg.pin, counties[i % len(counties)]))
        return out
    finally:
        db.dispose()


def wait_ready(base: str, proc: subprocess.Popen, limit_s: float = 900) -> float:
    import httpx

    started = time.perf_counter()
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        if time.perf_counter() - started > limit_s:
            raise RuntimeError("server did not become ready")
        time.sleep(0.5)


async def open_sessions(base: str, kiosks: list[Kiosk]) -> dict[str, dict]:
    import httpx

    headers = {}
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for k in kiosks:
            r = await client.post("/api/session", json={"county": k.county, "pin": k.pin},
                                  headers={"X-Kiosk-Token": k.token})
            r.raise_for_status()
            headers[k.name] = {"X-Kiosk-Token": k.token, "X-Kiosk-Session": r.json()["session"]}
    return headers


async def run_load(base: str, kiosks: list[Kiosk], headers: dict[str, dict], questions: dict[str, list[str]],
                   duration: float, max_requests: int) -> tuple[list[Sample], float]:
    """K clients, one per kiosk, each asking back to back until the deadline or the shared request budget."""
    import httpx

    deadline = time.perf_counter() + duration
    budget = max_requests
    samples: list[Sample] = []

    async def kiosk_loop(index: int, kiosk: Kiosk) -> None:
        nonlocal budget
        own = questions[kiosk.county]
        i = index  # kiosks of the same county start at different questions
        async with httpx.AsyncClient(base_url=base, headers=headers[kiosk.name], timeout=120) as client:
            while time.perf_counter() < deadline and budget > 0:
                budget -= 1
                question = own[i % len(own)]
                i += 1
                start = time.perf_counter()
                try:
                    r = await client.post("/api/ask", json={"question": question})
                except httpx.HTTPError as exc:
                    samples.append(Sample(kiosk.name, time.perf_counter() - start, 0, error=type(exc).__name__))
                    continue
                elapsed = time.perf_counter() - start
                if r.status_code != 200:
                    samples.append(Sample(kiosk.name, elapsed, r.status_code, error=r.text[:200]))
                    continue
                body = r.json()
                samples.append(Sample(kiosk.name, elapsed, 200, body.get("question_id"), body.get("followup_id"),
                                      body.get("status")))

    started = time.perf_counter()
    await asyncio.gather(*(kiosk_loop(i, k) for i, k in enumerate(kiosks)))
    return samples, time.perf_counter() - started


def check_log(database_url: str, prison: str, ok: list[Sample], spool: Path) -> dict:
    """Every successful ask logged exactly once: returned ids unique and equal to this run's rows."""
    from sqlalchemy import select

    from assistant.storage.db import Database
    from assistant.storage.models import FollowUp, Question

    db = Database(database_url, migrate=False)
    try:
        with db.session() as s:
            rows = list(s.execute(select(Question.id, Question.kiosk).where(Question.prison == prison)))
            followups = set(s.scalars(select(FollowUp.id).where(FollowUp.prison == prison)))
    finally:
        db.dispose()
    returned = [x.question_id for x in ok if x.question_id is not None]
    returned_followups = [x.followup_id for x in ok if x.followup_id is not None]
    row_ids = {r.id for r in rows}
    leftover = [line for line in spool.read_text(encoding="utf-8").splitlines() if line.strip()] \
        if spool.exists() else []
    per_kiosk_ok = Counter(x.kiosk for x in ok)
    per_kiosk_rows = Counter(r.kiosk for r in rows)
    exactly_once = (len(rows) == len(ok) and len(returned) == len(ok) and len(set(returned)) == len(returned)
                    and set(returned) == row_ids and per_kiosk_rows == per_kiosk_ok and not leftover
                    and len(set(returned_followups)) == len(returned_followups)
                    and set(returned_followups) == followups)
    return {"successful_asks": len(ok), "question_rows": len(rows), "returned_ids": len(returned),
            "duplicate_ids": len(returned) - len(set(returned)), "ids_without_row": len(set(returned) - row_ids),
            "rows_without_id": len(row_ids - set(returned)), "followups_returned": len(returned_followups),
            "followup_rows": len(followups), "spool_leftover": len(leftover), "exactly_once": exactly_once}


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # uvicorn finishes the requests in flight, then exits
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kiosks", type=int, default=16, help="concurrent kiosks (one session and client each)")
    parser.add_argument("--duration", type=float, default=180, help="seconds of load")
    parser.add_argument("--max-requests", type=int, default=100_000, help="upper bound on questions asked")
    parser.add_argument("--keep", action="store_true", help="keep the scratch data directory (prints its path)")
    args = parser.parse_args()
    if args.kiosks < 1 or args.duration <= 0 or args.max_requests < 1:
        parser.error("--kiosks, --duration and --max-requests must be positive")

    import psutil

    data = scratch_data_dir()
    database_url = f"sqlite:///{data / 'bangjiao.db'}"
    env = {**os.environ, "PYTHONPATH": str(REPO), "BANGJIAO_DATA_DIR": str(data),
           "BANGJIAO_DATABASE_URL": database_url}
    prison = f"压力测试监狱-{uuid.uuid4().hex[:8]}"
    by_county = questions_by_county()
    kiosks = register_kiosks(database_url, prison, list(by_county), args.kiosks)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = data / "server.log"
    load_before = os.getloadavg()
    with open(log_path, "wb") as server_log:
        proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port), RATE], env=env, cwd=REPO,
                                stdout=server_log, stderr=subprocess.STDOUT)
    try:
        ready_s = wait_ready(base, proc)
        server, me = psutil.Process(proc.pid), psutil.Process()
        headers = asyncio.run(open_sessions(base, kiosks))
        before = (busy_cpu_s(), sum(server.cpu_times()[:2]), sum(me.cpu_times()[:2]))
        samples, elapsed = asyncio.run(run_load(base, kiosks, headers, by_county, args.duration,
                                                args.max_requests))
        after = (busy_cpu_s(), sum(server.cpu_times()[:2]), sum(me.cpu_times()[:2]))
        rss = server.memory_info().rss
    finally:
        stop(proc)
    load_after = os.getloadavg()
    ok = [x for x in samples if x.status == 200]
    errors = [x for x in samples if x.status != 200]
    log = check_log(database_url, prison, ok, data / "spool" / "questions.jsonl")
    ms = [x.seconds * 1000 for x in ok]
    figures = {
        "kiosks": args.kiosks, "duration_s": round(elapsed, 1), "requests": len(samples),
        "throughput_per_s": round(len(ok) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(ms, 50), 1), "p95_ms": round(percentile(ms, 95), 1),
        "p99_ms": round(percentile(ms, 99), 1), "max_ms": round(max(ms), 1) if ms else None,
        "errors": len(errors), "error_kinds": dict(Counter(x.error or str(x.status) for x in errors).most_common(5)),
        "answer_status": dict(Counter(x.answer_status for x in ok)), **log,
        "rate_limit": f"{RATE} per kiosk (production default 20/minute)",
        "cpu_capacity_s": round((os.cpu_count() or 1) * elapsed, 1), "server_cpu_s": round(after[1] - before[1], 1),
        "client_cpu_s": round(after[2] - before[2], 1),
        "other_processes_cpu_s": round((after[0] - before[0]) - (after[1] - before[1]) - (after[2] - before[2]), 1),
        "server_rss_mb": round(rss / 2**20),
        "server_ready_s": round(ready_s, 1), "loadavg_1m_before_after": [round(load_before[0], 2),
                                                                        round(load_after[0], 2)],
        "machine": machine(),
    }
    emit("load: kiosks over HTTP", figures)
    failed = bool(errors) or not log["exactly_once"]
    if failed:
        print(f"FAILED: {len(errors)} errors, exactly_once={log['exactly_once']}; server log:", file=sys.stderr)
        print(log_path.read_text(encoding="utf-8", errors="replace")[-3000:], file=sys.stderr)
    if args.keep:
        print(f"scratch data directory kept: {data}", file=sys.stderr)
    else:
        shutil.rmtree(data, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
