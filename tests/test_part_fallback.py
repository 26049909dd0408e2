"""When a resolved question is not answered, the pipeline may try the asker's own words: for a part of a compound
question (never less answerable than asked alone), never for a follow-up that leans on what came before."""

from __future__ import annotations

import pytest

from assistant.answering.decision import Decision, Features
from assistant.answering.models import ANSWERED, FLAGGED
from assistant.answering.pipeline import PartResult
from assistant.dialogue.resolve import Context


@pytest.fixture
def scripted(fake_full_runtime, monkeypatch):
    """The real answerer with `analyse` scripted: the asker's bare words are answerable, anything else is not."""
    answerer = fake_full_runtime.answerer
    searched: list[str] = []

    def analyse(part: str, region_code: str, asked: str = "") -> PartResult:
        searched.append(part)
        status = ANSWERED if part == asked else FLAGGED
        return PartResult(part, Features(None, None, 1, False, False), Decision(status, None, "scripted"), [], [],
                          asked or part)

    monkeypatch.setattr(answerer, "analyse", analyse)
    return answerer, searched


def test_a_compound_part_falls_back_to_its_own_words(scripted):
    answerer, searched = scripted
    parts = answerer.analyse_question("我出去后怎么就业？医保怎么处理？", "431382").parts
    assert [p.decision.status for p in parts] == [ANSWERED, ANSWERED]
    assert "出去后医保怎么处理?" in searched and parts[1].text == "医保怎么处理?"


def test_a_follow_up_is_never_answered_as_if_asked_alone(scripted):
    answerer, searched = scripted
    earlier = "出狱后能迁户口吗"
    ctx = Context(earlier, answerer.slots(earlier))
    part = answerer.analyse_question("那剥夺政治权利期间的呢", "431382", ctx).parts[0]
    assert part.decision.status == FLAGGED and part.text != "那剥夺政治权利期间的呢"
    assert "那剥夺政治权利期间的呢" not in searched and "户口" in part.text
