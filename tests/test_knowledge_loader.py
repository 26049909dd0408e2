"""Loader and validation: the real knowledge base loads; each kind of error is reported with its place."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import KNOWLEDGE

from assistant.knowledge.loader import load_knowledge
from assistant.knowledge.problems import KnowledgeError
from assistant.knowledge.regions import RegionTree, UnknownRegionError


def _problems(root: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(root)
    return [str(p) for p in info.value.problems]


def test_real_knowledge_base_is_valid():
    kb = load_knowledge(KNOWLEDGE)
    assert len(kb.approved_faq) >= 80
    assert {d.region for d in kb.documents} >= {"000000", "431382", "150400"}
    assert all(d.sources and d.sections for d in kb.documents)


def test_mini_kb_loads_with_sections_and_sources(mini_kb: Path):
    kb = load_knowledge(mini_kb)
    doc = kb.documents[0]
    assert doc.id == "national-medical"
    assert [s.heading_path[-1] for s in doc.sections] == ["可以参加哪种医保", "交不起医保费怎么办"]
    assert doc.sources["sb25"].citation == "《中华人民共和国社会保险法》（2018年修正）第25条"
    assert {f.id for f in kb.approved_faq} == {"faq-medical-enrol", "faq-lianyuan-medical"}


def test_uncited_paragraph_is_rejected_with_its_line(mini_kb: Path):
    path = mini_kb / "docs" / "000000" / "national-medical.md"
    text = path.read_text(encoding="utf-8").replace("共同缴纳基本医疗保险费。[@sb23]", "共同缴纳基本医疗保险费。")
    path.write_text(text, encoding="utf-8")
    line = next(i for i, x in enumerate(text.splitlines(), 1) if x.startswith("职工应当"))
    problems = _problems(mini_kb)
    assert any(f"national-medical.md:第{line}行" in p and "没有注明来源" in p for p in problems)


def test_unknown_citation_key_missing_source_and_bad_article(mini_kb: Path):
    path = mini_kb / "docs" / "000000" / "national-medical.md"
    text = path.read_text(encoding="utf-8")
    text = text.replace("[@sb25]\n联系", "[@nosuch]\n联系").replace("article: 23", "article: 第二十三条")
    path.write_text(text, encoding="utf-8")
    faq = mini_kb / "faq" / "000000" / "medical.yaml"
    faq.write_text(faq.read_text(encoding="utf-8").split("  sources:")[0], encoding="utf-8")
    problems = "\n".join(_problems(mini_kb))
    assert "未定义的来源 [@nosuch]" in problems
    assert "sources.sb23.article" in problems and "阿拉伯数字" in problems
    assert "faq/000000/medical.yaml" in problems and "缺少来源 sources" in problems


def test_unknown_region_and_duplicate_id(mini_kb: Path):
    faq = mini_kb / "faq" / "431382" / "lianyuan.yaml"
    faq.write_text(faq.read_text(encoding="utf-8").replace('region: "431382"', 'region: "439999"')
                   .replace("faq-lianyuan-medical", "faq-medical-enrol"), encoding="utf-8")
    problems = "\n".join(_problems(mini_kb))
    assert "未知地区代码：439999" in problems
    assert "id 重复：faq-medical-enrol" in problems


def test_bad_yaml_names_file_and_line(mini_kb: Path):
    faq = mini_kb / "faq" / "000000" / "medical.yaml"
    faq.write_text("- id: x\n  question: [unclosed\n  answer: y\n", encoding="utf-8")
    problems = _problems(mini_kb)
    assert any(p.startswith("faq/000000/medical.yaml:第") and "YAML 格式错误" in p for p in problems)


def test_too_few_paraphrases_for_an_approved_entry(mini_kb: Path):
    faq = mini_kb / "faq" / "000000" / "medical.yaml"
    faq.write_text(faq.read_text(encoding="utf-8").replace(", 坐完牢医保还能接着交不, 出狱了看病报销的保险怎么弄", ""),
                   encoding="utf-8")
    assert any("至少要有 3 种口语问法" in p for p in _problems(mini_kb))


def test_all_errors_are_reported_at_once(mini_kb: Path):
    (mini_kb / "docs" / "000000" / "broken.md").write_text("no front matter", encoding="utf-8")
    (mini_kb / "faq" / "000000" / "bad.yaml").write_text("- id: Bad_Id\n  region: '000000'\n", encoding="utf-8")
    problems = _problems(mini_kb)
    assert any("broken.md" in p for p in problems) and any("bad.yaml" in p for p in problems)


def test_region_resolution_by_name_alias_and_code():
    tree = RegionTree(load_knowledge(KNOWLEDGE).regions)
    assert {tree.resolve(q).code for q in ("涟源", "涟源市", "431382", " 涟源 ")} == {"431382"}
    assert tree.resolve("衡阳市").level == "city"
    assert [r.name for r in tree.chain("431382")] == ["涟源市", "娄底市", "湖南省", "全国"]
    assert len([r for r in tree.all() if r.parent == "150400"]) == 12


def test_unknown_region_lists_close_matches():
    tree = RegionTree(load_knowledge(KNOWLEDGE).regions)
    with pytest.raises(UnknownRegionError) as info:
        tree.resolve("涟原市")
    assert "涟源市" in info.value.suggestions
    assert "涟源市" in str(info.value)


def test_bureau_contact_fields_are_never_invented():
    kb = load_knowledge(KNOWLEDGE)
    listed = [r for r in kb.regions.values() if r.bureau.name]
    assert {"431382", "150426", "430400"} <= {r.code for r in listed}
    for region in kb.regions.values():
        if region.level == "county" and region.code in {"431382", "150426", "430105"}:
            assert region.bureau.name, region.code
        assert region.bureau.phone is None and region.bureau.address is None and region.bureau.hours is None


def test_folded_chinese_answer_has_no_stray_spaces(mini_kb: Path):
    faq = mini_kb / "faq" / "000000" / "medical.yaml"
    text = faq.read_text(encoding="utf-8").replace(
        "answer: 出狱后到户籍地乡镇（街道）社保或医保服务站参加城乡居民医保，具体以当地为准。",
        "answer: >-\n    出狱后到户籍地乡镇（街道）社保或医保服务站参加城乡居民医保。\n    具体以当地为准。")
    faq.write_text(text, encoding="utf-8")
    entry = next(f for f in load_knowledge(mini_kb).faq if f.id == "faq-medical-enrol")
    assert entry.answer == "出狱后到户籍地乡镇（街道）社保或医保服务站参加城乡居民医保。具体以当地为准。"


def test_a_topic_that_is_not_an_item_is_reported_not_a_crash(mini_kb: Path):
    topics = mini_kb / "topics.yaml"
    topics.write_text(topics.read_text(encoding="utf-8") + "- 就业\n", encoding="utf-8")
    assert any(p.startswith("topics.yaml") and "每个主题应是一项" in p for p in _problems(mini_kb))
    topics.write_text("key: employment\nname: 就业\n", encoding="utf-8")
    assert any(p.startswith("topics.yaml") and "应是一个列表" in p for p in _problems(mini_kb))


def test_slot_tables_load_from_the_lexicon_with_the_naming_form_first():
    slots = load_knowledge(KNOWLEDGE).lexicon.slots
    assert slots.people["daughter"][0] == "女儿" and "self" in slots.people
    assert "参军" in slots.activities["army"] and slots.activities["army"][0] == "当兵"
    assert "医疗保险" in slots.subjects["medical"]


@pytest.mark.parametrize(("text", "expected"), [
    ("people: [我, 你\n", "YAML 格式错误"),
    ("- 我\n- 你\n", "应是含 people、activities、subjects、procedures"),
    ("people:\n  self: [我]\njobs:\n  army: [当兵]\n", "未知的表 'jobs'"),
    ("activities: [当兵, 参军]\n", "activities 应是"),
    ("activities:\n  army: 当兵\n", "每组必须是非空的说法"),
    ("activities:\n  army: []\n", "每组必须是非空的说法"),
    ("activities:\n  army: [当兵]\n  police: [警察, 当兵]\n", "已在 activities.army 里"),
    ("people:\n  son: [儿子]\n", "people 必须有 self 组"),
])
def test_a_bad_slots_file_is_reported_with_its_place(mini_kb: Path, text: str, expected: str):
    (mini_kb / "lexicon" / "slots.yaml").write_text(text, encoding="utf-8")
    found = [p for p in _problems(mini_kb) if p.startswith("lexicon/slots.yaml")]
    assert any(expected in p for p in found), found
    assert all("第" in p or "文件" in p for p in found)  # every problem says where it is
