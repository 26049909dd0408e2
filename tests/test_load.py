"""A short run of the load test (scripts/bench/load.py): eight kiosks asking at once through the real server
on loopback, with no errors and every question logged exactly once. Speed figures are printed, not asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from assistant.core.config import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.bench]


def test_eight_kiosks_at_once_no_errors_and_every_question_logged_once(full_runtime):
    env = {**os.environ, "BANGJIAO_DATA_DIR": str(full_runtime.settings.data_dir)}  # model converted, index built
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "bench" / "load.py"), "--kiosks", "8",
                           "--duration", "20", "--max-requests", "2000"],
                          capture_output=True, text=True, timeout=1200, env=env, cwd=REPO_ROOT)
    rows = [json.loads(line[5:]) for line in proc.stdout.splitlines() if line.startswith("JSON ")]
    assert rows, proc.stdout + proc.stderr[-3000:]
    fig = rows[0]
    print(proc.stdout)
    assert fig["kiosks"] == 8 and fig["errors"] == 0, fig["error_kinds"]
    assert fig["successful_asks"] == fig["requests"] >= 8  # each kiosk asked at least once, none failed
    assert fig["question_rows"] == fig["returned_ids"] == fig["successful_asks"]
    assert fig["duplicate_ids"] == fig["ids_without_row"] == fig["rows_without_id"] == fig["spool_leftover"] == 0
    assert fig["followup_rows"] == fig["followups_returned"]  # each flagged question opened one follow-up
    assert fig["exactly_once"] is True and proc.returncode == 0, proc.stderr[-3000:]
