"""Documents: Markdown files with a YAML head; every paragraph cites a source of the head."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from assistant.knowledge.citations import cite_keys, parse_source
from assistant.knowledge.models import Document, Region, Section, Source, Topic
from assistant.knowledge.problems import Collector, common_checks, date_field, text_field, where
from assistant.knowledge.yaml_lines import load_yaml, yaml_error_line

HEADING_RE = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def _split_front_matter(col: Collector, path: Path, text: str) -> tuple[Any, str, int] | None:
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


def _sections(col: Collector, path: Path, body: str, first_line: int, keys: set[str]) -> list[Section]:
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


def load_document(col: Collector, path: Path, ids: dict[str, str], regions: dict[str, Region],
                  topics: dict[str, Topic]) -> Document | None:
    """One document file; None (with problems in `col`) when anything is wrong."""
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
    ident, region, doc_topics = common_checks(col, path, meta, ids, regions, topics)
    title = text_field(meta, "title")
    if not title:
        col.add(path, where(meta, "title"), "缺少标题 title")
    raw_sources = meta.get("sources")
    sources: dict[str, Source] = {}
    if not isinstance(raw_sources, dict) or not raw_sources:
        col.add(path, where(meta, "sources"), "缺少来源 sources（每条内容都必须注明出处）")
    else:
        for key, raw in raw_sources.items():
            src = parse_source(col, path, raw, f"sources.{key}")
            if src:
                sources[str(key)] = src
    sections = _sections(col, path, body, first_line, set(raw_sources or {}))
    if not sections:
        col.add(path, "正文", "文档没有正文段落")
    dates = {k: date_field(col, path, meta, k) for k in ("effective", "reviewed", "review_due")}
    if len(col.problems) > before:
        return None
    return Document(ident or "", title or "", region or "", doc_topics, sources, tuple(sections),
                    col.rel(path), **dates)
