"""Load and validate the knowledge tree; every problem names its file, line/field and cause."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from assistant.knowledge.divisions import load_divisions, with_divisions
from assistant.knowledge.models import (
    LEVELS,
    Bureau,
    Document,
    FaqEntry,
    KnowledgeBase,
    Lexicon,
    Region,
    Section,
    Signals,
    Source,
    Topic,
)
from assistant.knowledge.yaml_lines import LineDict, load_yaml, yaml_error_line

SOURCE_KINDS = ("law", "regulation", "rule", "local", "policy", "field_report")
STATUTE_KINDS = ("law", "regulation", "rule")
CONFIDENCE = ("verified", "secondary", "unverified")
FAQ_STATUS = ("draft", "approved")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
ARTICLE_RE = re.compile(r"^\d+(之[一二三四五六七八九十]+)?$")
CITE_RE = re.compile(r"\[@([^\]]+)\]")
HEADING_RE = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
MIN_PARAPHRASES = 3
_CJK = r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]"
_CJK_GAP_RE = re.compile(rf"(?<={_CJK})\s+(?={_CJK})")


def join_cjk_lines(text: str) -> str:
    """Remove the spaces YAML folding puts between Chinese sentences (e.g. answers written with >-)."""
    return _CJK_GAP_RE.sub("", text)


@dataclass(frozen=True)
class Problem:
    """One validation error: where it is and what is wrong (in Chinese, for bureau staff)."""

    path: str
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.location}: {self.message}"


class KnowledgeError(ValueError):
    """The knowledge tree has errors; nothing is built from it."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"知识库有 {len(problems)} 处错误，未构建索引 (knowledge base has errors):\n{lines}")


def cite_keys(text: str) -> list[str]:
    """Citation keys in `text`: `[@a]`, `[@a; @b]`."""
    keys: list[str] = []
    for group in CITE_RE.findall(text):
        keys += [k.strip().lstrip("@").strip() for k in group.split(";") if k.strip()]
    return keys


def strip_citations(text: str) -> str:
    return CITE_RE.sub("", text).strip()


