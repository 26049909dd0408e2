"""A quick run of every benchmark script on tiny inputs, so that they do not rot (figures are not checked)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from assistant.core.config import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.bench]
BENCH = REPO_ROOT / "scripts" / "bench"


def run(script: str, *args: str, env: dict | None = None) -> list[dict]:
    proc = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True, text=True,
                          timeout=900, env={**os.environ, **(env or {})}, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line[5:]) for line in proc.stdout.splitlines() if line.startswith("JSON ")]
    assert rows, proc.stdout
    return rows


@pytest.fixture
def bench_env(full_runtime) -> dict:
    """Use the session's data directory (model converted, index built) instead of the repository's."""
    return {"BANGJIAO_DATA_DIR": str(full_runtime.settings.data_dir)}


def test_quality_smoke(bench_env):
    rows = run("quality.py", "--limit", "12", env=bench_env)
    names = {r["bench"] for r in rows}
    expected = {"quality: this system", "quality: bm25 alone", "quality: dense alone", "quality: LangChain ensemble"}
    assert expected <= names
    assert all(0 <= r["recall@1"] <= 1 for r in rows if "recall@1" in r)


def test_decider_cv_smoke(bench_env):
    row = run("decider_cv.py", "--limit", "40", "--folds", "2", env=bench_env)[0]
    assert row["calibration_questions"] == 40 and len(row["folds"]) == 2
    assert {"threshold_rule_total", "logistic_regression_total"} <= row.keys()


def test_latency_smoke(bench_env):
    rows = run("latency.py", "--questions", "5", "--http-requests", "8", "--memory-questions", "8", env=bench_env)
    http = next(r for r in rows if r["bench"] == "latency: HTTP and memory")
    assert http["http_4_clients"]["errors"] == 0 and http["rss_after_start_mb"] > 0


def test_build_smoke(bench_env):
    row = run("build.py", env=bench_env)[0]
    assert row["full_build_s"] > 0 and row["approved_faq_live_s"] >= 0


def test_scale_smoke():
    row = run("scale.py", "--sizes", "2000", "--per-county", "200", "--queries", "5")[0]
    assert row["counties"] == 10 and row["query_first_of_county"]["n"] + row["query_held"]["n"] == 5
    assert row["partitions_held"] <= row["capacity"]


def test_own_case_holdout_smoke():
    row = run("own_case_holdout.py", "--first", "300")[0]
    assert row["own_case_later"] > 0 and row["answerable_later"] > 0
    assert 0 <= row["patterns_or_model_p0.9"]["own_case_caught"] <= 1
