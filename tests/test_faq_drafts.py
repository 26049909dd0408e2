"""Editing a draft FAQ entry's sources on the bureau's form (pure)."""

from __future__ import annotations

import pytest

from assistant.services.errors import InvalidError
from assistant.services.faq import ADDED_NOTE, bureau_source, sources_from_form

BUREAU = bureau_source("涟源市司法局", 7, __import__("datetime").date(2026, 11, 22))


def test_unchanged_rows_keep_every_field_and_new_rows_are_marked_unchecked():
    rows = sources_from_form([BUREAU], [BUREAU["title"], "中华人民共和国社会保险法", ""],
                             [BUREAU["kind"], "law", "law"], ["", "25", ""], [BUREAU["version"], "2018年修正", ""])
    assert rows[0] is BUREAU
    assert rows[1] == {"title": "中华人民共和国社会保险法", "kind": "law", "article": "25", "version": "2018年修正",
                       "confidence": "secondary", "note": ADDED_NOTE}
    assert len(rows) == 2  # the empty row is dropped


def test_a_changed_row_loses_its_checked_mark_and_bad_rows_are_refused():
    verified = {"title": "中华人民共和国社会保险法", "kind": "law", "article": "25", "version": "2018年修正",
                "confidence": "verified", "law_file": "社会法/社会保险法(2018-12-29).md"}
    rows = sources_from_form([verified], [verified["title"]], ["law"], ["26"], ["2018年修正"])
    assert rows[0]["confidence"] == "secondary" and "law_file" not in rows[0]
    with pytest.raises(InvalidError, match="至少"):
        sources_from_form([verified], [""], ["law"], [""], [""])
    with pytest.raises(InvalidError, match="类型"):
        sources_from_form([], ["某报道"], ["field_report"], [""], ["2026"])
    with pytest.raises(InvalidError, match="不完整"):
        sources_from_form([], ["a", "b"], ["law"], ["1"], ["x"])
