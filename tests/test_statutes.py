"""Statute importer and citation checks against the LawRefBook-layout texts."""

from __future__ import annotations

from pathlib import Path

from helpers import KNOWLEDGE

from assistant.knowledge.loader import load_knowledge
from assistant.knowledge.statutes import (
    check_citations,
    chinese_number,
    load_statute,
    newer_version,
    parse_statute,
    statute_markdown,
    statute_versions,
)

SAMPLE = """# 中华人民共和国示例法

2020年1月1日 通过

<!-- INFO END -->

## 第一章 总则

第一条 为了示例，制定本法。

第二条 第一款内容。

第二款内容。

第三条之一 增加的条文。
"""


def test_chinese_numbers():
    assert [chinese_number(x) for x in ("一", "十", "十三", "二十", "一百零一", "二百八十六", "四百五十二")] == [
        1, 10, 13, 20, 101, 286, 452]


def test_parse_statute_articles_paragraphs_and_headings():
    s = parse_statute(SAMPLE)
    assert s.title == "中华人民共和国示例法"
    assert [a.number for a in s.articles] == ["1", "2", "3之一"]
    assert s.article("2").text == "第二条 第一款内容。\n第二款内容。"
    assert s.article("1").heading_path == ("第一章 总则",)
    assert "2020年1月1日" in s.preamble


def test_real_statute_files_parse(laws_dir: Path):
    criminal = load_statute(laws_dir / "刑法" / "刑法.md")
    assert criminal.article("133之一").text.startswith("第一百三十三条之一")
    assert criminal.article("100") is not None
    prison = load_statute(laws_dir / "行政法" / "监狱法(2012-10-26).md")
    assert "释放证明书" in prison.article("35").text
    assert prison.article("35").heading_path[-1] == "第五节 释放和安置"


def test_every_cited_article_exists_in_the_statute_files(laws_dir: Path):
    problems = check_citations(load_knowledge(KNOWLEDGE), laws_dir)
    assert problems == []


def test_citation_check_catches_a_missing_article(mini_kb: Path, laws_dir: Path):
    path = mini_kb / "docs" / "000000" / "national-medical.md"
    path.write_text(path.read_text(encoding="utf-8").replace("article: 25", "article: 999"), encoding="utf-8")
    problems = check_citations(load_knowledge(mini_kb), laws_dir)
    assert [p.message for p in problems] == ["《中华人民共和国社会保险法》中没有第999条"]


def test_imported_statute_is_a_valid_document_with_article_citations(mini_kb: Path, laws_dir: Path):
    rel = "行政法/法律援助法(2021-08-20).md"
    statute = load_statute(laws_dir / rel)
    text = statute_markdown(statute, "law-legal-aid", "000000", "2021年8月20日通过", rel, ["legal_aid"])
    (mini_kb / "docs" / "000000" / "law-legal-aid.md").write_text(text, encoding="utf-8")
    kb = load_knowledge(mini_kb)
    doc = next(d for d in kb.documents if d.id == "law-legal-aid")
    assert len(doc.sections) == len(statute.articles) > 60
    section = next(s for s in doc.sections if s.heading_path[-1].startswith("第39条"))
    assert "二十四小时" in section.text and "[@a39]" in section.text
    assert doc.sources["a39"].citation.endswith("第39条")
    assert check_citations(kb, laws_dir) == []


def _tiny_law(title: str) -> str:
    return f"# {title}\n\n<!-- INFO END -->\n\n第二十三条 职工参加医保。\n\n第二十五条 低保人员参保有补贴。\n"


def test_citation_check_flags_a_cited_law_file_with_a_newer_version(mini_kb: Path, tmp_path: Path):
    laws = tmp_path / "laws"
    (laws / "社会法").mkdir(parents=True)
    cited = laws / "社会法" / "社会保险法(2018-12-29).md"
    cited.write_text(_tiny_law("中华人民共和国社会保险法"), encoding="utf-8")
    (laws / "社会法" / "社会保险法(2010-10-28).md").write_text(_tiny_law("中华人民共和国社会保险法"), encoding="utf-8")
    (laws / "社会法" / "劳动法(2030-01-01).md").write_text(_tiny_law("中华人民共和国劳动法"), encoding="utf-8")
    kb = load_knowledge(mini_kb)
    assert check_citations(kb, laws) == []  # an older version and other laws' later dates do not count

    (laws / "行政法").mkdir()
    (laws / "行政法" / "社会保险法(2026-01-01).md").write_text(_tiny_law("中华人民共和国社会保险法"), encoding="utf-8")
    (laws / "社会法" / "社会保险法(2025-06-30).md").write_text(_tiny_law("中华人民共和国社会保险法"), encoding="utf-8")
    problems = check_citations(kb, laws)
    # one problem per document / FAQ entry, naming the newest version, although the document cites two articles
    assert sorted((p.path.split("/")[-1], p.location) for p in problems) == [
        ("medical.yaml", "faq-medical-enrol"), ("national-medical.md", "sb23")]
    assert all("社会法/社会保险法(2018-12-29).md → 行政法/社会保险法(2026-01-01).md" in p.message for p in problems)


def test_newer_version_ignores_undated_files(tmp_path: Path):
    (tmp_path / "刑法").mkdir()
    (tmp_path / "刑法" / "刑法.md").write_text("# 中华人民共和国刑法\n", encoding="utf-8")
    (tmp_path / "刑法" / "刑法(2099-01-01).md").write_text("# 中华人民共和国刑法\n", encoding="utf-8")
    versions = statute_versions(tmp_path)
    assert versions == {"刑法": [("2099-01-01", "刑法/刑法(2099-01-01).md")]}
    assert newer_version("刑法/刑法.md", versions) is None
    assert newer_version("刑法/刑法(2020-01-01).md", versions) == "刑法/刑法(2099-01-01).md"