class _Collector:
    def __init__(self, root: Path):
        self.root = root
        self.problems: list[Problem] = []

    def rel(self, path: Path) -> str:
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)

    def add(self, path: Path, location: str | int, message: str) -> None:
        rel = self.rel(path)
        loc = f"第{location}行" if isinstance(location, int) else location
        self.problems.append(Problem(rel, loc, message))

    def read_yaml(self, path: Path) -> Any:
        try:
            return load_yaml(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            self.add(path, "文件", "不是 UTF-8 编码")
        except yaml.YAMLError as exc:
            line = yaml_error_line(exc)
            self.add(path, line or "文件", f"YAML 格式错误：{getattr(exc, 'problem', exc)}")
        return None


def _where(d: Any, key: str, prefix: str = "") -> str:
    line = d.line_of(key) if isinstance(d, LineDict) else None
    return f"第{line}行 {prefix}{key}" if line else f"{prefix}{key}"


def _text(d: dict, key: str) -> str | None:
    value = d.get(key)
    if value is None:
        return None
    return str(value).strip() or None


def _date(col: _Collector, path: Path, d: dict, key: str) -> date | None:
    value = d.get(key)
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        col.add(path, _where(d, key), f"日期格式应为 YYYY-MM-DD，实际是 {value!r}")
        return None


def _source(col: _Collector, path: Path, raw: Any, where: str) -> Source | None:
    if not isinstance(raw, dict):
        col.add(path, where, "来源必须是一个映射（title/kind/article/version/confidence）")
        return None
    errors_before = len(col.problems)
    title, kind, confidence = _text(raw, "title"), _text(raw, "kind"), _text(raw, "confidence")
    line = f"第{raw.line}行 " if isinstance(raw, LineDict) else ""
    if not title:
        col.add(path, f"{line}{where}.title", "来源缺少标题 title")
    if kind not in SOURCE_KINDS:
        col.add(path, f"{line}{where}.kind", f"来源类型应为 {'/'.join(SOURCE_KINDS)}，实际是 {kind!r}")
    if confidence not in CONFIDENCE:
        col.add(path, f"{line}{where}.confidence", f"核实状态应为 {'/'.join(CONFIDENCE)}，实际是 {confidence!r}")
    article = _text(raw, "article")
    if kind in STATUTE_KINDS and not article:
        col.add(path, f"{line}{where}.article", "法律、法规、规章来源必须写明条号 article")
    if article and not ARTICLE_RE.match(article):
        col.add(path, f"{line}{where}.article", f"条号应写成阿拉伯数字，如 25 或 37之一，实际是 {article!r}")
    version = _text(raw, "version")
    if kind in SOURCE_KINDS and kind != "field_report" and not version:
        col.add(path, f"{line}{where}.version", "来源缺少版本 version（如 2018年修正）")
    report = _text(raw, "report")
    if kind == "field_report" and not report:
        col.add(path, f"{line}{where}.report", "现场报道来源必须写明报道文件 report")
    if len(col.problems) > errors_before:
        return None
    return Source(
        title=title or "", kind=kind or "", confidence=confidence or "", article=article,
        clause=_text(raw, "clause"), version=version, law_file=_text(raw, "law_file"), report=report,
        note=_text(raw, "note"),
    )


def _common_checks(col: _Collector, path: Path, d: dict, ids: dict[str, str], regions: dict[str, Region],
                   topics: dict[str, Topic], prefix: str = "") -> tuple[str | None, str | None, tuple[str, ...]]:
    ident = _text(d, "id")
    if not ident:
        col.add(path, _where(d, "id", prefix), "缺少 id")
    elif not ID_RE.match(ident):
        col.add(path, _where(d, "id", prefix), f"id 只能用小写字母、数字和连字符：{ident!r}")
    elif ident in ids:
        col.add(path, _where(d, "id", prefix), f"id 重复：{ident}（已在 {ids[ident]} 中使用）")
    else:
        ids[ident] = col.rel(path)
    region = d.get("region")
    region = str(region).strip() if region is not None else None
    if not region:
        col.add(path, _where(d, "region", prefix), "缺少地区 region（行政区划代码）")
    elif region not in regions:
        col.add(path, _where(d, "region", prefix), f"未知地区代码：{region}（regions.yaml 和行政区划数据中都没有）")
    raw_topics = d.get("topics") or []
    if not isinstance(raw_topics, list) or not raw_topics:
        col.add(path, _where(d, "topics", prefix), "topics 必须是非空列表")
        raw_topics = []
    for t in raw_topics:
        if t not in topics:
            col.add(path, _where(d, "topics", prefix), f"未知主题：{t}（topics.yaml 中没有）")
    return ident, region, tuple(str(t) for t in raw_topics)


def _load_regions(col: _Collector, path: Path) -> dict[str, Region]:
    raw = col.read_yaml(path)
    regions: dict[str, Region] = {}
    if raw is None:
        return regions
    if not isinstance(raw, list):
        col.add(path, "文件", "regions.yaml 应是地区列表")
        return regions
    for i, item in enumerate(raw, 1):
        where = f"第{getattr(item, 'line', '?')}行 第{i}个地区"
        if not isinstance(item, dict):
            col.add(path, where, "地区必须是映射")
            continue
        code, name, level = _text(item, "code"), _text(item, "name"), _text(item, "level")
        if not code or not re.fullmatch(r"\d{6}", code):
            col.add(path, where, f"code 应为 6 位行政区划代码：{code!r}")
            continue
        if code in regions:
            col.add(path, where, f"地区代码重复：{code}")
            continue
        if not name:
            col.add(path, where, "缺少 name")
        if level not in LEVELS:
            col.add(path, where, f"level 应为 {'/'.join(LEVELS)}：{level!r}")
            continue
        bureau_raw = item.get("bureau") or {}
        bureau = Bureau(**{k: _text(bureau_raw, k) for k in ("name", "phone", "address", "hours")})
        aliases = tuple(str(a) for a in item.get("aliases") or [])
        regions[code] = Region(code, name or code, level, _text(item, "parent"), aliases, bureau)
    divisions = load_divisions()
    for region in regions.values():
        official = divisions.regions.get(region.code)
        if official is not None and official.level != region.level:
            col.add(path, f"地区 {region.code}", f"level 与行政区划数据不符：{region.level}（应为 {official.level}）")
    regions = with_divisions(regions, divisions)
    for region in regions.values():
        if region.parent is not None and region.parent not in regions:
            col.add(path, f"地区 {region.code}", f"上级地区代码不存在：{region.parent}")
    if sum(1 for r in regions.values() if r.parent is None) != 1:
        col.add(path, "文件", "必须有且只有一个没有上级的地区（全国）")
    return regions


def _load_topics(col: _Collector, path: Path) -> dict[str, Topic]:
    raw = col.read_yaml(path)
    topics: dict[str, Topic] = {}
    for item in raw or []:
        key, name = _text(item, "key"), _text(item, "name")
        if not key or not name:
            col.add(path, f"第{getattr(item, 'line', '?')}行", "主题必须有 key 和 name")
            continue
        topics[key] = Topic(key, name, _text(item, "description") or "")
    return topics


def _split_front_matter(col: _Collector, path: Path, text: str) -> tuple[Any, str, int] | None:
    if not text.startswith("---"):
        col.add(path, 1, "文件必须以 YAML 头（---）开始")
        return None
    end = text.find("\n---", 3)
    if end < 0:
        col.add(path, 1, "YAML 头没有结束的 ---")
        return None
    head = text[3:end]
    body_start_line = head.count("\n") + 2
    body = text[end + 4 :].split("\n", 1)[1] if "\n" in text[end + 4 :] else ""
    try:
        meta = load_yaml(head)
    except yaml.YAMLError as exc:
        line = yaml_error_line(exc)
        col.add(path, (line + 1) if line else 1, f"YAML 头格式错误：{getattr(exc, 'problem', exc)}")
        return None
    if not isinstance(meta, dict):
        col.add(path, 1, "YAML 头必须是映射")
        return None
    return meta, body, body_start_line + 1


def _sections(col: _Collector, path: Path, body: str, first_line: int, keys: set[str]) -> list[Section]:
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    buf: list[tuple[int, str]] = []

    def flush() -> None:
        paragraphs: list[tuple[int, list[str]]] = []
        for lineno, line in buf:
            if not line.strip():
                paragraphs.append((lineno, []))
            elif paragraphs and paragraphs[-1][1]:
                paragraphs[-1][1].append(line)
            else:
                paragraphs.append((lineno, [line]))
        kept = [(n, "\n".join(lines)) for n, lines in paragraphs if lines]
        for lineno, para in kept:
            found = cite_keys(para)
            if not found:
                col.add(path, lineno, f"这一段没有注明来源 [@key]：{para[:30]}…")
            for key in found:
                if key not in keys:
                    col.add(path, lineno, f"引用了未定义的来源 [@{key}]")
        if kept:
            heading = tuple(h for _, h in stack)
            sections.append(Section(heading, "\n\n".join(p for _, p in kept), kept[0][0]))
        buf.clear()

    for offset, line in enumerate(body.split("\n")):
        m = HEADING_RE.match(line)
        if m:
            flush()
            level = len(m.group(1))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, m.group(2)))
        else:
            buf.append((first_line + offset, line))
    flush()
    return sections


