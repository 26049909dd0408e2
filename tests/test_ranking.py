"""Ranking and margin signals on plain items (no model needed)."""

from __future__ import annotations

from assistant.answering.models import ANSWERED, FLAGGED, OUT_OF_SCOPE, SUGGESTED
from assistant.answering.pipeline import (
    NO_DISTRIBUTION,
    distinct_answers,
    overall_status,
    prefer_local,
    relative_confidence,
    route_features,
    same_answer,
)
from assistant.index.items import FAQ, Item
from assistant.index.search import Candidate
from assistant.knowledge.models import Source


def src(article: str, title: str = "中华人民共和国社会保险法") -> Source:
    return Source(title=title, kind="law", article=article, version="2018年修正", confidence="verified")


def item(id: str, region: str = "000000", sources=(), target: str | None = None) -> Item:
    return Item(id, FAQ, target or id, region, id, id, "答案", ("medical_insurance",), tuple(sources), (id,))


def cand(it: Item, relevance: float, locality: int = 0, dense: float | None = None, coverage: float = 0.5) -> Candidate:
    return Candidate(it, dense if dense is not None else relevance, 0.0, coverage, locality, frozenset(), relevance)


def test_items_citing_the_same_provision_say_the_same():
    a, b, c = item("a", sources=[src("25")]), item("b", sources=[src("25")]), item("c", sources=[src("26")])
    assert same_answer(a, b) and not same_answer(a, c)
    assert same_answer(item("x", target="doc"), item("y", target="doc"))


def test_locality_breaks_ties_between_equal_answers_only():
    national = item("national", sources=[src("25")])
    county = item("county", "431382", sources=[src("25")])
    other_county = item("other", "431382", sources=[src("99")])
    tied = prefer_local([cand(national, 0.950), cand(county, 0.948, locality=3)])
    assert tied[0].item.id == "county"  # says the same, as good: the county's own wording first
    worse = prefer_local([cand(national, 0.950), cand(county, 0.930, locality=3)])
    assert worse[0].item.id == "national"  # never lifts a worse match
    different = prefer_local([cand(national, 0.950), cand(other_county, 0.949, locality=3)])
    assert different[0].item.id == "national"  # a different answer is never preferred for being local


def test_margin_is_over_the_best_different_answer_so_siblings_do_not_block():
    best = item("best", sources=[src("25")])
    sibling = item("sibling", sources=[src("25")])
    other = item("other", sources=[src("80")])
    f = route_features([cand(best, 0.95), cand(sibling, 0.949), cand(other, 0.90)])
    assert abs(f.margin - 0.05) < 1e-9
    g = route_features([cand(best, 0.95), cand(other, 0.949)])
    assert g.margin < 0.01


def test_relative_confidence_measures_how_far_the_best_stands_out():
    assert relative_confidence(0.95, [0.80, 0.81, 0.79, 0.80]) > 10
    assert relative_confidence(0.95, [0.94, 0.95, 0.93, 0.945]) < 2
    assert relative_confidence(0.95, [0.9]) == relative_confidence(0.95, []) == NO_DISTRIBUTION  # no spread


def test_choices_each_say_something_different():
    a, b, c = item("a", sources=[src("1")]), item("b", sources=[src("1")]), item("c", sources=[src("2")])
    offered = distinct_answers([cand(a, 0.9), cand(b, 0.89), cand(c, 0.88)], 3)
    assert [x.item.id for x in offered] == ["a", "c"]


def test_overall_status_of_parts():
    assert overall_status([ANSWERED, ANSWERED]) == ANSWERED
    assert overall_status([ANSWERED, SUGGESTED]) == SUGGESTED
    assert overall_status([SUGGESTED, FLAGGED]) == FLAGGED
    assert overall_status([ANSWERED, OUT_OF_SCOPE]) == OUT_OF_SCOPE


def test_a_contact_the_bureau_has_saved_counts_as_stated():
    blank = Item("contact", FAQ, "contact", "431382", "电话", "电话", "司法局电话：【待填写：某县司法局联系电话】。",
                 ("resettlement",), (src("25"),), ("电话",))
    assert not route_features([cand(blank, 0.95)]).has_contact
    filled = "司法局电话：0738-1234567。"
    saved = route_features([cand(blank, 0.95)], lambda it: filled)
    assert saved.has_contact
