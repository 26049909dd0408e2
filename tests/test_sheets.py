"""FAQ sheets: ranking from the question log, filters, county scope, fill-ins, errors; DOCX and PDF output."""

from __future__ import annotations

import dataclasses
import io
import itertools
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from helpers import KNOWLEDGE, knowledge_of

from assistant.answering.compose import render_fill_ins
from assistant.knowledge.models import FILL_IN_RE, Bureau, FaqEntry, KnowledgeBase, Source
from assistant.knowledge.regions import RegionTree
from assistant.services.errors import InvalidError
from assistant.services.most_asked import most_asked
from assistant.services.principal import PRISON, Principal
from assistant.sheets.content import (
    FILL_IN_NOTE,
    MISSING,
    Sheet,
    SheetRequest,
    build_sheet,
    compact_citations,
    contact_of,
)
from assistant.sheets.docx_render import render_docx
from assistant.sheets.pdf_render import (
    NO_LINE_END,
    NO_LINE_START,
    FontMissingError,
    collection_index,
    find_fonts,
    render_pdf,
    wrap_text,
)
from assistant.storage.db import Database
from assistant.storage.models import Question

LIANYUAN, NINGXIANG, SONGSHAN = "431382", "430182", "150404"
ENROL = "faq-medical-how-to-enrol-after-release"  # national
DRUNK = "faq-driving-drunk-retest"  # national
LY_MEDICAL, LY_PARTY = "faq-lianyuan-medical-insurance", "faq-lianyuan-child-party"
LY_JOB = "faq-lianyuan-transition-job"
NX_VISIT = "faq-ningxiang-family-visit"
TODAY = date(2026, 12, 1)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return knowledge_of(KNOWLEDGE)


@pytest.fixture(scope="module")
def regions(kb: KnowledgeBase) -> RegionTree:
    return RegionTree(kb.regions)


def _q(n: int, region: str, items: list[str], when: datetime, prison: str = "雁北监狱", status: str = "answered"
       ) -> Question:
    return Question(client_id=f"q{n}", asked_at=when, prison=prison, kiosk="k1", region_code=region, topic=None,
                    text="（测试）", status=status, alert=None, answer="", sources=[], items=items)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Database:
    """The question log: Lianyuan asks ENROL 5×, DRUNK 4× (January), LY_MEDICAL 3×, LY_PARTY 2× (another prison)."""
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('sheets')}/t.db")
    october = datetime(2026, 10, 15, 9, 0, tzinfo=UTC)
    rows = (
        [(LIANYUAN, [ENROL, "national-medical#2"], october, "雁北监狱")] * 4
        + [(LIANYUAN, [ENROL, ENROL], october, "雁北监狱")]  # a compound question naming it twice counts once
        + [(LIANYUAN, [DRUNK], datetime(2026, 1, 10, tzinfo=UTC), "雁北监狱")] * 4
        + [(LIANYUAN, [LY_MEDICAL], october, "雁北监狱")] * 3
        + [(LIANYUAN, [LY_PARTY], october, "长沙监狱"),
           (LIANYUAN, [LY_PARTY], datetime(2026, 11, 30, 23, 30, tzinfo=UTC), "长沙监狱")]
        + [(NINGXIANG, [NX_VISIT], october, "雁北监狱")] * 9  # another county's entry, asked often
        + [(LIANYUAN, [NX_VISIT], october, "雁北监狱")] * 9  # not applicable to Lianyuan: never counted
    )
    with database.session() as s:
        for n, (region, items, when, prison) in enumerate(rows):
            s.add(_q(n, region, items, when, prison))
        s.add(_q(999, LIANYUAN, [], october, status="flagged"))
    yield database
    database.dispose()


def _sheet(db: Database, kb: KnowledgeBase, regions: RegionTree, *codes: str, today: date = TODAY, **kw) -> Sheet:
    with db.session() as s:
        return build_sheet(s, kb, regions, SheetRequest(codes, **kw), today=today)


def _ids(sheet: Sheet) -> list[str]:
    return [e.faq_id for e in sheet.entries]


