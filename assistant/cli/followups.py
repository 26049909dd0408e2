"""Follow-up work: `followups list|answer|deliver|close`, `faq draft|approve`, `log export`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.shared import Actor, State, Status, cli_actor, err, region_code, service

followups_app = typer.Typer(no_args_is_help=True, help="Bureau and prison follow-up work.")
faq_app = typer.Typer(no_args_is_help=True, help="FAQ entries made from bureau answers.")
log_app = typer.Typer(no_args_is_help=True, help="The question log.")

StateOption = Annotated[State | None, typer.Option(
    help="状态；默认：县（区）看 open（待答复），监狱看 answered（待转交）")]


def _bureau_list(county: str, state: State) -> None:
    """A county's queue: groups of similar questions, counts, age (no inmate data)."""
    from assistant.services.followups import STATE_NAMES, bureau_queue

    def run(rt, s):
        items = bureau_queue(s, region_code(rt, county), None if state is State.all else state.value)
        if not items:
            typer.echo("没有跟进事项")
        for it in items:
            typer.echo(f"#{it.id} [{STATE_NAMES[it.state]}] {it.count}人问 {it.age_days}天 主题:{it.topic or '-'}  "
                       f"{it.text}")
            for v in it.variants[1:]:
                typer.echo(f"      类似：{v}")
            if it.answer:
                typer.echo(f"      答复：{it.answer}")
    service(run)


def _prison_list(prison: str, state: State) -> None:
    """A prison's follow-ups with the inmate number (prison staff only)."""
    from assistant.services.followups import STATE_NAMES, prison_queue

    def run(rt, s):
        for it in prison_queue(s, prison, None if state is State.all else state.value):
            typer.echo(f"#{it.id} [{STATE_NAMES[it.state]}] 编号:{it.inmate_number or '-'}  {it.text}\n"
                       f"      答复：{it.answer or '-'}")
    service(run)


@followups_app.command("list")
def followups_list(
    county: Annotated[str | None, typer.Option("--county", "-c", help="县（区）的跟进队列（不含服刑人员信息）")] = None,
    prison: Annotated[str | None, typer.Option(help="监狱的跟进事项（含服刑人员编号，仅限监狱）")] = None,
    state: StateOption = None,
) -> None:
    """Follow-ups of a county (--county: grouped questions, counts, age) or of a prison (--prison: inmate numbers)."""
    if (county is None) == (prison is None):
        raise err("请指定 --county 或 --prison 其中之一", 2)
    if county is not None:
        _bureau_list(county, state or State.open)
    else:
        _prison_list(prison or "", state or State.answered)


@followups_app.command("prison", hidden=True)
def followups_prison(prison: str, state: State = State.answered) -> None:
    """Old spelling of `followups list --prison PRISON`."""
    _prison_list(prison, state)


@followups_app.command("answer")
def followups_answer(followup_id: int, text: Annotated[str, typer.Option("--text", help="答复内容")], by: Actor,
                     county: Annotated[str | None, typer.Option(help="只允许答复本县（区）的事项")] = None) -> None:
    """Answer a follow-up (and every open question grouped with it)."""
    from assistant.services.followups import answer_followup

    def run(rt, s):
        code = region_code(rt, county) if county else None
        ids = answer_followup(s, followup_id, text, cli_actor(by), code)
        typer.echo(f"已答复 {len(ids)} 个问题：{', '.join(f'#{i}' for i in ids)}")
    service(run)


@followups_app.command("deliver")
def followups_deliver(followup_id: int, by: Actor,
                      prison: Annotated[str | None, typer.Option(help="只允许本监狱的事项")] = None) -> None:
    """Mark a bureau's answer as delivered to the inmate."""
    from assistant.services.followups import deliver_followup

    def run(rt, s):
        deliver_followup(s, followup_id, cli_actor(by), prison)
    service(run)
    typer.echo(f"#{followup_id} 已转交")


@followups_app.command("close")
def followups_close(followup_id: int, by: Actor, note: str = "") -> None:
    """Close a follow-up."""
    from assistant.services.followups import close_followup

    def run(rt, s):
        close_followup(s, followup_id, cli_actor(by), note)
    service(run)
    typer.echo(f"#{followup_id} 已关闭")


@faq_app.command("draft")
def faq_draft(followup_id: int, by: Actor,
              paraphrase: Annotated[list[str] | None, typer.Option(help="口语问法（可重复）")] = None,
              question: Annotated[str | None, typer.Option(help="规范问题")] = None,
              topic: Annotated[list[str] | None, typer.Option(help="主题（可重复）")] = None) -> None:
    """Turn an answered follow-up into a draft FAQ entry for its county."""
    from assistant.services.faq import draft_from_followup

    def run(rt, s):
        record = draft_from_followup(s, rt.kb, followup_id, cli_actor(by), question=question,
                                     paraphrases=list(paraphrase) if paraphrase else None,
                                     topics=list(topic) if topic else None)
        typer.echo(f"已生成问答草稿 {record.id}（{len(record.paraphrases)} 种问法）")
    service(run)


@faq_app.command("approve")
def faq_approve(faq_id: str, by: Actor) -> None:
    """Publish a draft FAQ entry; the index is updated at once (no full rebuild)."""
    from assistant.services.faq import approve

    started = time.perf_counter()

    def run(rt, s):
        entry = approve(s, rt.kb, faq_id, cli_actor(by))
        return rt, entry
    rt, entry = service(run)
    rt.publish_faq(entry)
    typer.echo(f"已发布 {faq_id}，索引已更新（{time.perf_counter() - started:.1f} 秒）")


@log_app.command("export")
def log_export(
    out: Path,
    county: Annotated[str | None, typer.Option(help="只导出该县（区）")] = None,
    prison: Annotated[str | None, typer.Option(help="只导出该监狱")] = None,
    since: Annotated[str | None, typer.Option(help="起始日期 YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option(help="截止日期 YYYY-MM-DD（含）")] = None,
    topic: Annotated[str | None, typer.Option(help="主题")] = None,
    status: Annotated[Status | None, typer.Option(help="结果")] = None,
    by: Actor = "",
) -> None:
    """Export the question log as CSV or XLSX (by the file's extension); the export is audited."""
    from assistant.services.exports import ExportFilter, export_questions

    def run(rt, s):
        code = region_code(rt, county) if county else None
        flt = ExportFilter.parse(region_code=code, prison=prison, since=since, until=until, topic=topic,
                                 status=status.value if status else None)
        data, count = export_questions(s, flt, out.suffix.lstrip(".").lower(), rt.regions, cli_actor(by))
        out.write_bytes(data)
        typer.echo(f"已导出 {count} 条 → {out}")
    service(run)


def register(app: typer.Typer) -> None:
    """Add these command groups to the root command line."""
    app.add_typer(followups_app, name="followups")
    app.add_typer(faq_app, name="faq")
    app.add_typer(log_app, name="log")
