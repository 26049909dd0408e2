"""Answering: `ask`, `search`, `eval`, `calibrate`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.shared import County, err, region_code, resolve, runtime
from assistant.knowledge.problems import KnowledgeError


def search(question: str, county: County = "全国", k: int = 10) -> None:
    """Debug view: ranked candidates in the county's scope, with their scores."""
    from assistant.index.items import CHUNK, FAQ

    rt = runtime()
    code = region_code(rt, county)
    searcher = rt.answerer.searcher
    query = searcher.prepare(question)
    typer.echo(f"查询 query: {query.text}  tokens: {' '.join(query.tokens)}")
    typer.echo(f"范围 scope: {' → '.join(r.name for r in rt.regions.chain(code))}")
    for i, c in enumerate(searcher.search(query, code, (FAQ, CHUNK), k=k), 1):
        region = rt.regions[c.item.region].name
        typer.echo(f"{i:>2}. score {c.score:.3f}  rel {c.relevance:.3f}  dense {c.dense:.3f}  "
                   f"bm25 {c.bm25:.2f}  cov {c.coverage:.2f}  [{c.item.kind}] {region}  {c.item.id}")
        typer.echo(f"    {c.item.context} | {c.item.text[:80].replace(chr(10), ' ')}")
    result = rt.answerer.analyse(query.text, code)
    typer.echo(f"决定 decision: {result.decision.status} ({result.decision.reason})")


def _print_answer(answer, question: str) -> None:
    """One answer as text: status, choices, sources, crisis note and follow-up number."""
    if answer.resolved_question and answer.resolved_question != question.strip():
        typer.echo(f"（按“{answer.resolved_question}”理解）")
    typer.echo(f"【{answer.status}】{answer.answer}")
    for i, choice in enumerate(answer.suggestions, 1):
        typer.echo(f"  {i}. {choice.question}")
    for s in answer.sources:
        typer.echo(f"  来源：{s.citation}（适用：{s.region}）")
    if answer.basis:
        typer.echo(f"  {answer.basis}")
    if answer.alert:
        typer.echo("  ⚠ 危机提醒：已通知值班民警")
    if answer.followup_id:
        typer.echo(f"  已转司法局跟进，编号 {answer.followup_id}")
    typer.echo("")


def ask(
    question: Annotated[str | None, typer.Argument(help="问题；省略时从标准输入逐行读取")] = None,
    county: County = "全国",
    as_json: Annotated[bool, typer.Option("--json", help="每行输出一个 JSON 对象")] = False,
    no_log: Annotated[bool, typer.Option("--no-log", help="不记录问题")] = False,
    prison: Annotated[str, typer.Option(help="监狱名称（记录用）")] = "",
    kiosk: Annotated[str, typer.Option(help="终端编号（记录用）")] = "cli",
    inmate: Annotated[str | None, typer.Option(help="服刑人员编号（仅监狱可见，可不填）")] = None,
    conversation: Annotated[bool, typer.Option(
        "--conversation", help="标准输入的每行是同一段对话的下一轮（空行开始新的对话）")] = False,
) -> None:
    """Answer a question (or one question per line from stdin) for an asker from COUNTY.

    With --conversation each line is the next turn of one conversation: a follow-up such as "那我女儿呢？"
    is resolved against the earlier turns; an empty line starts a new conversation.
    """
    from assistant.dialogue.resolve import Context
    from assistant.services.questions import AskContext, QuestionLog
    from assistant.storage.spool import Spool

    rt = runtime()
    resolution = resolve(rt, county)
    code = resolution.region.code
    qlog = None if no_log else QuestionLog(lambda: rt.database, Spool(rt.settings.spool_path),
                                           rt.regions.place_words())
    ctx = AskContext(prison=prison, kiosk=kiosk, inmate_number=inmate)
    try:
        answerer = rt.answerer
    except KnowledgeError as exc:
        raise err(str(exc)) from exc
    if conversation and question is not None:
        raise err("--conversation 从标准输入逐行读取，不接受问题参数 (reads turns from stdin)", 2)
    questions = [question] if question is not None else (line.strip() for line in sys.stdin)
    context = Context()
    for q in questions:
        if not q or not q.strip():
            if question is not None:
                raise err("问题不能为空 (empty question)", 2)
            context = Context()  # an empty line starts a new conversation
            continue
        answer = answerer.run(q, code, resolution.note, context if conversation else None)
        context = answer.context or Context()
        if qlog is not None:
            logged = qlog.record(answer, ctx)
            answer.question_id, answer.followup_id = logged.question_id, logged.followup_id
        if as_json:
            typer.echo(json.dumps(answer.public(), ensure_ascii=False))
        else:
            _print_answer(answer, q)


def _labels(file: Path):
    from assistant.evaluation import LabelError, read_labels

    try:
        return read_labels(file)
    except (LabelError, OSError) as exc:
        raise err(str(exc), 2) from exc


def eval_command(
    file: Path,
    as_json: Annotated[bool, typer.Option("--json", help="print figures as JSON")] = False,
    details: Annotated[Path | None, typer.Option(help="write one JSON line per question here")] = None,
) -> None:
    """Run a labelled question file: accuracy per status, recall@1/@5, MRR, confusion.

    A file of labelled conversations (lines with "turns") is run turn by turn with the context carried:
    follow-ups answered right, context-free ellipsis answered, topic switches right.
    """
    from assistant.evaluation import (
        ConversationReport,
        LabelError,
        Report,
        evaluate,
        evaluate_conversations,
        is_conversation_file,
        read_conversations,
    )

    rt = runtime()
    if file.exists() and is_conversation_file(file):
        try:
            conversations = read_conversations(file)
        except LabelError as exc:
            raise err(str(exc), 2) from exc
        conv_report, rows = evaluate_conversations(rt.answerer, rt.regions, conversations)
        report: Report | ConversationReport = conv_report
    else:
        report, rows = evaluate(rt.answerer, rt.regions, _labels(file))
    if details:
        details.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=1) if as_json else report.render())


def calibrate(
    file: Path,
    out: Annotated[Path | None, typer.Option(help="where to write the thresholds")] = None,
) -> None:
    """Choose decision thresholds on a labelled calibration set (not the eval set) and save them."""
    from assistant.answering.calibration import fit_everything
    from assistant.answering.decision import DEFAULT_CALIBRATION
    from assistant.text.normalize import normalize
    from assistant.text.own_case import fit as fit_own_case
    from assistant.text.own_case import model_path

    rt = runtime()
    labels = _labels(file)
    target = out or rt.settings.calibration_path or DEFAULT_CALIBRATION
    # first the own-case model (own-case questions against every other but crisis ones), used by what follows
    learn = [label for label in labels if label.kind != "crisis"]
    own_case = fit_own_case([normalize(label.question) for label in learn],
                            [label.kind == "individual" for label in learn])
    rt.own_case_model = own_case
    result = fit_everything(rt.answerer, rt.regions, labels)
    result.calibration.save(target)
    own_case.save(model_path(target))
    typer.echo(result.summary)
    typer.echo(f"已保存 → {target}（本人案情模型 own-case model → {model_path(target).name}）")


def register(app: typer.Typer) -> None:
    """Add these commands to the root command line."""
    app.command()(ask)
    app.command()(search)
    app.command("eval")(eval_command)
    app.command()(calibrate)
