"""Statute texts in the LawRefBook Markdown layout: parse articles, import them, check citations."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from assistant.knowledge.models import KnowledgeBase
from assistant.knowledge.problems import Problem

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
ARTICLE_RE = re.compile(r"^第([零〇一二两三四五六七八九十百千]+)条(之[一二三四五六七八九十]+)?[\s　]*(.*)$")


def chinese_number(text: str) -> int:
    """二百八十六 → 286, 十三 → 13."""
    total, current = 0, 0
    for ch in text:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        elif ch in _UNITS:
            total += (current or 1) * _UNITS[ch]
            current = 0
        else:
            raise ValueError(f"not a Chinese numeral: {text!r}")
    return total + current


@dataclass(frozen=True)
class Article:
    number: str  # Arabic, e.g. "286" or "133之一"
    text: str
    heading_path: tuple[str, ...]


@dataclass(frozen=True)
class Statute:
    title: str
    preamble: str  # the lines before <!-- INFO END -->: adoption and amendment dates
    articles: tuple[Article, ...]

    def article(self, number: str) -> Article | None:
        return next((a for a in self.articles if a.number == number), None)


def parse_statute(text: str) -> Statute:
    """Parse one statute file: `# title`, header lines, `##` chapters, articles as "第X条" lines."""
    title = ""
    head, _, body = text.partition("<!-- INFO END -->")
    if not body:
        head, body = "", text
    for line in (head or text).splitlines():
        if line.startswith("# "):
            title = line[2:].strip()
            break
    preamble = "\n".join(x.strip() for x in head.splitlines() if x.strip() and not x.startswith("#"))
    articles: list[Article] = []
    headings: list[tuple[int, str]] = []
    current: tuple[str, list[str]] | None = None

    def flush() -> None:
        if current:
            articles.append(Article(current[0], "\n".join(current[1]).strip(), tuple(h for _, h in headings)))

    for line in body.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            flush()
            current = None
            level = len(stripped) - len(stripped.lstrip("#"))
            while headings and headings[-1][0] >= level:
                headings.pop()
            headings.append((level, stripped.lstrip("#").strip()))
            continue
        m = ARTICLE_RE.match(stripped)
        if m:
            flush()
            number = str(chinese_number(m.group(1))) + (m.group(2) or "")
            current = (number, [stripped])
        elif current and stripped:
            current[1].append(stripped)
    flush()
    return Statute(title, preamble, tuple(articles))


def load_statute(path: Path) -> Statute:
    return parse_statute(Path(path).read_text(encoding="utf-8"))


def statute_markdown(statute: Statute, doc_id: str, region: str, version: str, law_file: str,
                     topics: list[str]) -> str:
    """A knowledge document with one section per article, each citing exactly that article."""
    import yaml

    sources = {
        f"a{a.number}": {"title": statute.title, "kind": "law",
                         "article": a.number, "version": version, "law_file": law_file,
                         "confidence": "verified"}
        for a in statute.articles
    }
    meta = {"id": doc_id, "title": statute.title, "region": region, "topics": topics, "sources": sources}
    lines = ["---", yaml.safe_dump(meta, allow_unicode=True, sort_keys=False).strip(), "---", "",
             f"# {statute.title}", ""]
    for a in statute.articles:
        label = "第" + a.number.replace("之", "条之", 1) if "之" in a.number else f"第{a.number}条"
        path = " / ".join(h for h in a.heading_path if h != statute.title)
        lines += [f"## {label}" + (f"（{path}）" if path else ""), "", f"{a.text}[@a{a.number}]", ""]
    return "\n".join(lines)


VERSIONED_NAME_RE = re.compile(r"^(?P<name>.+)\((?P<date>\d{4}-\d{2}-\d{2})\)\.md$")


def statute_versions(laws_dir: Path) -> dict[str, list[tuple[str, str]]]:
    """Law name → [(date, path inside laws_dir), ...] for files named like `名称(2018-12-29).md`, oldest first."""
    versions: dict[str, list[tuple[str, str]]] = {}
    for file in sorted(Path(laws_dir).rglob("*.md")):
        m = VERSIONED_NAME_RE.match(file.name)
        if m:
            versions.setdefault(m["name"], []).append((m["date"], file.relative_to(laws_dir).as_posix()))
    for entries in versions.values():
        entries.sort()
    return versions


def newer_version(law_file: str, versions: dict[str, list[tuple[str, str]]]) -> str | None:
    """The newest file of the same law with a later date than `law_file`, or None (also for undated files)."""
    m = VERSIONED_NAME_RE.match(Path(law_file).name)
    if not m:
        return None
    later = [path for date, path in versions.get(m["name"], []) if date > m["date"]]
    return later[-1] if later else None


def check_citations(kb: KnowledgeBase, laws_dir: Path) -> list[Problem]:
    """Every source with a `law_file` must name a file that exists and an article that file contains,
    and must cite the newest version of that law in the statute texts (one problem per document or
    FAQ entry and outdated file)."""
    cache: dict[str, Statute | None] = {}
    problems: list[Problem] = []
    versions = statute_versions(laws_dir)
    outdated: set[tuple[str, str, str]] = set()
    cited = [(d.path, d.id, key, s) for d in kb.documents for key, s in d.sources.items()]
    cited += [(f.path, f.id, f.id, s) for f in kb.faq for s in f.sources]
    for path, owner, where, source in cited:
        if not source.law_file:
            continue
        newer = newer_version(source.law_file, versions)
        if newer and (path, owner, source.law_file) not in outdated:
            outdated.add((path, owner, source.law_file))
            problems.append(Problem(path, where, f"引用的法规文件有更新的版本：{source.law_file} → {newer}，"
                                                 f"请核对条文后改引新版本"))
        if source.law_file not in cache:
            file = Path(laws_dir) / source.law_file
            cache[source.law_file] = load_statute(file) if file.exists() else None
        statute = cache[source.law_file]
        if statute is None:
            problems.append(Problem(path, where, f"法规文件不存在：{source.law_file}"))
        elif source.article and statute.article(source.article) is None:
            problems.append(Problem(path, where, f"《{statute.title}》中没有第{source.article}条"))
    return problems