def test_the_kiosk_topics_and_the_sheets_rank_with_one_count(db, kb, regions):
    """services/most_asked.py serves both: a compound question naming an entry twice counts once."""
    with db.session() as s:
        ranked = most_asked(s, kb, regions, LIANYUAN)
        medical = most_asked(s, kb, regions, LIANYUAN, topics=("medical_insurance",), limit=2)
        everywhere = most_asked(s, kb, regions, None)
    counts = {a.entry.id: a.count for a in ranked}
    assert counts[ENROL] == 5 and NX_VISIT not in counts  # Ningxiang's entry does not apply to Lianyuan
    sheet = _sheet(db, kb, regions, LIANYUAN, limit=50)
    assert [(e.faq_id, e.times_asked) for e in sheet.entries] == [(a.entry.id, a.count) for a in ranked[:50]]
    assert [a.entry.id for a in medical] == [f.id for f in (a.entry for a in ranked)
                                             if "medical_insurance" in f.topics][:2]
    assert len(everywhere) == len(kb.approved_faq) and all(a.count == 0 for a in everywhere)


def test_most_asked_first_then_local_entries(db, kb, regions) -> None:
    sheet = _sheet(db, kb, regions, LIANYUAN, limit=15)
    entries = sheet.entries
    assert [(e.faq_id, e.times_asked) for e in entries[:4]] == [(ENROL, 5), (DRUNK, 4), (LY_MEDICAL, 3), (LY_PARTY, 2)]
    assert [e.number for e in entries] == list(range(1, 16))
    unasked = entries[4:]
    assert all(e.times_asked == 0 for e in unasked)
    # Unasked entries: county first, then city, province, national (never back to a more local level).
    by_id = {f.id: f for f in kb.approved_faq}
    levels = [regions.locality(by_id[e.faq_id].region) for e in unasked]
    assert levels == sorted(levels, reverse=True) and levels[0] == 3 and levels[-1] < 3
    assert unasked[0].faq_id == LY_JOB  # the first Lianyuan entry in the knowledge file, not asked
    assert "本期被问 5 次" in entries[0].checked_text and "被问" not in unasked[0].checked_text


def test_period_is_inclusive_and_excludes_other_dates(db, kb, regions) -> None:
    sheet = _sheet(db, kb, regions, LIANYUAN, since=date(2026, 9, 1), until=date(2026, 11, 30))
    counts = {e.faq_id: e.times_asked for e in sheet.entries}
    assert _ids(sheet)[:3] == [ENROL, LY_MEDICAL, LY_PARTY]
    assert counts[LY_PARTY] == 2  # asked on the last day of the period (until is inclusive)
    assert counts.get(DRUNK, 0) == 0  # asked in January only
    assert sheet.period_text == "2026年9月1日至2026年11月30日"
    earlier = _sheet(db, kb, regions, LIANYUAN, since=date(2026, 9, 1), until=date(2026, 11, 29))
    assert {e.faq_id: e.times_asked for e in earlier.entries}[LY_PARTY] == 1
    assert _sheet(db, kb, regions, LIANYUAN, since=date(2026, 12, 1)).entries[0].times_asked == 0


def test_prison_filter_counts_only_that_prison(db, kb, regions) -> None:
    sheet = _sheet(db, kb, regions, LIANYUAN, prison="长沙监狱")
    assert (sheet.entries[0].faq_id, sheet.entries[0].times_asked) == (LY_PARTY, 2)
    assert sum(e.times_asked for e in sheet.entries) == 2
    assert "统计范围：长沙监狱" in sheet.scope_text


def test_topic_filter_by_key_or_name(db, kb, regions) -> None:
    by_id = {f.id: f for f in kb.approved_faq}
    for topic in ("medical_insurance", "医保"):
        sheet = _sheet(db, kb, regions, LIANYUAN, topics=(topic,), limit=50)
        assert _ids(sheet)[:2] == [ENROL, LY_MEDICAL]
        assert all("medical_insurance" in by_id[i].topics for i in _ids(sheet))
        assert DRUNK not in _ids(sheet) and sheet.topic_text == "医保"
    expected = {f.id for f in kb.approved_faq if "medical_insurance" in f.topics
                and f.region in {r.code for r in regions.chain(LIANYUAN)}}
    assert set(_ids(_sheet(db, kb, regions, LIANYUAN, topics=("medical_insurance",), limit=50))) == expected


def test_other_counties_entries_never_appear(db, kb, regions) -> None:
    lianyuan = _sheet(db, kb, regions, LIANYUAN, limit=50)
    chain = {r.code for r in regions.chain(LIANYUAN)}
    by_id = {f.id: f for f in kb.approved_faq}
    assert NX_VISIT not in _ids(lianyuan)
    assert all(by_id[i].region in chain for i in _ids(lianyuan))
    ningxiang = _sheet(db, kb, regions, NINGXIANG, limit=50)
    assert (ningxiang.entries[0].faq_id, ningxiang.entries[0].times_asked) == (NX_VISIT, 9)
    assert not any(i.startswith("faq-lianyuan") for i in _ids(ningxiang))


