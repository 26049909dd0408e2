"""Citations: `[@key]` markers in text and the source mappings they point to."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from assistant.knowledge.models import Source
from assistant.knowledge.problems import Collector, text_field
from assistant.knowledge.yaml_lines import LineDict

SOURCE_KINDS = ("law", "regulation", "rule", "local", "policy", "field_report")
STATUTE_KINDS = ("law", "regulation", "rule")
CONFIDENCE = ("verified", "secondary", "unverified")
ARTICLE_RE = re.compile(r"^\d+(之[一二三四五六七八九十]+)?$")
CITE_RE = re.compile(r"\[@([^\]]+)\]")


def cite_keys(text: str) -> list[str]:
    """Citation keys in `text`: `[@a]`, `[@a; @b]`."""
    keys: list[str] = []
    for group in CITE_RE.findall(text):
        keys += [k.strip().lstrip("@").strip() for k in group.split(";") if k.strip()]
    return keys


def strip_citations(text: str) -> str:
    return CITE_RE.sub("", text).strip()


def parse_source(col: Collector, path: Path, raw: Any, where: str) -> Source | None:
    """One source mapping (title/kind/article/version/confidence); None with problems when it is incomplete."""
    if not isinstance(raw, dict):
        col.add(path, where, "来源必须是一个映射（title/kind/article/version/confidence）")
        return None
    errors_before = len(col.problems)
    title, kind, confidence = text_field(raw, "title"), text_field(raw, "kind"), text_field(raw, "confidence")
    line = f"第{raw.line}行 " if isinstance(raw, LineDict) else ""
    if not title:
        col.add(path, f"{line}{where}.title", "来源缺少标题 title")
    if kind not in SOURCE_KINDS:
        col.add(path, f"{line}{where}.kind", f"来源类型应为 {'/'.join(SOURCE_KINDS)}，实际是 {kind!r}")
    if confidence not in CONFIDENCE:
        col.add(path, f"{line}{where}.confidence", f"核实状态应为 {'/'.join(CONFIDENCE)}，实际是 {confidence!r}")
    article = text_field(raw, "article")
    if kind in STATUTE_KINDS and not article:
        col.add(path, f"{line}{where}.article", "法律、法规、规章来源必须写明条号 article")
    if article and not ARTICLE_RE.match(article):
        col.add(path, f"{line}{where}.article", f"条号应写成阿拉伯数字，如 25 或 37之一，实际是 {article!r}")
    version = text_field(raw, "version")
    if kind in SOURCE_KINDS and kind != "field_report" and not version:
        col.add(path, f"{line}{where}.version", "来源缺少版本 version（如 2018年修正）")
    report = text_field(raw, "report")
    if kind == "field_report" and not report:
        col.add(path, f"{line}{where}.report", "现场报道来源必须写明报道文件 report")
    if len(col.problems) > errors_before:
        return None
    return Source(
        title=title or "", kind=kind or "", confidence=confidence or "", article=article,
        clause=text_field(raw, "clause"), version=version, law_file=text_field(raw, "law_file"), report=report,
        note=text_field(raw, "note"),
    )
