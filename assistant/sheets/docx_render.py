"""Word (DOCX) version of an FAQ sheet, for staff who want to adjust it before printing (python-docx).

The same layout as the PDF: one section per county on A4, each starting on a new page with the title,
the home county, the period and the bureau's contact, then the numbered questions; a running head on
continuation pages and a footer (caution, generation date, page X / Y). Chinese text gets an
East Asian font name (w:eastAsia: 黑体 for headings, 宋体 for text), so Word does not fall back to a
Western font for it.
"""

from __future__ import annotations

import io

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import _Cell
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from assistant.sheets.content import MISSING, Sheet, SheetEntry, SheetSection

HEI, SONG = "黑体", "宋体"
LATIN = "Arial"
INK, GREY = RGBColor(0x14, 0x14, 0x14), RGBColor(0x5F, 0x5F, 0x5F)
INDENT = Cm(0.85)
# Elements that must follow w:pBdr in w:pPr, and w:shd in w:tcPr (ECMA-376 sequence).
PBDR_SUCCESSORS = (
    "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct", "w:topLinePunct",
    "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind",
    "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
    "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange")
SHD_SUCCESSORS = ("w:noWrap", "w:tcMar", "w:textDirection", "w:tcFitText", "w:vAlign", "w:hideMark", "w:headers",
                  "w:cellIns", "w:cellDel", "w:cellMerge", "w:tcPrChange")


def _font(run: Run, east_asia: str, size: float, bold: bool = False, color: RGBColor = INK) -> Run:
    """Size, weight, colour, and the font for Latin and (w:eastAsia) Chinese characters."""
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.color.rgb = color
    run.font.name = LATIN
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    fonts.set(qn("w:eastAsia"), east_asia)
    return run


def _para(container, text: str = "", east_asia: str = SONG, size: float = 12, bold: bool = False,
          color: RGBColor = INK, align: WD_ALIGN_PARAGRAPH | None = None, before: float = 0, after: float = 0,
          indent: Cm | None = None, keep: bool = False) -> Paragraph:
    p = container.add_paragraph()
    if text:
        _font(p.add_run(text), east_asia, size, bold, color)
    fmt = p.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    if align is not None:
        p.alignment = align
    if indent is not None:
        fmt.left_indent = indent
    fmt.keep_with_next = keep
    return p


def _border(p: Paragraph, side: str, size_eighths: int, space: int = 2) -> None:
    """A rule under (side="bottom") or over a paragraph."""
    ppr = p._p.get_or_add_pPr()
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        ppr.insert_element_before(borders, *PBDR_SUCCESSORS)  # Word insists on the schema's element order
    edge = OxmlElement(f"w:{side}")
    for key, value in (("val", "single"), ("sz", str(size_eighths)), ("space", str(space)), ("color", "141414")):
        edge.set(qn(f"w:{key}"), value)
    borders.append(edge)