def _load_document(col: _Collector, path: Path, ids: dict[str, str], regions: dict[str, Region],
                   topics: dict[str, Topic]) -> Document | None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        col.add(path, "文件", "不是 UTF-8 编码")
        return None
    parsed = _split_front_matter(col, path, text)
    if parsed is None:
        return None
    meta, body, first_line = parsed
    before = len(col.problems)
    ident, region, doc_topics = _common_checks(col, path, meta, ids, regions, topics)
    title = _text(meta, "title")
    if not title:
        col.add(path, _where(meta, "title"), "缺少标题 title")
    raw_sources = meta.get("sources")
    sources: dict[str, Source] = {}
    if not isinstance(raw_sources, dict) or not raw_sources:
        col.add(path, _where(meta, "sources"), "缺少来源 sources（每条内容都必须注明出处）")
    else:
        for key, raw in raw_sources.items():
            src = _source(col, path, raw, f"sources.{key}")
            if src:
                sources[str(key)] = src
    sections = _sections(col, path, body, first_line, set(raw_sources or {}))
    if not sections:
        col.add(path, "正文", "文档没有正文段落")
    dates = {k: _date(col, path, meta, k) for k in ("effective", "reviewed", "review_due")}
    if len(col.problems) > before:
        return None
    return Document(ident or "", title or "", region or "", doc_topics, sources, tuple(sections),
                    col.rel(path), **dates)


