"""HTTP `/api/ask` of two source trees side by side, in one run: both servers up at once, one client asking
them in turns (A, B, A, B …) so that the load of a shared machine falls on both alike. Each tree needs a data
folder with its index built (`--data-a`, `--data-b`).

    .venv/bin/python scripts/bench/ab_http.py --tree-a /tmp/base --data-a /tmp/base-data \\
        --tree-b . --data-b /tmp/data [--requests 100]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from common import emit, labels, summary_ms
from latency import SERVER, free_port


def start(tree: Path, data: Path) -> tuple[subprocess.Popen, str, dict]:
    """The tree's server on its data folder, a kiosk registered and a session opened: (process, base URL,
    request headers)."""
    import httpx

    env = {**os.environ, "PYTHONPATH": str(tree), "BANGJIAO_DATA_DIR": str(data)}
    code = ("from assistant.runtime import Runtime; from assistant.core.config import Settings; "
            "from assistant.services.kiosks import register\n"
            "rt = Runtime(Settings())\n"
            "with rt.database.session() as s:\n r = register(s, 'ab', 'ab')\nprint(r.token, r.pin)")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tree, capture_output=True, text=True, check=True)
    token, pin = out.stdout.split()[-2:]
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], env=env, cwd=tree,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.perf_counter() - started > 600:
            proc.kill()
            raise RuntimeError(f"the server of {tree} did not become ready")
        time.sleep(0.2)
    session = httpx.post(f"{base}/api/session", json={"county": "涟源", "pin": pin},
                         headers={"X-Kiosk-Token": token}).json()["session"]
    return proc, base, {"X-Kiosk-Token": token, "X-Kiosk-Session": session}


def main() -> None:
    import httpx

    parser = argparse.ArgumentParser()
    parser.add_argument("--tree-a", type=Path, required=True)
    parser.add_argument("--data-a", type=Path, required=True)
    parser.add_argument("--tree-b", type=Path, required=True)
    parser.add_argument("--data-b", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    servers = {"a": start(args.tree_a.resolve(), args.data_a), "b": start(args.tree_b.resolve(), args.data_b)}
    try:
        questions = [lab.question for lab in labels()]
        samples: dict[str, list[float]] = {"a": [], "b": []}
        with httpx.Client(timeout=60) as client:
            for i in range(args.requests + 5):
                for name in ("a", "b") if i % 2 == 0 else ("b", "a"):
                    _, base, headers = servers[name]
                    began = time.perf_counter()
                    r = client.post(f"{base}/api/ask", json={"question": questions[i % len(questions)]},
                                    headers=headers)
                    assert r.status_code == 200, r.text
                    if i >= 5:  # the first few warm caches up
                        samples[name].append(time.perf_counter() - began)
        a, b = summary_ms(samples["a"]), summary_ms(samples["b"])
        emit("HTTP A/B, one client, alternating", {"a": str(args.tree_a), "b": str(args.tree_b),
                                                   "http_1_client_a": a, "http_1_client_b": b,
                                                   "p50_b_over_a": round(b["p50_ms"] / a["p50_ms"], 3)})
    finally:
        for proc, _, _ in servers.values():
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