def test_several_counties_one_section_each(db, kb, regions) -> None:
    sheet = _sheet(db, kb, regions, LIANYUAN, "松山", "涟源市", limit=4)  # names work; a repeat is dropped
    assert sheet.county_names == ("涟源市", "松山区")
    assert [s.full_name for s in sheet.sections] == ["湖南省娄底市涟源市", "内蒙古自治区赤峰市松山区"]
    assert [len(s.entries) for s in sheet.sections] == [4, 4]
    assert [e.number for e in sheet.sections[1].entries] == [1, 2, 3, 4]
    songshan = sheet.sections[1]
    assert songshan.contact.name == "赤峰市松山区司法局"
    assert all(not i.startswith("faq-lianyuan") for i in (e.faq_id for e in songshan.entries))
    assert sheet.filename("pdf") == "常见问题_涟源市_松山区_2026-12-01.pdf"


def test_fill_ins_are_kept_as_a_note(db, kb, regions) -> None:
    sheet = _sheet(db, kb, regions, LIANYUAN, limit=50)
    job = next(e for e in sheet.entries if e.faq_id == LY_JOB)
    assert "（涟源市过渡安置的申请条件和联系电话：暂未公布，请向监狱民警或户籍地司法局询问）" in job.answer
    by_id = {f.id: f for f in kb.approved_faq}
    for e in sheet.entries:
        assert "【待填写" not in e.answer
        assert e.answer.count("暂未公布") == len(FILL_IN_RE.findall(by_id[e.faq_id].answer))
    sheet_note = render_fill_ins("电话：【待填写】。", None, FILL_IN_NOTE)
    assert sheet_note == "电话：（暂未公布，请向监狱民警或户籍地司法局询问）。"
    assert render_fill_ins("电话：【待填写】。") == "电话：（暂未公布，请向监狱民警询问）。"  # the kiosk's note


def test_sources_dates_and_contact(db, kb, regions) -> None:
    sheet = _sheet(db, kb, regions, LIANYUAN, limit=50)
    medical = next(e for e in sheet.entries if e.faq_id == LY_MEDICAL)
    assert "《中华人民共和国社会保险法》（2018年修正）第25条" in medical.citations
    assert medical.reviewed == date(2026, 11, 22)
    assert medical.basis_text == "依据的法律法规截至2025年4月；本条内容复核于2026年11月22日。"
    assert "适用：涟源市" in medical.checked_text and not medical.overdue
    overdue = _sheet(db, kb, regions, LIANYUAN, today=date(2028, 1, 1)).entries[0]
    assert overdue.overdue and "已过复核期限" in overdue.checked_text
    contact = sheet.sections[0].contact
    assert (contact.name, contact.phone, contact.address, contact.hours) == ("涟源市司法局", MISSING, MISSING, MISSING)
    filled = dataclasses.replace(regions[LIANYUAN], bureau=Bureau("涟源市司法局", "0738-1234567", None, "工作日"))
    assert contact_of(filled).rows() == [("单位", "涟源市司法局"), ("电话", "0738-1234567"), ("地址", MISSING),
                                         ("办公时间", "工作日")]