def _load_faq_file(col: _Collector, path: Path, ids: dict[str, str], regions: dict[str, Region],
                   topics: dict[str, Topic]) -> list[FaqEntry]:
    raw = col.read_yaml(path)
    if raw is None:
        return []
    if not isinstance(raw, list):
        col.add(path, "文件", "FAQ 文件应是条目列表")
        return []
    out: list[FaqEntry] = []
    for i, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            col.add(path, f"第{i}条", "FAQ 条目必须是映射")
            continue
        entry = parse_faq_entry(col, path, item, ids, regions, topics, prefix=f"第{i}条 ")
        if entry:
            out.append(entry)
    return out


def parse_faq_entry(col: _Collector, path: Path, item: dict, ids: dict[str, str], regions: dict[str, Region],
                    topics: dict[str, Topic], prefix: str = "") -> FaqEntry | None:
    """Validate one FAQ mapping; problems go to `col`."""
    before = len(col.problems)
    ident, region, entry_topics = _common_checks(col, path, item, ids, regions, topics, prefix)
    status = _text(item, "status")
    if status not in FAQ_STATUS:
        col.add(path, _where(item, "status", prefix), f"status 应为 draft 或 approved：{status!r}")
    question, answer = _text(item, "question"), _text(item, "answer")
    answer = join_cjk_lines(answer) if answer else answer
    if not question:
        col.add(path, _where(item, "question", prefix), "缺少问题 question")
    if not answer:
        col.add(path, _where(item, "answer", prefix), "缺少回答 answer")
    paraphrases = [str(p).strip() for p in item.get("paraphrases") or [] if str(p).strip()]
    if status == "approved" and len(paraphrases) < MIN_PARAPHRASES:
        col.add(path, _where(item, "paraphrases", prefix),
                f"已发布的条目至少要有 {MIN_PARAPHRASES} 种口语问法，现在只有 {len(paraphrases)} 种")
    raw_sources = item.get("sources")
    sources: list[Source] = []
    if not isinstance(raw_sources, list) or not raw_sources:
        col.add(path, _where(item, "sources", prefix), "缺少来源 sources（回答必须注明出处）")
    else:
        for j, raw in enumerate(raw_sources, 1):
            src = _source(col, path, raw, f"{prefix}sources[{j}]")
            if src:
                sources.append(src)
    dates = {k: _date(col, path, item, k) for k in ("reviewed", "review_due")}
    if len(col.problems) > before:
        return None
    return FaqEntry(ident or "", region or "", entry_topics, status or "", question or "", tuple(paraphrases),
                    answer or "", tuple(sources), col.rel(path), **dates)


def validate_faq_mapping(item: dict, where: str, ids: dict[str, str], regions: dict[str, Region],
                        topics: dict[str, Topic]) -> tuple[FaqEntry | None, list[Problem]]:
    """Check one FAQ mapping from outside the files (e.g. the database) with the same rules as FAQ files."""
    col = _Collector(Path("/"))  # `where` is not under it, so problems keep the name as given
    entry = parse_faq_entry(col, Path(where), item, ids, regions, topics)
    return entry, col.problems


