"""Printable FAQ sheets for prison notice boards: data (content), Word (docx_render) and PDF (pdf_render)."""

from assistant.sheets.content import Sheet, SheetEntry, SheetRequest, SheetSection, build_sheet

__all__ = ["Sheet", "SheetEntry", "SheetRequest", "SheetSection", "build_sheet"]
