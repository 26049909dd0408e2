"""CSV and XLSX exports of the question log within a caller's scope, with filters."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.knowledge.regions import RegionTree
from assistant.services import audit
from assistant.services.audit import Actor
from assistant.services.errors import ForbiddenError, InvalidError
from assistant.services.followups import STATE_NAMES
from assistant.services.periods import day_after, day_start, parse_period
from assistant.services.principal import ADMIN, BUREAU, Principal
from assistant.storage.models import FollowUp, Question

FORMATS = ("csv", "xlsx")
STATUS_NAMES = {"answered": "已回答", "suggested": "给出选项", "flagged": "转司法局", "out_of_scope": "不在范围"}
HEADER = ["编号", "时间", "监狱", "终端", "户籍地", "主题", "问题（已脱敏）", "结果", "危机提醒", "没解决", "跟进编号",
          "跟进状态", "来源"]
FOLLOWUP_HEADER = ["编号", "提出时间", "监狱", "户籍地", "主题", "问题（已脱敏）", "原因", "状态", "分组", "答复",
                   "更新时间"]
PRISON_COLUMNS = {"监狱", "终端"}
REASON_NAMES = {"flagged": "系统无法回答", "unresolved": "提问人表示没解决", "crisis": "危机提醒"}


@dataclass(frozen=True)
class ExportFilter:
    region_code: str | None = None
    prison: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    topic: str | None = None
    status: str | None = None

    @classmethod
    def parse(cls, since: str | None = None, until: str | None = None, status: str | None = None,
              **kw) -> ExportFilter:
        """Validate user input (dates as YYYY-MM-DD, `until` inclusive)."""
        start, end = parse_period(since, until)
        return cls(since=day_start(start) if start else None, until=day_after(end) if end else None,
                   status=status or None, **kw)


def _within(query, column, f: ExportFilter):
    if f.since:
        query = query.where(column >= f.since)
    if f.until:
        query = query.where(column < f.until)
    return query


def _region_name(regions: RegionTree, code: str) -> str:
    return regions[code].name if code in regions else code


def _question_rows(s: Session, f: ExportFilter, regions: RegionTree) -> list[list[str]]:
    query = (select(Question, FollowUp.state).outerjoin(FollowUp, FollowUp.id == Question.followup_id)
             .order_by(Question.asked_at, Question.id))
    for column, value in ((Question.region_code, f.region_code), (Question.prison, f.prison),
                          (Question.topic, f.topic), (Question.status, f.status)):
        if value:
            query = query.where(column == value)
    out = []
    for q, state in s.execute(_within(query, Question.asked_at, f)):
        out.append([str(q.id), q.asked_at.strftime("%Y-%m-%d %H:%M"), q.prison, q.kiosk,
                    _region_name(regions, q.region_code), q.topic or "", q.text,
                    STATUS_NAMES.get(q.status, q.status), "是" if q.alert else "", "是" if q.unresolved else "",
                    str(q.followup_id or ""), STATE_NAMES.get(state, "") if state else "",
                    "；".join(src.get("citation", "") for src in q.sources or [])])
    return out


def _followup_rows(s: Session, f: ExportFilter, regions: RegionTree) -> list[list[str]]:
    query = select(FollowUp).order_by(FollowUp.created_at, FollowUp.id)
    for column, value in ((FollowUp.region_code, f.region_code), (FollowUp.prison, f.prison),
                          (FollowUp.topic, f.topic), (FollowUp.state, f.status)):
        if value:
            query = query.where(column == value)
    return [[str(fu.id), fu.created_at.strftime("%Y-%m-%d %H:%M"), fu.prison, _region_name(regions, fu.region_code),
             fu.topic or "", fu.text, REASON_NAMES.get(fu.reason, fu.reason), STATE_NAMES.get(fu.state, fu.state),
             str(fu.group_id or fu.id), fu.answer or "", fu.updated_at.strftime("%Y-%m-%d %H:%M")]
            for fu in s.scalars(_within(query, FollowUp.created_at, f))]


def _safe_cell(value: str) -> str:
    """Neutralise spreadsheet formulas in user text (a question starting with = + - @)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _encode(header: list[str], rows: list[list[str]], fmt: str, title: str, hide: set[str]) -> bytes:
    keep = [i for i, name in enumerate(header) if name not in hide]
    header = [header[i] for i in keep]
    rows = [[_safe_cell(row[i]) for i in keep] for row in rows]
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        writer.writerows(rows)
        return buf.getvalue().encode("utf-8-sig")
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = title
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def export_scope(who: Principal, county: str | None, prison: str | None) -> tuple[str | None, str | None]:
    """(region_code, prison) a signed-in user's export is limited to; a bureau or prison user cannot widen or
    move it."""
    if who.role == ADMIN:
        return county or None, prison or None
    if who.role == BUREAU:
        if county and county != who.region_code:
            raise ForbiddenError("只能导出本县（区）的数据")
        return who.region_code, None
    if prison and prison != who.prison:
        raise ForbiddenError("只能导出本监狱的数据")
    return None, who.prison


def _audit(s: Session, actor: Actor, kind: str, fmt: str, f: ExportFilter, count: int) -> None:
    """Every export is audited with what it contained (whoever asked for it: portal or command line)."""
    def day(value: datetime | None) -> str:
        return f"{value:%Y-%m-%d}" if value else ""

    detail = (f"{fmt}, {count} rows, from={day(f.since)} before={day(f.until)} topic={f.topic} status={f.status} "
              f"county={f.region_code} prison={f.prison}")
    audit.record(s, actor, "export", kind, detail, scope=audit.scope_of(actor, f.region_code or f.prison))


def export_questions(s: Session, f: ExportFilter, fmt: str, regions: RegionTree, actor: Actor,
                     for_bureau: bool = False) -> tuple[bytes, int]:
    """The log rows matching `f` as CSV (UTF-8 with BOM, for Excel) or XLSX bytes, and their count; audited.

    Bureau copies leave out where the asker is held (prison, kiosk), as the bureau views do.
    """
    _check_format(fmt)
    if f.status and f.status not in STATUS_NAMES:
        raise InvalidError(f"结果应为 {'/'.join(STATUS_NAMES)}：{f.status!r}")
    rows = _question_rows(s, f, regions)
    if for_bureau:  # crises belong to the prison
        rows = [row for row in rows if row[HEADER.index("危机提醒")] != "是"]
    _audit(s, actor, "questions", fmt, f, len(rows))
    return _encode(HEADER, rows, fmt, "问题记录", PRISON_COLUMNS if for_bureau else set()), len(rows)


def export_followups(s: Session, f: ExportFilter, fmt: str, regions: RegionTree, actor: Actor,
                     for_bureau: bool = False) -> tuple[bytes, int]:
    """Follow-ups matching `f` (status filters the follow-up state) in the same formats; audited."""
    _check_format(fmt)
    if f.status and f.status not in STATE_NAMES:
        raise InvalidError(f"跟进状态应为 {'/'.join(STATE_NAMES)}：{f.status!r}")
    rows = _followup_rows(s, f, regions)
    if for_bureau:  # crises belong to the prison
        rows = [row for row in rows if row[FOLLOWUP_HEADER.index("原因")] != REASON_NAMES["crisis"]]
    _audit(s, actor, "followups", fmt, f, len(rows))
    return _encode(FOLLOWUP_HEADER, rows, fmt, "跟进事项", PRISON_COLUMNS if for_bureau else set()), len(rows)


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InvalidError(f"导出格式应为 {' 或 '.join(FORMATS)}：{fmt!r}")