def _load_lexicon(col: _Collector, root: Path) -> Lexicon:
    lex = root / "lexicon"
    userdict: list[tuple[str, int | None, str | None]] = []
    path = lex / "userdict.txt"
    if path.exists():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            parts = line.split()
            if not parts or line.startswith("#"):
                continue
            freq = None
            if len(parts) > 1:
                if not parts[1].isdigit():
                    col.add(path, n, f"词频必须是整数：{parts[1]!r}")
                    continue
                freq = int(parts[1])
            userdict.append((parts[0], freq, parts[2] if len(parts) > 2 else None))
    synonyms: dict[str, tuple[str, ...]] = {}
    path = lex / "synonyms.yaml"
    if path.exists():
        raw = col.read_yaml(path) or {}
        if not isinstance(raw, dict):
            col.add(path, "文件", "synonyms.yaml 应是 {规范词: [口语说法, …]} 映射")
        else:
            for formal, forms in raw.items():
                if not isinstance(forms, list) or not all(isinstance(f, str) for f in forms):
                    col.add(path, _where(raw, str(formal)), "口语说法必须是字符串列表")
                    continue
                synonyms[str(formal)] = tuple(forms)
    stopwords: frozenset[str] = frozenset()
    path = lex / "stopwords.txt"
    if path.exists():
        stopwords = frozenset(w.strip() for w in path.read_text(encoding="utf-8").splitlines()
                              if w.strip() and not w.startswith("#"))
    signals = Signals()
    path = lex / "signals.yaml"
    if path.exists():
        raw = col.read_yaml(path) or {}
        lists: dict[str, tuple[str, ...]] = {}
        for key in ("crisis", "individual_case", "domain", "asks_amount", "asks_contact"):
            values = raw.get(key) or [] if isinstance(raw, dict) else []
            for v in values:
                try:
                    re.compile(str(v))
                except re.error as exc:
                    col.add(path, _where(raw, key), f"正则表达式错误 {v!r}：{exc}")
            lists[key] = tuple(str(v) for v in values)
        signals = Signals(**lists)
    return Lexicon(tuple(userdict), synonyms, stopwords, signals, _load_conditions(col, lex / "conditions.yaml"))


def _load_conditions(col: _Collector, path: Path) -> dict[str, tuple[str, ...]]:
    """Defining conditions: a mapping of name -> list of regular expressions."""
    if not path.exists():
        return {}
    raw = col.read_yaml(path) or {}
    if not isinstance(raw, dict):
        col.add(path, 1, "条件表必须是 名称: [正则表达式] 的映射")
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for name, patterns in raw.items():
        if not isinstance(patterns, list) or not patterns:
            col.add(path, _where(raw, str(name)), "条件的写法必须是非空的正则表达式列表")
            continue
        for v in patterns:
            try:
                re.compile(str(v))
            except re.error as exc:
                col.add(path, _where(raw, str(name)), f"正则表达式错误 {v!r}：{exc}")
        out[str(name)] = tuple(str(v) for v in patterns)
    return out


def content_hash(root: Path) -> str:
    """SHA-256 over every knowledge file's path and bytes (what the index was built from)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in {".md", ".yaml", ".txt"}):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def load_knowledge(root: Path) -> KnowledgeBase:
    """Load the knowledge tree at `root`; raise KnowledgeError listing every problem found."""
    root = Path(root)
    col = _Collector(root)
    if not root.is_dir():
        raise KnowledgeError([Problem(str(root), "目录", "知识库目录不存在")])
    regions = _load_regions(col, root / "regions.yaml")
    topics = _load_topics(col, root / "topics.yaml")
    ids: dict[str, str] = {}
    documents = [d for p in sorted((root / "docs").rglob("*.md"))
                 if (d := _load_document(col, p, ids, regions, topics))]
    faq = [e for p in sorted((root / "faq").rglob("*.yaml")) for e in _load_faq_file(col, p, ids, regions, topics)]
    lexicon = _load_lexicon(col, root)
    if col.problems:
        raise KnowledgeError(col.problems)
    return KnowledgeBase(regions, topics, tuple(documents), tuple(faq), lexicon, content_hash(root))
