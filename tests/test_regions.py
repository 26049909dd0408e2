"""The whole division tree: resolution by name, short name, code, city + county, old names; search; chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import knowledge_of

from assistant.knowledge.divisions import load_divisions
from assistant.knowledge.regions import AmbiguousRegionError, RegionTree, UnknownRegionError, short_name

KNOWLEDGE = Path(__file__).resolve().parents[1] / "knowledge"


@pytest.fixture(scope="module")
def tree() -> RegionTree:
    return RegionTree(knowledge_of(KNOWLEDGE).regions)


def test_every_county_level_unit_is_in_the_tree(tree: RegionTree):
    divisions = load_divisions()
    counties = tree.counties()
    assert 2800 < len(counties) < 2900
    assert len([r for r in tree.all() if r.level == "province"]) == 31
    assert divisions.meta["fetched_at"].startswith("2026-09")
    for county in counties:  # every county's chain ends at national through its province
        chain = tree.chain(county.code)
        assert chain[-1].code == "000000" and chain[-2].level == "province", county.code


def test_listed_regions_keep_their_bureau_and_aliases(tree: RegionTree):
    assert tree["431382"].bureau.name == "涟源市司法局"
    assert tree.resolve("翁旗").code == "150426"
    assert tree["430321"].bureau.name is None  # 湘潭县: nothing known about its bureau, nothing invented


@pytest.mark.parametrize(("query", "code"), [
    ("湘潭县", "430321"), ("430321", "430321"), ("北京市朝阳区", "110105"), ("北京朝阳区", "110105"),
    ("湖南湘潭县", "430321"), ("湖南省湘潭市湘潭县", "430321"), ("科尔沁区", "150502"), ("城步", "430529"),
    ("城步苗族自治县", "430529"), ("神农架林区", "429021"), ("东莞市", "441900"), ("涟源", "431382"),
])
def test_resolution_by_name_short_name_code_and_city(tree: RegionTree, query: str, code: str):
    found = tree.resolve_note(query)
    assert found.region.code == code
    assert found.note is None


@pytest.mark.parametrize(("query", "code", "now"), [
    ("邵东县", "430582", "邵东市"), ("望城县", "430112", "望城区"), ("长沙市望城县", "430112", "望城区"),
    ("430122", "430112", "望城区"), ("郫县", "510117", "郫都区"), ("通辽县", "150502", "科尔沁区"),
])
def test_old_names_and_codes_resolve_to_todays_county_with_a_note(tree: RegionTree, query: str, code: str,
                                                                 now: str):
    found = tree.resolve_note(query)
    assert found.region.code == code
    assert found.note and query in found.note and now in found.note


def test_ambiguous_names_return_candidates(tree: RegionTree):
    with pytest.raises(AmbiguousRegionError) as info:
        tree.resolve("朝阳区")
    assert {r.code for r in info.value.candidates} == {"110105", "220104"}
    assert "北京市朝阳区" in str(info.value)
    assert {r.code for r in tree.candidates("鼓楼区")} >= {"320106", "350102"}


def test_unknown_names_fail_with_close_matches(tree: RegionTree):
    with pytest.raises(UnknownRegionError) as info:
        tree.resolve("湘谭县")
    assert "湘潭县" in info.value.suggestions
    with pytest.raises(UnknownRegionError):
        tree.resolve("东北省")


def test_short_names():
    assert short_name("保亭黎族苗族自治县") == "保亭"
    assert short_name("湘潭县") == "湘潭"
    assert short_name("南区") == "南区"


def test_search_by_characters_pinyin_initials_and_code(tree: RegionTree):
    assert "430321" in [r.code for r, _ in tree.search("湘潭")][:3]
    assert "430321" in [r.code for r, _ in tree.search("xt", limit=20)]
    assert [r.code for r, _ in tree.search("430321")] == ["430321"]
    assert all(r.code.startswith("4303") for r, _ in tree.search("4303"))
    hits = tree.search("邵东县")
    assert hits[0][0].code == "430582"
    assert all(r.level == "county" for r, _ in tree.search("长沙"))


def test_search_ranks_the_prisons_frequent_counties_first(tree: RegionTree):
    plain = [r.code for r, _ in tree.search("xt", limit=50)]
    assert plain.index("430321") > 0
    boosted = [r.code for r, _ in tree.search("xt", boost={"430321": 7, "431382": 3})]
    assert boosted[0] == "430321"
    # counties of the boosted provinces come before namesakes elsewhere
    assert boosted.index("431128") < boosted.index("130125")  # 新田县 (湖南) before 行唐县 (河北)


def test_bureau_region_never_routes_a_county_to_the_province(tree: RegionTree):
    assert tree.bureau_region("430321").code == "430321"  # 湘潭县: its own bureau, not 湖南省司法厅
    assert tree.bureau_region("430421").code == "430400"  # 衡阳县: 衡阳市司法局 takes part directly
    assert tree.bureau_region("431382").code == "431382"


def test_search_takes_full_width_digits_and_city_plus_county(tree: RegionTree):
    assert all(r.code.startswith("4303") for r, _ in tree.search("４３０３"))
    assert [r.code for r, _ in tree.search("长沙望城")] == ["430112"]
    assert [r.code for r, _ in tree.search("北京朝阳")] == ["110105"]
    assert tree.search("%") == [] and tree.search("  ") == []
    assert tree.resolve("４３１３８２").code == "431382"
