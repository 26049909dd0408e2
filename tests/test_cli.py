"""End to end through the command line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import KNOWLEDGE
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
    questions = "出狱后身份证过期了怎么办\n今天天气怎么样\n我的减刑什么时候批\n"
    proc = subprocess.run([sys.executable, "-m", "assistant", "ask", "--county", "涟源", "--json", "--no-log"],
                          input=questions, capture_output=True, text=True, env={**os.environ, **cli_env},
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["status"] for r in rows] == ["answered", "out_of_scope", "flagged"]
    first = rows[0]
    assert set(first) == {"question", "county", "status", "answer", "sources", "alert", "parts", "followup_id",
                          "suggestions", "resolved_question", "basis"}
    day = r"\d{4}年\d{1,2}月\d{1,2}日"
    assert re.fullmatch(rf"依据的法律法规截至2025年4月；本条内容复核于{day}(、{day})*。", first["basis"])
    assert rows[1]["basis"] is None and rows[2]["basis"] is None  # nothing quoted, nothing to date
    assert first["county"] == "涟源市" and first["sources"][0]["citation"] and first["sources"][0]["region"]
    assert first["parts"][0]["status"] == "answered" and first["followup_id"] is None


def test_ask_conversation_resolves_follow_ups_and_an_empty_line_starts_afresh(cli_env):
    """`--conversation`: each stdin line is the next turn; the JSON carries what was searched."""
    turns = "我娃以后能当兵不\n那我女儿呢？\n\n那我女儿呢？\n"
    proc = subprocess.run([sys.executable, "-m", "assistant", "ask", "--conversation", "--county", "涟源", "--json",
                           "--no-log"], input=turns, capture_output=True, text=True,
                          env={**os.environ, **cli_env}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    first, follow_up, blind = [json.loads(line) for line in proc.stdout.splitlines()]
    assert follow_up["question"] == "那我女儿呢？"
    assert "女儿" in follow_up["resolved_question"] and "当兵" in follow_up["resolved_question"]
    assert follow_up["status"] == first["status"]
    # after the empty line the same words have nothing to lean on: never answered blind
    assert blind["status"] == "suggested" and blind["suggestions"] == [] and "哪方面" in blind["answer"]
    refused = CliRunner().invoke(app, ["ask", "--conversation", "医保怎么办"])
    assert refused.exit_code == 2


def test_ask_text_output_says_how_current_the_answer_is(cli_env, full_runtime):
    """The plain output of an answered question carries the statute snapshot and the quoted entry's review date
    (the date in the knowledge file, not today's)."""
    from assistant.answering.basis import basis_note

    answer = full_runtime.answerer.run("出狱后身份证过期了怎么办", "431382")
    kb = full_runtime.kb
    dated = {d.id: d.reviewed for d in kb.documents} | {f.id: f.reviewed for f in kb.faq}
    quoted = [i.split("#")[0] for p in answer.parts for i in p.item_ids]
    assert answer.status == "answered" and quoted
    expected = basis_note(dated[i] for i in quoted)
    assert "本条内容复核于" in expected
    text = CliRunner().invoke(app, ["ask", "--county", "涟源", "--no-log", "出狱后身份证过期了怎么办"])
    assert text.exit_code == 0, text.output
    assert f"  {expected}" in text.output.splitlines()


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


def test_logged_question_to_bureau_answer_delivery_and_export(cli_env, tmp_path: Path):
    runner = CliRunner()
    result = runner.invoke(app, ["ask", "--county", "宁城", "--json", "--prison", "赤峰监狱", "--inmate", "C-88",
                                 "我的减刑什么时候批下来"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.output[result.output.index('{"question"'):].splitlines()[0])
    fid = row["followup_id"]
    assert row["status"] == "flagged" and isinstance(fid, int)

    listing = runner.invoke(app, ["followups", "list", "--county", "150429"])
    assert f"#{fid} [待答复]" in listing.output and "C-88" not in listing.output
    wrong = runner.invoke(app, ["followups", "answer", str(fid), "--text", "x", "--by", "翁旗", "--county", "翁牛特旗"])
    assert wrong.exit_code == 2 and "不属于本县" in wrong.output
    ok = runner.invoke(app, ["followups", "answer", str(fid), "--text", "减刑由监狱提请、法院裁定，请问刑罚执行科。",
                             "--by", "宁城县司法局", "--county", "宁城"])
    assert ok.exit_code == 0, ok.output
    waiting = runner.invoke(app, ["followups", "list", "--prison", "赤峰监狱"])
    assert "C-88" in waiting.output and "刑罚执行科" in waiting.output
    assert runner.invoke(app, ["followups", "prison", "赤峰监狱"]).output == waiting.output  # the old spelling
    assert runner.invoke(app, ["followups", "list"]).exit_code == 2
    assert runner.invoke(app, ["followups", "list", "--prison", "赤峰监狱", "--state", "later"]).exit_code == 2
    assert runner.invoke(app, ["followups", "deliver", str(fid), "--by", "民警王"]).exit_code == 0
    again = runner.invoke(app, ["followups", "deliver", str(fid), "--by", "民警王"])
    assert again.exit_code == 2 and "已转交" in again.output

    out = tmp_path / "log.xlsx"
    exported = runner.invoke(app, ["log", "export", str(out), "--county", "宁城县"])
    assert exported.exit_code == 0, exported.output
    from openpyxl import load_workbook

    rows = [[c.value for c in row] for row in load_workbook(out).active.iter_rows()]
    header, body = rows[0], rows[1:]
    ours = next(r for r in body if r[header.index("跟进编号")] == str(fid))
    assert ours[header.index("户籍地")] == "宁城县" and ours[header.index("跟进状态")] == "已转交"
    assert all(r[header.index("户籍地")] == "宁城县" for r in body)
    assert "C-88" not in str(rows)
    bad = runner.invoke(app, ["log", "export", str(tmp_path / "log.pdf")])
    assert bad.exit_code == 2 and "导出格式" in bad.output


@pytest.mark.parametrize(("county", "name", "note"), [
    ("湘潭县", "湘潭县", None), ("邵东县", "邵东市", "“邵东县”是旧的地名"), ("北京市朝阳区", "朝阳区", None),
    ("科尔沁区", "科尔沁区", None)])
def test_any_county_is_answered_from_national_and_provincial_rules(cli_env, county, name, note):
    result = CliRunner().invoke(app, ["ask", "--county", county, "--json", "--no-log", "出狱后医保怎么办"])
    assert result.exit_code == 0, result.output
    line = result.output.strip().splitlines()[-1]
    row = json.loads(line[line.index('{"question"'):])  # progress bars on stderr may share the line
    assert row["county"] == name and row["status"] == "answered"
    assert f"{name}的本地政策资料暂未收录" in row["answer"]
    assert (note in row["answer"]) if note else "旧的地名" not in row["answer"]
    assert {s["region"] for s in row["sources"]} <= {"全国", "湖南省", "北京市", "内蒙古自治区"}


def test_a_name_several_counties_share_lists_the_candidates(cli_env):
    result = CliRunner().invoke(app, ["ask", "--county", "朝阳区", "医保怎么办"])
    assert result.exit_code == 2
    assert "北京市朝阳区" in result.output and "吉林省长春市朝阳区" in result.output