def _field(p: Paragraph, code: str, size: float) -> None:
    """A Word field such as PAGE or NUMPAGES (Word fills in the number; "1" until it does)."""
    def fld_char(kind: str) -> None:
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        _font(p.add_run(), SONG, size, color=GREY)._r.append(el)

    fld_char("begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {code} "
    _font(p.add_run(), SONG, size, color=GREY)._r.append(instr)
    fld_char("separate")
    _font(p.add_run("1"), SONG, size, color=GREY)
    fld_char("end")


def _shade(cell: _Cell, fill: str) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    for key, value in (("val", "clear"), ("color", "auto"), ("fill", fill)):
        shd.set(qn(f"w:{key}"), value)
    tcpr.insert_element_before(shd, *SHD_SUCCESSORS)


def _frame(section, normal, sheet: Sheet, county: SheetSection) -> None:
    """A4 page, running head (not on the first page), footer with caution, date and page numbers."""
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(1.8)
    section.top_margin, section.bottom_margin = Cm(1.6), Cm(2.0)
    section.header_distance, section.footer_distance = Cm(0.8), Cm(0.8)
    section.different_first_page_header_footer = True
    for header in (section.header, section.first_page_header):
        header.is_linked_to_previous = False
    width = section.page_width - section.left_margin - section.right_margin
    head = section.header.paragraphs[0]
    head.style = normal  # the Header style's own tab stops would catch the tab below
    head.paragraph_format.tab_stops.add_tab_stop(width, WD_TAB_ALIGNMENT.RIGHT)
    _font(head.add_run(f"{sheet.title} · {county.region_name}（续）\t户籍地：{county.full_name}"), SONG, 9,
          color=GREY)
    _border(head, "bottom", 4)
    for footer in (section.footer, section.first_page_footer):
        footer.is_linked_to_previous = False
        caution = footer.paragraphs[0]
        _border(caution, "top", 4)
        _font(caution.add_run(f"提示：{sheet.caution}"), HEI, 8.5, bold=True)
        line = footer.add_paragraph()
        line.paragraph_format.tab_stops.add_tab_stop(width, WD_TAB_ALIGNMENT.RIGHT)
        _font(line.add_run(f"{county.region_name} · 生成日期：{sheet.generated_text} · 帮教问答\t第 "), SONG, 8,
              color=GREY)
        _field(line, "PAGE", 8)
        _font(line.add_run(" 页 / 共 "), SONG, 8, color=GREY)
        _field(line, "NUMPAGES", 8)
        _font(line.add_run(" 页"), SONG, 8, color=GREY)


def _head(doc, sheet: Sheet, county: SheetSection) -> None:
    _para(doc, sheet.title, HEI, 26, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=4)
    _para(doc, f"户籍地：{county.full_name}", HEI, 16, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=4)
    _para(doc, sheet.scope_text, SONG, 10, color=GREY, align=WD_ALIGN_PARAGRAPH.CENTER)
    note = _para(doc, f"（{sheet.order_note}）", SONG, 9, color=GREY, align=WD_ALIGN_PARAGRAPH.CENTER, after=10)
    _border(note, "bottom", 18, space=6)


def _entry(doc, entry: SheetEntry) -> None:
    q = _para(doc, "", before=10, after=3, indent=INDENT, keep=True)
    q.paragraph_format.first_line_indent = -INDENT
    _font(q.add_run(f"{entry.number}.\t{entry.question}"), HEI, 14, bold=True)
    for text in entry.answer.split("\n"):
        p = _para(doc, text, SONG, 12, after=2, indent=INDENT, keep=True)
        p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        p.paragraph_format.line_spacing = 1.25
    _para(doc, entry.sources_text, SONG, 9, color=GREY, indent=INDENT, before=2, keep=True)
    _para(doc, entry.basis_text, SONG, 9, color=GREY, indent=INDENT, keep=True)
    _para(doc, entry.checked_text, SONG, 9, color=GREY, indent=INDENT, after=4)


def _contact(doc, county: SheetSection) -> None:
    """The bureau's contact as a bordered table under the title (blank fields say 待司法局填写)."""
    rows = county.contact.rows()
    table = doc.add_table(rows=len(rows) + 2, cols=2)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    title = table.cell(0, 0).merge(table.cell(0, 1))
    _shade(title, "E6E6E6")
    _font(title.paragraphs[0].add_run(f"有问题，请找户籍地司法局（{county.region_name}）"), HEI, 14, bold=True)
    for i, (label, value) in enumerate(rows, 1):
        label_cell, value_cell = table.cell(i, 0), table.cell(i, 1)
        label_cell.width, value_cell.width = Cm(3.0), Cm(14.4)
        _font(label_cell.paragraphs[0].add_run(label), HEI, 12, bold=True)
        _font(value_cell.paragraphs[0].add_run(value), SONG, 12, color=GREY if value == MISSING else INK)
    note = table.cell(len(rows) + 1, 0).merge(table.cell(len(rows) + 1, 1))
    _font(note.paragraphs[0].add_run("电话、地址以司法局公布的为准；不清楚的，可以请监区民警帮你联系。"), SONG, 9,
          color=GREY)
    for row in table.rows:
        row.cells[0].paragraphs[0].paragraph_format.keep_with_next = True
    _para(doc, "", size=6, after=2)


def render_docx(sheet: Sheet) -> bytes:
    """The sheet as a Word document (A4, one section per county)."""
    doc = Document()
    doc.core_properties.title = f"{sheet.title}（{'、'.join(sheet.county_names)}）"
    doc.core_properties.author = "帮教问答"
    doc.core_properties.subject = sheet.caution
    normal = doc.styles["Normal"]
    normal.font.name = LATIN
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), SONG)
    for i, county in enumerate(sheet.sections):
        section = doc.sections[0] if i == 0 else doc.add_section(WD_SECTION.NEW_PAGE)
        _frame(section, normal, sheet, county)
        _head(doc, sheet, county)
        _contact(doc, county)
        if not county.entries:
            _para(doc, "所选主题下暂时还没有经司法局审核的问答。有问题请向监区民警或户籍地司法局咨询。", SONG, 12,
                  after=6)
        for entry in county.entries:
            _entry(doc, entry)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
