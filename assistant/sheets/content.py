"""What goes on a printable FAQ sheet: the most asked approved questions of a county, with sources.

Data only; `docx_render` and `pdf_render` turn a `Sheet` into files.

"Most asked" is `services/most_asked.py`, the same ranking as the kiosk's topic list: the logged questions
from the county in the period (UTC days, `until` inclusive, as the exports), optionally only those asked at
one prison, each counted once per applicable approved FAQ entry that answered one of its parts, in the chosen
topics. Entries are ranked by count, then the more local first; the sheet is filled up to `limit` with
entries nobody asked about yet, county entries first, then city, province, national.

Several counties give one section per county, each starting on a new page, rather than one combined
list: an inmate reads the sheet of his own home county (户籍地), answers differ between counties, the
bureau contact must sit next to that county's answers, and a prison can pin each county's pages where
its people will look. National entries therefore repeat in every section, ranked by that county's counts.

Bureau fill-in fields (【待填写：X】) are never dropped and never filled in: they read "（X：暂未公布，
请向监狱民警或户籍地司法局询问）"; a bureau contact field that is not filled in reads "待司法局填写".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from assistant.answering.basis import basis_note
from assistant.answering.compose import render_fill_ins
from assistant.knowledge.models import NATIONAL_CODE, FaqEntry, KnowledgeBase, Region
from assistant.knowledge.regions import RegionTree, UnknownRegionError
from assistant.services.errors import InvalidError
from assistant.services.most_asked import most_asked
from assistant.services.periods import parse_day

TITLE = "出狱后常见问题解答"
MISSING = "待司法局填写"
CAUTION = "本表内容摘自经司法局审核的问答和政策依据，仅供参考；办理时以户籍地司法局和有关部门的答复为准。"
ORDER_NOTE = "按提问次数排列；本期没人问到的常见问题按本地优先补充"
FILL_IN_NOTE = "暂未公布，请向监狱民警或户籍地司法局询问"
MAX_LIMIT = 50
MAX_PRISON_LEN = 100


def _fmt_day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass(frozen=True)
class SheetRequest:
    """What prison staff chose: counties (codes or names), topics (empty = all), period, prison, length."""

    region_codes: tuple[str, ...]
    topics: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None
    prison: str | None = None
    limit: int = 15

    def __post_init__(self) -> None:
        for name in ("region_codes", "topics"):  # one code given as a bare string is one code, not characters
            if isinstance(getattr(self, name), str):
                object.__setattr__(self, name, (getattr(self, name),))
        codes = tuple(dict.fromkeys(c.strip() for c in self.region_codes if c and c.strip()))
        if not codes:
            raise InvalidError("请至少选择一个县（市、区）")
        object.__setattr__(self, "region_codes", codes)
        object.__setattr__(self, "topics", tuple(dict.fromkeys(t.strip() for t in self.topics if t and t.strip())))
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidError(f"每个县列出的问题数应为 1 到 {MAX_LIMIT} 之间的整数，实际是 {self.limit!r}")
        if self.since and self.until and self.since > self.until:
            raise InvalidError("起始日期晚于截止日期")
        prison = (self.prison or "").strip() or None
        if prison and len(prison) > MAX_PRISON_LEN:
            raise InvalidError(f"监狱名称过长（最多 {MAX_PRISON_LEN} 个字）")
        object.__setattr__(self, "prison", prison)

    @classmethod
    def parse(cls, region_codes: Sequence[str], topics: Sequence[str] = (), since: str | None = None,
              until: str | None = None, prison: str | None = None, limit: str | int | None = None) -> SheetRequest:
        """From form fields: dates as YYYY-MM-DD (`until` inclusive), limit as text; empty fields = default."""
        count = 15
        if limit is not None and str(limit).strip():
            try:
                count = int(str(limit).strip())
            except ValueError as exc:
                raise InvalidError(f"每个县列出的问题数应为整数：{limit!r}") from exc
        return cls(tuple(region_codes), tuple(topics), parse_day(since, "起始"), parse_day(until, "截止"), prison,
                   count)

    def period_text(self) -> str:
        if self.since and self.until:
            return f"{_fmt_day(self.since)}至{_fmt_day(self.until)}"
        if self.since:
            return f"{_fmt_day(self.since)}以来"
        if self.until:
            return f"截至{_fmt_day(self.until)}"
        return "全部记录"


@dataclass(frozen=True)
class SheetEntry:
    """One question on the sheet with its approved answer, where it applies and what it rests on."""

    number: int
    faq_id: str
    question: str
    answer: str  # fill-in fields rendered; paragraphs separated by "\n"
    citations: tuple[str, ...]
    applies_to: str  # 涟源市 / 湖南省 / 全国
    reviewed: date | None
    review_due: date | None
    overdue: bool  # review_due has passed on the generation date
    times_asked: int

    @property
    def sources_text(self) -> str:
        """依据：… with the articles of one statute after a single title (see compact_citations)."""
        return "依据：" + ("；".join(compact_citations(self.citations)) if self.citations else "见司法局答复")

    @property
    def basis_text(self) -> str:
        """依据的法律法规截至2025年4月；本条内容复核于2026年11月22日。 (the wording of every answer and the slip)"""
        return basis_note([self.reviewed])

    @property
    def checked_text(self) -> str:
        """Where it applies and what to mind, e.g. 适用：全国；本期被问 3 次 (the review date is in `basis_text`)."""
        parts = [f"适用：{self.applies_to}"]
        if self.overdue:
            parts.append("已过复核期限，请以司法局最新答复为准")
        if self.times_asked:
            parts.append(f"本期被问 {self.times_asked} 次")
        return "；".join(parts)


@dataclass(frozen=True)
class Contact:
    """A bureau's contact fields as printed; a field the bureau has not filled in reads MISSING."""

    name: str
    phone: str
    address: str
    hours: str

    def rows(self) -> list[tuple[str, str]]:
        return [("单位", self.name), ("电话", self.phone), ("地址", self.address), ("办公时间", self.hours)]


