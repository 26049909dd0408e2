"""A wording two approved FAQ entries share (or one entry repeats) is a knowledge-check error."""

from helpers import KNOWLEDGE

from assistant.knowledge.faq import wording_clashes
from assistant.knowledge.loader import load_knowledge
from assistant.knowledge.models import FaqEntry


def entry(ident: str, question: str, *paraphrases: str, status: str = "approved") -> FaqEntry:
    return FaqEntry(ident, "000000", ("employment",), status, question, paraphrases, "答", (), f"faq/{ident}.yaml")


def test_shared_wording_names_both_entries():
    a = entry("faq-a", "出狱后怎么找工作？", "出来咋找活", "路费 救助站")
    b = entry("faq-b", "没钱回家怎么办？", "路费救助站", "回家没钱")
    [problem] = wording_clashes([a, b])
    assert problem.path == "faq/faq-b.yaml" and problem.location == "faq-b paraphrases[1]"
    assert "faq-a" in problem.message and "路费救助站" in problem.message


def test_repeat_inside_one_entry_and_width_case_punctuation_do_not_hide_it():
    a = entry("faq-a", "涟源有没有过渡安置？", "涟源有没有过渡安置", "ＱＱ群有吗", "qq群有吗？")
    problems = wording_clashes([a])
    assert [p.location for p in problems] == ["faq-a paraphrases[1]", "faq-a paraphrases[3]"]
    assert all("问法重复" in p.message for p in problems)


def test_drafts_and_distinct_wordings_pass():
    a = entry("faq-a", "出狱后怎么找工作？", "出来咋找活")
    draft = entry("faq-d", "出狱后怎么找工作？", "出来咋找活", status="draft")
    b = entry("faq-b", "出狱后医保怎么办？", "医保咋整")
    assert wording_clashes([a, draft, b]) == []


def test_the_knowledge_base_has_no_clash():
    kb = load_knowledge(KNOWLEDGE)
    assert wording_clashes(list(kb.faq)) == []
