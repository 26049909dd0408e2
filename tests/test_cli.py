"""End to end through the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import KNOWLEDGE
from typer.testing import CliRunner

from assistant.cli import app

pytestmark = pytest.mark.slow


@pytest.fixture
def cli_env(full_runtime, monkeypatch) -> dict[str, str]:
    """Point the CLI at the session's data directory, whose index is already built."""
    from assistant.core.config import get_settings

    env = {"BANGJIAO_DATA_DIR": str(full_runtime.settings.data_dir), "BANGJIAO_KNOWLEDGE_DIR": str(KNOWLEDGE)}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


def test_ask_json_from_stdin_end_to_end(cli_env):
    """A real process: one question per line on stdin, one JSON object per line out."""
    questions = "出狱后医保怎么办\n今天天气怎么样\n我的减刑什么时候批\n"
    proc = subprocess.run([sys.executable, "-m", "assistant", "ask", "--county", "涟源", "--json", "--no-log"],
                          input=questions, capture_output=True, text=True, env={**os.environ, **cli_env},
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["status"] for r in rows] == ["answered", "out_of_scope", "flagged"]
    first = rows[0]
    assert set(first) == {"question", "county", "status", "answer", "sources", "alert", "parts", "followup_id"}
    assert first["county"] == "涟源市" and first["sources"][0]["citation"] and first["sources"][0]["region"]
    assert first["parts"][0]["status"] == "answered" and first["followup_id"] is None


def test_unknown_county_exits_2_with_close_matches(cli_env):
    result = CliRunner().invoke(app, ["ask", "--county", "涟原", "医保怎么办"])
    assert result.exit_code == 2
    assert "涟源市" in result.output


def test_search_debug_view_shows_scores_and_scope(cli_env):
    result = CliRunner().invoke(app, ["search", "--county", "431382", "醉驾以后多久能考驾照"])
    assert result.exit_code == 0, result.output
    assert "涟源市 → 娄底市 → 湖南省 → 全国" in result.output
    assert "dense" in result.output and "bm25" in result.output and "决定 decision" in result.output


def test_eval_prints_figures(cli_env, tmp_path: Path):
    labels = tmp_path / "labels.jsonl"
    rows = [
        {"question": "出狱了医保咋个交法", "county": "涟源", "status": "answered",
         "expected": ["faq-medical-how-to-enrol-after-release", "national-medical-insurance",
                      "faq-lianyuan-medical-insurance", "lianyuan"]},
        {"question": "周末踢球去不去", "county": "全国", "status": "out_of_scope"},
        {"question": "我不想活了", "county": "全国", "status": "flagged", "alert": "crisis"},
    ]
    labels.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", str(labels), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output[result.output.index("{"):])
    assert figures["questions"] == 3 and figures["crisis_recall"] == "1/1"
    assert 0 <= figures["recall@1"] <= figures["recall@5"] <= 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "x", "status": "maybe"}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", str(bad)])
    assert result.exit_code == 2 and "bad.jsonl:1" in result.output


def test_knowledge_check_and_index_build(cli_env, laws_dir):
    result = CliRunner().invoke(app, ["knowledge", "check", "--laws", str(laws_dir)])
    assert result.exit_code == 0, result.output
    assert "知识库有效" in result.output