@dataclass(frozen=True)
class SheetSection:
    """One county's part of the sheet."""

    region_code: str
    region_name: str  # 涟源市
    full_name: str  # 湖南省娄底市涟源市
    contact: Contact
    entries: tuple[SheetEntry, ...]


@dataclass(frozen=True)
class Sheet:
    title: str
    county_names: tuple[str, ...]
    period_text: str
    topic_text: str  # 全部主题 or 医保、就业
    prison: str | None
    generated: date
    sections: tuple[SheetSection, ...]
    caution: str = CAUTION
    order_note: str = ORDER_NOTE

    @property
    def entries(self) -> tuple[SheetEntry, ...]:
        return tuple(e for s in self.sections for e in s.entries)

    @property
    def scope_text(self) -> str:
        """统计期间：…；统计范围：某监狱；主题：…"""
        text = f"统计期间：{self.period_text}"
        if self.prison:
            text += f"；统计范围：{self.prison}"
        return f"{text}；主题：{self.topic_text}"

    @property
    def generated_text(self) -> str:
        return _fmt_day(self.generated)

    def filename(self, ext: str) -> str:
        """A download name such as 常见问题_涟源市_2026-11-22.pdf."""
        return f"常见问题_{'_'.join(self.county_names)}_{self.generated.isoformat()}.{ext}"


def _citation_head(citation: str) -> int:
    """Length of the 《title》（version） head of a statute citation; 0 when it has none (e.g. a field report)."""
    if not citation.startswith("《"):
        return 0
    end = citation.find("》") + 1
    if end == 0:
        return 0
    if citation[end:end + 1] == "（":
        depth = 0
        for i in range(end, len(citation)):
            depth += {"（": 1, "）": -1}.get(citation[i], 0)
            if depth == 0:
                return i + 1
    return end