def test_only_approved_entries_including_database_ones(db, kb, regions) -> None:
    source = Source("涟源市司法局书面答复（帮教问答跟进第7号）", "local", "verified", version="2026-11-20")
    extra = [FaqEntry(f"faq-bureau-431382-{n}", LIANYUAN, ("employment",), status, f"测试问题{status}？", (),
                      "测试答复：【待填写：电话】", (source,), "数据库/x")
             for n, status in ((7, "approved"), (8, "draft"))]
    merged = dataclasses.replace(kb, faq=(*kb.faq, *extra))
    sheet = _sheet(db, merged, regions, LIANYUAN, limit=50)
    bureau = next(e for e in sheet.entries if e.faq_id == "faq-bureau-431382-7")
    assert bureau.citations == ("《涟源市司法局书面答复（帮教问答跟进第7号）》（2026-11-20）",)
    assert bureau.reviewed is None and bureau.answer == "测试答复：（电话：暂未公布，请向监狱民警或户籍地司法局询问）"
    assert "faq-bureau-431382-8" not in _ids(sheet)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"region_codes": ("火星县",)}, "未知的地区"),
    ({"region_codes": ("全国",)}, "不能选“全国”"),
    ({"region_codes": (LIANYUAN,), "topics": ("吃饭",)}, "未知的主题：吃饭"),
])
def test_invalid_choices(db, kb, regions, kwargs, message) -> None:
    with db.session() as s, pytest.raises(InvalidError, match=message):
        build_sheet(s, kb, regions, SheetRequest(**kwargs))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"region_codes": ()}, "至少选择一个"),
    ({"region_codes": (" ",)}, "至少选择一个"),
    ({"region_codes": (LIANYUAN,), "limit": 0}, "1 到 50"),
    ({"region_codes": (LIANYUAN,), "limit": 51}, "1 到 50"),
    ({"region_codes": (LIANYUAN,), "limit": True}, "1 到 50"),
    ({"region_codes": (LIANYUAN,), "since": date(2026, 2, 1), "until": date(2026, 1, 1)}, "起始日期晚于截止日期"),
])
def test_invalid_requests(kwargs, message) -> None:
    with pytest.raises(InvalidError, match=message):
        SheetRequest(**kwargs)


def test_parse_form_fields() -> None:
    req = SheetRequest.parse([LIANYUAN], ["医保"], since="2026-09-01", until="", prison=" 雁北监狱 ", limit="8")
    assert (req.since, req.until, req.prison, req.limit) == (date(2026, 9, 1), None, "雁北监狱", 8)
    assert req.period_text() == "2026年9月1日以来"
    assert SheetRequest(LIANYUAN, "医保").region_codes == (LIANYUAN,)  # type: ignore[arg-type]
    with pytest.raises(InvalidError, match="YYYY-MM-DD"):
        SheetRequest.parse([LIANYUAN], since="2026/09/01")
    with pytest.raises(InvalidError, match="整数"):
        SheetRequest.parse([LIANYUAN], limit="十")


def test_compact_citations() -> None:
    law = "《中华人民共和国刑法》（2023年修正（含刑法修正案（十二）））"
    assert compact_citations([f"{law}第81条第2款", f"{law}第78条", "现场报道：《X》", f"{law}第78条"]) == [
        f"{law}第81条第2款，第78条", "现场报道：《X》"]
    unverified = "〔待核实，以当地答复为准〕"
    assert compact_citations([f"《B》第1条{unverified}", f"《B》第2条{unverified}"]) == [
        f"《B》第1条，第2条{unverified}"]


def test_wrap_text_follows_chinese_line_breaking() -> None:
    text = "出狱后尽早到户籍所在乡镇的医保（社保）服务站参加城乡居民医保，可以带上身份证件和释放证明书。电话12348。"
    for width in range(5, 16):
        lines = wrap_text(text, width, len)
        assert "".join(lines) == text
        # Only closing punctuation after a unit that fills a whole line may hang past the edge.
        assert all(len(line) <= width or (len(line) == width + 1 and line[-1] in NO_LINE_START) for line in lines)
        assert not any(line[0] in NO_LINE_START for line in lines[1:])
        assert not any(line[-1] in NO_LINE_END for line in lines[:-1])
        assert not any(a[-1].isdigit() and b[0].isdigit() for a, b in itertools.pairwise(lines))


@pytest.fixture(scope="module")
def printed(db, kb, regions) -> Sheet:
    return _sheet(db, kb, regions, LIANYUAN, SONGSHAN, limit=4)


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_docx_has_questions_answers_sources_and_contact(printed: Sheet) -> None:
    doc = Document(io.BytesIO(render_docx(printed)))
    body = _flat("\n".join(p.text for p in doc.paragraphs))
    cells = _flat("\n".join(c.text for t in doc.tables for row in t.rows for c in row.cells))
    for entry in printed.entries:
        assert _flat(f"{entry.number}.{entry.question}") in body
        assert _flat(entry.answer) in body
        assert _flat(entry.sources_text) in body
        assert _flat(entry.basis_text) in body and _flat(f"本条内容复核于{entry.reviewed.year}年") in body
    for section in printed.sections:
        assert _flat(section.contact.name) in cells and f"户籍地：{section.full_name}" in body
    assert MISSING in cells
    assert len(doc.sections) == 2
    footer = _flat("".join(p.text for p in doc.sections[0].footer.paragraphs))
    assert "以户籍地司法局和有关部门的答复为准" in footer and "生成日期：2026年12月1日" in footer
    assert round(doc.sections[0].page_width.cm, 1) == 21.0 and round(doc.sections[0].page_height.cm, 1) == 29.7
    question = next(p for p in doc.paragraphs if p.text.startswith("1.\t"))
    fonts = question.runs[0]._element.rPr.find(qn("w:rFonts"))
    assert fonts.get(qn("w:eastAsia")) == "黑体" and question.runs[0].font.bold


