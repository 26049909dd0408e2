"""CSV and XLSX exports of the question log within a caller's scope, with filters."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.knowledge.regions import RegionTree
from assistant.services.errors import InvalidError
from assistant.services.followups import STATE_NAMES
from assistant.storage.models import FollowUp, Question

FORMATS = ("csv", "xlsx")
STATUS_NAMES = {"answered": "已回答", "flagged": "转司法局", "out_of_scope": "不在范围"}
HEADER = ["编号", "时间", "监狱", "终端", "户籍地", "主题", "问题（已脱敏）", "结果", "危机提醒", "没解决", "跟进编号",
          "跟进状态", "来源"]


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
        def day(value: str | None, name: str) -> date | None:
            if not value:
                return None
            try:
                return date.fromisoformat(value)
            except ValueError as exc:
                raise InvalidError(f"{name} 日期格式应为 YYYY-MM-DD：{value!r}") from exc

        start, end = day(since, "起始"), day(until, "截止")
        if start and end and start > end:
            raise InvalidError("起始日期晚于截止日期")
        if status and status not in STATUS_NAMES:
            raise InvalidError(f"status 应为 {'/'.join(STATUS_NAMES)}：{status!r}")
        return cls(since=datetime.combine(start, time.min, UTC) if start else None,
                   until=datetime.combine(end + timedelta(days=1), time.min, UTC) if end else None,
                   status=status, **kw)


def _rows(s: Session, f: ExportFilter, regions: RegionTree) -> list[list[str]]:
    query = (select(Question, FollowUp.state).outerjoin(FollowUp, FollowUp.id == Question.followup_id)
             .order_by(Question.asked_at, Question.id))
    for column, value in ((Question.region_code, f.region_code), (Question.prison, f.prison),
                          (Question.topic, f.topic), (Question.status, f.status)):
        if value:
            query = query.where(column == value)
    if f.since:
        query = query.where(Question.asked_at >= f.since)
    if f.until:
        query = query.where(Question.asked_at < f.until)
    out = []
    for q, state in s.execute(query):
        region = regions[q.region_code].name if q.region_code in regions else q.region_code
        out.append([str(q.id), q.asked_at.strftime("%Y-%m-%d %H:%M"), q.prison, q.kiosk, region, q.topic or "",
                    q.text, STATUS_NAMES.get(q.status, q.status), "是" if q.alert else "", "是" if q.unresolved else "",
                    str(q.followup_id or ""), STATE_NAMES.get(state, "") if state else "",
                    "；".join(src.get("citation", "") for src in q.sources or [])])
    return out


def _safe_cell(value: str) -> str:
    """Neutralise spreadsheet formulas in user text (a question starting with = + - @)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def export_questions(s: Session, f: ExportFilter, fmt: str, regions: RegionTree) -> tuple[bytes, int]:
    """The log rows matching `f` as CSV (UTF-8 with BOM, for Excel) or XLSX bytes, and their count."""
    if fmt not in FORMATS:
        raise InvalidError(f"导出格式应为 {' 或 '.join(FORMATS)}：{fmt!r}")
    rows = [[_safe_cell(c) for c in row] for row in _rows(s, f, regions)]
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(HEADER)
        writer.writerows(rows)
        return buf.getvalue().encode("utf-8-sig"), len(rows)
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "问题记录"
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), len(rows)