def compact_citations(citations: Sequence[str]) -> list[str]:
    """Citations of one title and version joined: 《X》（v）第79条，第27条 instead of repeating 《X》（v）."""
    groups: dict[str, list[str]] = {}
    for citation in dict.fromkeys(citations):
        cut = _citation_head(citation)
        head, rest = (citation[:cut], citation[cut:]) if cut else (citation, "")
        groups.setdefault(head, [])
        if rest not in groups[head]:
            groups[head].append(rest)
    out = []
    for head, rests in groups.items():
        suffix = "〔待核实，以当地答复为准〕"
        common = len(rests) > 1 and all(r.endswith(suffix) for r in rests)
        parts = [r.removesuffix(suffix) if common else r for r in rests]
        out.append(head + "，".join(p for p in parts if p) + (suffix if common else ""))
    return out


def contact_of(region: Region) -> Contact:
    b = region.bureau
    return Contact(b.name or f"{region.name}司法局", b.phone or MISSING, b.address or MISSING,
                   b.hours or MISSING)


def _region(regions: RegionTree, code: str) -> Region:
    if code in regions:
        region = regions[code]
    else:
        try:
            region = regions.resolve(code)
        except UnknownRegionError as exc:
            raise InvalidError(str(exc)) from exc
    if region.code == NATIONAL_CODE:
        raise InvalidError("请选择具体的县（市、区），不能选“全国”")
    return region


def _topic_keys(kb: KnowledgeBase, topics: tuple[str, ...]) -> tuple[str, ...]:
    """Topic keys (employment) or display names (就业) → keys; unknown → InvalidError listing the valid ones."""
    by_name = {t.name: t.key for t in kb.topics.values()}
    keys: list[str] = []
    unknown: list[str] = []
    for t in topics:
        key = t if t in kb.topics else by_name.get(t)
        (keys if key else unknown).append(key or t)
    if unknown:
        valid = "、".join(f"{t.name}({t.key})" for t in kb.topics.values())
        raise InvalidError(f"未知的主题：{'、'.join(unknown)}；可选：{valid}")
    return tuple(dict.fromkeys(keys))


def _entry(number: int, f: FaqEntry, regions: RegionTree, times: int, today: date) -> SheetEntry:
    citations = tuple(dict.fromkeys(src.citation for src in f.sources))
    answer = "\n".join(p.strip() for p in render_fill_ins(f.answer, regions, FILL_IN_NOTE).splitlines() if p.strip())
    return SheetEntry(number, f.id, f.question.strip(), answer, citations, regions[f.region].name, f.reviewed,
                      f.review_due, bool(f.review_due and f.review_due < today), times)


def build_sheet(s: Session, kb: KnowledgeBase, regions: RegionTree, req: SheetRequest,
                today: date | None = None) -> Sheet:
    """The sheet for `req`: per county its most asked applicable approved FAQ entries and its bureau contact."""
    today = today or date.today()
    chosen = [_region(regions, code) for code in req.region_codes]
    chosen = list({r.code: r for r in chosen}.values())
    topic_keys = _topic_keys(kb, req.topics)
    sections = []
    for region in chosen:
        ranked = most_asked(s, kb, regions, region.code, topic_keys, req.limit, req.since, req.until, req.prison)
        entries = tuple(_entry(i, a.entry, regions, a.count, today) for i, a in enumerate(ranked, 1))
        chain = [r for r in reversed(regions.chain(region.code)) if r.code != NATIONAL_CODE]
        sections.append(SheetSection(region.code, region.name, "".join(r.name for r in chain),
                                     contact_of(region), entries))
    topic_text = "、".join(kb.topics[k].name for k in topic_keys) if topic_keys else "全部主题"
    return Sheet(TITLE, tuple(r.name for r in chosen), req.period_text(), topic_text, req.prison, today,
                 tuple(sections))
