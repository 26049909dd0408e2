"""A4 PDF of an FAQ sheet for a notice board (fpdf2 with Debian's Noto Sans CJK fonts).

Each county section starts on a new page: big title, home county, period, then the bureau's contact in a
box (on the first page, where everyone sees it, rather than after the last question where it may end up
alone on a page), then numbered questions in bold with the answer in plain text and small source lines.
Continuation pages carry a running head; every page has a footer with the caution, the generation date
and the page number. Lines are broken by this module
(Chinese line-breaking rules: no closing punctuation at a line start, no opening one at a line end) and
justified, since fpdf2 only breaks text at spaces.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fpdf import FPDF

from assistant.sheets.content import MISSING, Sheet, SheetEntry, SheetSection

FONT_PACKAGE = "fonts-noto-cjk"
FONT_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/truetype/noto"),
             Path("/usr/local/share/fonts"))
REGULAR_FILE = "NotoSansCJK-Regular.ttc"
BOLD_FILE = "NotoSansCJK-Bold.ttc"
SC_INDEX = 2  # Noto Sans CJK SC in Debian's collections (checked by name when the font is loaded)
FAMILY = "noto"

# Chinese line breaking (禁则): characters that may not start a line, and ones that may not end it.
NO_LINE_START = frozenset("，。、；：？！）》」』】〕”’…—·%％,.;:?!)]}")
NO_LINE_END = frozenset("（《「『【〔“‘([{")
_UNIT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-/%]*|\s+|.", re.S)

# Layout (mm, A4 portrait).
MARGIN_X, TOP, BOTTOM = 18.0, 15.0, 22.0
BADGE, INDENT = 7.5, 11.0
KEEP_WHOLE = 70.0
INK, GREY, LIGHT = (20, 20, 20), (95, 95, 95), (200, 200, 200)


class FontMissingError(RuntimeError):
    """No CJK font to render Chinese text with."""


@dataclass(frozen=True)
class CjkFonts:
    regular: Path
    bold: Path
    regular_index: int
    bold_index: int


@cache
def collection_index(path: Path, script: str = "SC") -> int:
    """Index of the "Noto Sans CJK <script>" face in a .ttc collection (SC = Simplified Chinese)."""
    from fontTools.ttLib import TTCollection, TTLibError

    try:
        faces = TTCollection(str(path), lazy=True).fonts
        for i, face in enumerate(faces):
            name = str(face["name"].getDebugName(4) or "")
            if f"CJK {script}" in name and "Mono" not in name:
                return i
    except (OSError, KeyError, ValueError, TTLibError):  # unreadable names: Debian's known order
        return SC_INDEX
    return SC_INDEX


def find_fonts(font_dir: Path | None = None) -> CjkFonts:
    """Regular and bold Noto Sans CJK (Simplified Chinese faces); a clear error naming the Debian package."""
    dirs = (Path(font_dir),) if font_dir is not None else FONT_DIRS
    for folder in dirs:
        regular = folder / REGULAR_FILE
        if regular.is_file():
            bold = folder / BOLD_FILE if (folder / BOLD_FILE).is_file() else regular
            return CjkFonts(regular, bold, collection_index(regular), collection_index(bold))
    where = "、".join(str(d) for d in dirs)
    raise FontMissingError(
        f"找不到中文字体 {REGULAR_FILE}（查找位置：{where}），无法生成 PDF。"
        f"请安装 Debian 软件包 {FONT_PACKAGE}：sudo apt-get install {FONT_PACKAGE} "
        f"(CJK font not found; install the Debian package {FONT_PACKAGE})")


def split_units(text: str) -> list[str]:
    """Units a line may not break inside: a Latin word or number (12348, 2023年 → 2023 + 年), a space run, a char."""
    return _UNIT_RE.findall(text)


def wrap_text(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """Break one paragraph into lines no wider than `width` (as measured), following Chinese line-breaking rules."""
    lines: list[str] = []
    line: list[str] = []  # units of the current line
    line_w = 0.0
    for unit in split_units(text):
        unit_w = measure(unit)
        pieces = list(unit) if unit_w > width else [unit]  # a Latin run longer than a line: by character
        for piece in pieces:
            piece_w = unit_w if len(pieces) == 1 else measure(piece)
            if not line or line_w + piece_w <= width:
                line.append(piece)
                line_w += piece_w
                continue
            if piece[0] in NO_LINE_START and len(line) == 1:  # nothing to pull down: let the punctuation hang
                line.append(piece)
                line_w += piece_w
                continue
            carry = [piece] if piece.strip() else []
            # Pull units down so the new line does not start with closing punctuation,
            # and do not leave opening punctuation at the end of the line.
            while len(line) > 1 and ((carry and carry[0][0] in NO_LINE_START) or line[-1][-1] in NO_LINE_END):
                carry.insert(0, line.pop())
            lines.append("".join(line).rstrip())
            line = carry
            line_w = measure("".join(line))
    if "".join(line).strip() or not lines:
        lines.append("".join(line).rstrip())
    return lines


class SheetPDF(FPDF):
    """The page frame: running head on continuation pages, footer with caution, date and page number."""

    def __init__(self, sheet: Sheet, fonts: CjkFonts):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.sheet = sheet
        self.section: SheetSection | None = None  # the section of the page being drawn (footer uses it)
        self.next_section: SheetSection | None = None  # set before add_page() to start a section
        self._widths: dict[tuple[str, float, str], float] = {}
        self.set_margins(MARGIN_X, TOP, MARGIN_X)
        self.set_auto_page_break(False)
        self.c_margin = 0
        self.add_font(FAMILY, fname=str(fonts.regular), collection_font_number=fonts.regular_index)
        self.add_font(FAMILY, style="B", fname=str(fonts.bold), collection_font_number=fonts.bold_index)
        for font in self.fonts.values():
            # The subset keeps the font's overall bounding box; recomputing every glyph's bounds on output
            # costs about a third of the rendering time and changes nothing visible.
            ttfont = getattr(font, "ttfont", None)
            if ttfont is not None:
                ttfont.recalcBBoxes = False
        self.set_title(f"{sheet.title}（{'、'.join(sheet.county_names)}）")
        self.set_author("帮教问答")
        self.set_subject(sheet.caution)
        self.set_lang("zh-CN")

    @property
    def width(self) -> float:
        return self.w - 2 * MARGIN_X

    @property
    def bottom(self) -> float:
        return self.h - BOTTOM

    def style(self, size: float, bold: bool = False, color: tuple[int, int, int] = INK) -> None:
        self.set_font(FAMILY, "B" if bold else "", size)
        self.set_text_color(*color)

    def header(self) -> None:
        if self.next_section is not None:  # first page of a section: its title block is the head
            self.section, self.next_section = self.next_section, None
            return
        if self.section is None:
            return
        self.style(9, color=GREY)
        self.set_xy(MARGIN_X, 9)
        self.cell(self.width / 2, 5, f"{self.sheet.title} · {self.section.region_name}（续）")
        self.cell(self.width / 2, 5, f"户籍地：{self.section.full_name}", align="R")
        self.set_draw_color(*LIGHT)
        self.set_line_width(0.3)
        self.line(MARGIN_X, 15, self.w - MARGIN_X, 15)
        self.set_y(19)

    def footer(self) -> None:
        y = self.h - 17
        self.set_draw_color(*GREY)
        self.set_line_width(0.3)
        self.line(MARGIN_X, y, self.w - MARGIN_X, y)
        self.style(8.5, bold=True)
        self.set_xy(MARGIN_X, y + 1.5)
        self.cell(self.width, 4.5, f"提示：{self.sheet.caution}")
        self.style(8, color=GREY)
        self.set_xy(MARGIN_X, y + 6.5)
        name = f"{self.section.region_name} · " if self.section else ""
        self.cell(self.width / 2, 4.5, f"{name}生成日期：{self.sheet.generated_text} · 帮教问答")
        self.cell(self.width / 2, 4.5, f"第 {self.page_no()} 页 / 共 {{nb}} 页", align="R")

    # -- text blocks ---------------------------------------------------------------------------------------

    def measure(self, text: str) -> float:
        """Width of `text` in the current font: the sum of cached character widths (CJK text has no kerning)."""
        widths, style, size = self._widths, self.font_style, self.font_size_pt
        total = 0.0
        for ch in text:
            key = (style, size, ch)
            if key not in widths:
                widths[key] = self.get_string_width(ch)
            total += widths[key]
        return total

    def lines(self, text: str, width: float, size: float, bold: bool = False) -> list[str]:
        self.style(size, bold)
        out: list[str] = []
        for para in text.split("\n"):
            out += wrap_text(para, width, self.measure)
        return out

    def block_height(self, text: str, width: float, size: float, leading: float, bold: bool = False) -> float:
        return len(self.lines(text, width, size, bold)) * leading

    def ensure(self, height: float) -> None:
        """Start a new page unless `height` mm still fit above the footer."""
        if self.get_y() + height > self.bottom:
            self.add_page()

    def paragraph(self, text: str, x: float, width: float, size: float, leading: float, bold: bool = False,
                  color: tuple[int, int, int] = INK, align: str = "J") -> None:
        """Draw wrapped text line by line (continuing on a new page when needed).

        `align` "J" justifies every line but a paragraph's last, "L" aligns left, "C" centres.
        """
        for para in text.split("\n"):
            self.style(size, bold, color)
            wrapped = wrap_text(para, width, self.measure)
            for i, line in enumerate(wrapped):
                self.ensure(leading)
                self.style(size, bold, color)
                spacing = 0.0
                if align == "J" and i < len(wrapped) - 1 and len(line) > 1:
                    gap = (width - self.measure(line)) / (len(line) - 1)
                    spacing = gap * self.k if 0 < gap < size / self.k * 0.6 else 0.0
                self.set_char_spacing(spacing)
                self.set_xy(x, self.get_y())
                self.cell(width, leading, line, align="C" if align == "C" else "L")
                self.set_char_spacing(0)
                self.set_y(self.get_y() + leading)


def _draw_section_head(pdf: SheetPDF, section: SheetSection) -> None:
    sheet = pdf.sheet
    pdf.set_y(TOP)
    pdf.style(28, bold=True)
    pdf.set_x(MARGIN_X)
    pdf.cell(pdf.width, 13, sheet.title, align="C")
    pdf.set_y(pdf.get_y() + 14)
    pdf.style(17, bold=True)
    pdf.cell(pdf.width, 9, f"户籍地：{section.full_name}", align="C")
    pdf.set_y(pdf.get_y() + 10.5)
    pdf.paragraph(sheet.scope_text, MARGIN_X, pdf.width, 10, 5, color=GREY, align="C")
    pdf.style(9, color=GREY)
    pdf.cell(pdf.width, 4.5, f"（{sheet.order_note}）", align="C")
    y = pdf.get_y() + 7
    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.9)
    pdf.line(MARGIN_X, y, pdf.w - MARGIN_X, y)
    pdf.set_line_width(0.25)
    pdf.line(MARGIN_X, y + 1.4, pdf.w - MARGIN_X, y + 1.4)
    pdf.set_y(y + 6)


def _draw_entry(pdf: SheetPDF, entry: SheetEntry) -> None:
    x, width = MARGIN_X + INDENT, pdf.width - INDENT
    sources = entry.sources_text
    q_h = pdf.block_height(entry.question, width, 14, 7.2, bold=True)
    a_h = pdf.block_height(entry.answer, width, 12, 6.5)
    m_h = sum(pdf.block_height(t, width, 8.5, 4.4) for t in (sources, entry.basis_text, entry.checked_text))
    whole = q_h + 1.5 + a_h + 1.5 + m_h
    # Short entries stay on one page; a long one may continue on the next after its question and 3 lines.
    pdf.ensure(whole if whole <= KEEP_WHOLE else q_h + 1.5 + 3 * 6.5)
    y = pdf.get_y()
    pdf.set_fill_color(*INK)
    pdf.rect(MARGIN_X, y + 0.2, BADGE, BADGE, style="F", round_corners=True, corner_radius=1.2)
    pdf.style(11 if entry.number < 10 else 9.5, bold=True, color=(255, 255, 255))
    pdf.set_xy(MARGIN_X, y + 0.2)
    pdf.cell(BADGE, BADGE, str(entry.number), align="C")
    pdf.set_y(y)
    pdf.paragraph(entry.question, x, width, 14, 7.2, bold=True)
    pdf.set_y(pdf.get_y() + 1.5)
    pdf.paragraph(entry.answer, x, width, 12, 6.5)
    pdf.set_y(pdf.get_y() + 1.5)
    pdf.paragraph(sources, x, width, 8.5, 4.4, color=GREY)
    pdf.paragraph(entry.basis_text, x, width, 8.5, 4.4, color=GREY)
    pdf.paragraph(entry.checked_text, x, width, 8.5, 4.4, color=GREY)
    y = pdf.get_y() + 3
    pdf.set_draw_color(*LIGHT)
    pdf.set_line_width(0.3)
    if y < pdf.bottom:
        pdf.line(MARGIN_X, y, pdf.w - MARGIN_X, y)
    pdf.set_y(y + 4)


def _contact_lines(pdf: SheetPDF, section: SheetSection, width: float) -> list[list[tuple[str, str]]]:
    """Contact fields laid out in lines: 单位 and 电话 side by side when both fit, the others full width."""
    rows = section.contact.rows()
    pdf.style(CONTACT_SIZE, bold=True)
    half = width / 2
    first, second = rows[0], rows[1]
    label_w = pdf.measure("办公时间：")
    if all(label_w + pdf.measure(value) + 4 <= half for _, value in (first, second)):
        return [[first, second], *[[row] for row in rows[2:]]]
    return [[row] for row in rows]


CONTACT_SIZE, CONTACT_LEADING, STRIP = 12.0, 6.6, 26.0
CONTACT_NOTE = "电话、地址以司法局公布的为准；不清楚的，可以请监区民警帮你联系。"


def _draw_contact(pdf: SheetPDF, section: SheetSection) -> None:
    """The bureau's contact in a box: a dark strip "有问题 找司法局" and the fields (blank ones say so)."""
    pad = 3.5
    x, y = MARGIN_X, pdf.get_y()
    inner_x, inner_w = x + STRIP + 5, pdf.width - STRIP - 5 - pad
    layout = _contact_lines(pdf, section, inner_w)
    heights = []
    for cells in layout:
        if len(cells) == 2:
            heights.append(CONTACT_LEADING)
        else:
            label, value = cells[0]
            heights.append(pdf.block_height(f"{label}：{value}", inner_w, CONTACT_SIZE, CONTACT_LEADING))
    height = pad + sum(heights) + 5.5 + pad
    pdf.ensure(height + 6)
    y = pdf.get_y()
    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.6)
    pdf.set_fill_color(243, 243, 243)
    pdf.rect(x, y, pdf.width, height, style="DF", round_corners=True, corner_radius=2)
    pdf.set_fill_color(*INK)
    pdf.rect(x, y, STRIP, height, style="F", round_corners=True, corner_radius=2)
    pdf.rect(x + STRIP - 3, y, 3, height, style="F")
    pdf.style(15, bold=True, color=(255, 255, 255))
    for i, text in enumerate(("有问题", "找司法局")):
        pdf.set_xy(x, y + height / 2 - 8 + i * 8)
        pdf.cell(STRIP, 8, text, align="C")
    cy = y + pad
    for cells, h in zip(layout, heights, strict=True):
        cell_w = inner_w / len(cells)
        for j, (label, value) in enumerate(cells):
            pdf.set_xy(inner_x + j * cell_w, cy)
            pdf.style(CONTACT_SIZE, bold=True)
            label_w = pdf.measure("办公时间：")  # values line up under each other
            pdf.cell(label_w, CONTACT_LEADING, f"{label}：")
            value_x = inner_x + j * cell_w + label_w
            pdf.set_y(cy)
            pdf.paragraph(value, value_x, cell_w - (value_x - inner_x - j * cell_w), CONTACT_SIZE, CONTACT_LEADING,
                          bold=value != MISSING, color=GREY if value == MISSING else INK, align="L")
        cy += h
    pdf.style(8.5, color=GREY)
    pdf.set_xy(inner_x, cy + 0.8)
    pdf.cell(inner_w, 4.5, CONTACT_NOTE)
    pdf.set_y(y + height + 6)


def render_pdf(sheet: Sheet, font_dir: Path | None = None) -> bytes:
    """The sheet as an A4 PDF; raises FontMissingError when no CJK font is installed."""
    pdf = SheetPDF(sheet, find_fonts(font_dir))
    for section in sheet.sections:
        pdf.next_section = section
        pdf.add_page()
        _draw_section_head(pdf, section)
        _draw_contact(pdf, section)
        if not section.entries:
            pdf.paragraph("所选主题下暂时还没有经司法局审核的问答。有问题请向监区民警或户籍地司法局咨询。",
                          MARGIN_X, pdf.width, 12, 6.5)
            pdf.set_y(pdf.get_y() + 4)
        for entry in section.entries:
            _draw_entry(pdf, entry)
    return bytes(pdf.output())