needs_poppler = pytest.mark.skipif(not (shutil.which("pdftotext") and shutil.which("pdftoppm")),
                                   reason="poppler-utils (pdftotext, pdftoppm) not installed")


@pytest.fixture(scope="module")
def pdf_file(printed: Sheet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        data = render_pdf(printed)
    except FontMissingError as exc:
        pytest.skip(str(exc))
    path = tmp_path_factory.mktemp("pdf") / "sheet.pdf"
    path.write_bytes(data)
    return path


@needs_poppler
@pytest.mark.slow  # renders the PDF, runs pdftotext/pdfinfo/pdftoppm
def test_pdf_text_and_page_image(printed: Sheet, pdf_file: Path) -> None:
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf_file), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = _flat(text)
    for entry in printed.entries:
        assert _flat(entry.question) in flat
        assert entry.reviewed and _flat(entry.basis_text) in flat  # every entry: snapshot and its review date
    assert flat.count("依据的法律法规截至2025年4月；本条内容复核于") == len(printed.entries)
    assert "出狱后常见问题解答" in flat and "户籍地：湖南省娄底市涟源市" in flat
    assert "户籍地：内蒙古自治区赤峰市松山区" in flat
    assert "涟源市司法局" in flat and MISSING in flat and "以户籍地司法局和有关部门的答复为准" in flat
    pages = text.count("\f")
    assert f"第1页/共{pages}页" in flat and pages >= 2  # each county starts on a new page
    info = subprocess.run(["pdfinfo", str(pdf_file)], capture_output=True, text=True, check=True).stdout
    assert "(A4)" in info
    out = pdf_file.with_name("page")
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", "-singlefile", str(pdf_file), str(out)],
                   check=True, capture_output=True)
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_font_names_the_debian_package(printed: Sheet, tmp_path: Path) -> None:
    with pytest.raises(FontMissingError, match="fonts-noto-cjk"):
        render_pdf(printed, font_dir=tmp_path)


def test_simplified_chinese_face_of_debian_collection() -> None:
    try:
        fonts = find_fonts()
    except FontMissingError as exc:
        pytest.skip(str(exc))
    assert fonts.regular_index == fonts.bold_index == 2
    assert collection_index(fonts.regular) == 2


def test_a_county_without_local_content_gets_national_and_provincial_entries(db, kb, regions) -> None:
    sheet = _sheet(db, kb, regions, "430321", limit=10)  # 湘潭县: only in the division data
    section = sheet.sections[0]
    assert section.region_name == "湘潭县" and section.full_name == "湖南省湘潭市湘潭县"
    assert section.contact.name == "湘潭县司法局" and len(section.entries) == 10
    by_id = {f.id: f for f in kb.approved_faq}
    assert {by_id[e.faq_id].region for e in section.entries} <= {"000000", "430000"}


def test_a_sheet_is_audited_by_the_service_whoever_asks(db, kb, regions) -> None:
    from assistant.services import audit
    from assistant.services.sheets import prepare_sheet

    prison_user = Principal(3, "yanbei", "雁北监狱教育科", PRISON, "雁北监狱", None)
    with db.session() as s:
        sheet = prepare_sheet(s, prison_user, kb, regions, SheetRequest(("431382",), prison="雁北监狱"), "pdf")
        assert sheet.sections and _ids(sheet)
        prepare_sheet(s, "cli:script", kb, regions, SheetRequest(("431382",), prison="雁北监狱"), "docx")
        with pytest.raises(InvalidError):
            prepare_sheet(s, prison_user, kb, regions, SheetRequest(("431382",)), "xlsx")
    with db.session() as s:
        rows = [(e.actor, e.target, e.detail.split()[0]) for e in audit.events(s, scope="雁北监狱", action="sheet")]
    assert rows == [("cli:script", "431382", "docx"), ("yanbei", "431382", "pdf")]
