"""Validation problems and the collector every knowledge parser reports to; the field checks they share."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from assistant.knowledge.models import Region, Topic
from assistant.knowledge.yaml_lines import LineDict, load_yaml, yaml_error_line

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


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


class Collector:
    """Gathers the problems of one load; paths are shown relative to the knowledge root."""

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


def where(d: Any, key: str, prefix: str = "") -> str:
    """The location of `key` in a mapping: its line when known."""
    line = d.line_of(key) if isinstance(d, LineDict) else None
    return f"第{line}行 {prefix}{key}" if line else f"{prefix}{key}"


def text_field(d: dict, key: str) -> str | None:
    """A stripped string value, or None when missing or blank."""
    value = d.get(key)
    if value is None:
        return None
    return str(value).strip() or None


def date_field(col: Collector, path: Path, d: dict, key: str) -> date | None:
    """A YYYY-MM-DD value, or None (with a problem when it is not a date)."""
    value = d.get(key)
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        col.add(path, where(d, key), f"日期格式应为 YYYY-MM-DD，实际是 {value!r}")
        return None


def common_checks(col: Collector, path: Path, d: dict, ids: dict[str, str], regions: dict[str, Region],
                  topics: dict[str, Topic], prefix: str = "") -> tuple[str | None, str | None, tuple[str, ...]]:
    """The id (unique), region (known) and topics (known, non-empty) every document and FAQ entry has."""
    ident = text_field(d, "id")
    if not ident:
        col.add(path, where(d, "id", prefix), "缺少 id")
    elif not ID_RE.match(ident):
        col.add(path, where(d, "id", prefix), f"id 只能用小写字母、数字和连字符：{ident!r}")
    elif ident in ids:
        col.add(path, where(d, "id", prefix), f"id 重复：{ident}（已在 {ids[ident]} 中使用）")
    else:
        ids[ident] = col.rel(path)
    region = d.get("region")
    region = str(region).strip() if region is not None else None
    if not region:
        col.add(path, where(d, "region", prefix), "缺少地区 region（行政区划代码）")
    elif region not in regions:
        col.add(path, where(d, "region", prefix), f"未知地区代码：{region}（regions.yaml 和行政区划数据中都没有）")
    raw_topics = d.get("topics") or []
    if not isinstance(raw_topics, list) or not raw_topics:
        col.add(path, where(d, "topics", prefix), "topics 必须是非空列表")
        raw_topics = []
    for t in raw_topics:
        if t not in topics:
            col.add(path, where(d, "topics", prefix), f"未知主题：{t}（topics.yaml 中没有）")
    return ident, region, tuple(str(t) for t in raw_topics)
