"""The one sentence on how current an answer's legal basis is and when it was reviewed."""

from __future__ import annotations

from datetime import date

from helpers import KNOWLEDGE, knowledge_of

from assistant.answering.basis import basis_note
from assistant.answering.models import ANSWERED, FLAGGED, Answer, PartAnswer, Suggestion
from assistant.index.items import knowledge_items


def test_the_sentence_names_the_statute_snapshot_and_the_review_dates() -> None:
    assert basis_note() == "依据的法律法规截至2025年4月。"
    assert basis_note([date(2026, 11, 22)]) == "依据的法律法规截至2025年4月；本条内容复核于2026年11月22日。"
    assert basis_note(["2026-11-27", "2026-11-22", "2026-11-27", "", None, "not a date"]) == (
        "依据的法律法规截至2025年4月；本条内容复核于2026年11月22日、2026年11月27日。")


def _answer(parts: list[PartAnswer], suggestions: list[Suggestion] | None = None) -> Answer:
    return Answer("问", "涟源市", parts[0].status, "答", [], None, parts, suggestions=suggestions or [])


def test_an_answer_dates_only_its_answered_parts() -> None:
    answered = PartAnswer("医保咋办", ANSWERED, "……", reviewed=["2026-11-22"])
    flagged = PartAnswer("我的减刑什么时候批", FLAGGED, "……", reviewed=[])
    both = _answer([answered, flagged])
    assert both.basis == "依据的法律法规截至2025年4月；本条内容复核于2026年11月22日。"
    assert both.public()["basis"] == both.basis
    assert _answer([flagged]).basis is None and _answer([flagged]).public()["basis"] is None
    choice = Suggestion("faq-x", "出狱后医保怎么办？", "……", [], "2026-11-27")
    assert choice.public()["basis"] == "依据的法律法规截至2025年4月；本条内容复核于2026年11月27日。"


def test_every_searchable_item_carries_its_files_review_date() -> None:
    kb = knowledge_of(KNOWLEDGE)
    dated = {d.id: d.reviewed for d in kb.documents} | {f.id: f.reviewed for f in kb.faq}
    items = knowledge_items(kb)
    assert items and all(i.reviewed == dated[i.target].isoformat() for i in items)
