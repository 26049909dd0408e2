"""The lexicon folder: user dictionary, synonyms, stop words, signal patterns, defining conditions and the
dialogue slots' words."""

from __future__ import annotations

import re
from pathlib import Path

from assistant.knowledge.models import Lexicon, Signals, SlotTables
from assistant.knowledge.problems import Collector, where

SIGNAL_LISTS = ("crisis", "individual_case", "domain", "asks_amount", "asks_contact")
SLOT_TABLES = ("people", "activities", "subjects", "procedures")


def _userdict(col: Collector, path: Path) -> tuple[tuple[str, int | None, str | None], ...]:
    """jieba's user dictionary: word [frequency [tag]] per line."""
    userdict: list[tuple[str, int | None, str | None]] = []
    if not path.exists():
        return ()
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
    return tuple(userdict)


def _synonyms(col: Collector, path: Path) -> dict[str, tuple[str, ...]]:
    """{formal word: [spoken forms, …]}."""
    synonyms: dict[str, tuple[str, ...]] = {}
    if not path.exists():
        return synonyms
    raw = col.read_yaml(path) or {}
    if not isinstance(raw, dict):
        col.add(path, "文件", "synonyms.yaml 应是 {规范词: [口语说法, …]} 映射")
        return synonyms
    for formal, forms in raw.items():
        if not isinstance(forms, list) or not all(isinstance(f, str) for f in forms):
            col.add(path, where(raw, str(formal)), "口语说法必须是字符串列表")
            continue
        synonyms[str(formal)] = tuple(forms)
    return synonyms


def _stopwords(path: Path) -> frozenset[str]:
    if not path.exists():
        return frozenset()
    return frozenset(w.strip() for w in path.read_text(encoding="utf-8").splitlines()
                     if w.strip() and not w.startswith("#"))


def _check_patterns(col: Collector, path: Path, location: str, values) -> None:
    for v in values:
        try:
            re.compile(str(v))
        except re.error as exc:
            col.add(path, location, f"正则表达式错误 {v!r}：{exc}")


def _signals(col: Collector, path: Path) -> Signals:
    """Regular expressions per signal (crisis, individual case, …)."""
    if not path.exists():
        return Signals()
    raw = col.read_yaml(path) or {}
    lists: dict[str, tuple[str, ...]] = {}
    for key in SIGNAL_LISTS:
        values = raw.get(key) or [] if isinstance(raw, dict) else []
        _check_patterns(col, path, where(raw, key), values)
        lists[key] = tuple(str(v) for v in values)
    return Signals(**lists)


def load_conditions(col: Collector, path: Path) -> dict[str, tuple[str, ...]]:
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
            col.add(path, where(raw, str(name)), "条件的写法必须是非空的正则表达式列表")
            continue
        _check_patterns(col, path, where(raw, str(name)), patterns)
        out[str(name)] = tuple(str(v) for v in patterns)
    return out


def _slot_table(col: Collector, path: Path, raw: dict, key: str) -> dict[str, tuple[str, ...]]:
    """One table of slots.yaml: {group: [forms, …]}, every form a non-empty word in one group only."""
    table = raw.get(key)
    if table is None:
        return {}
    if not isinstance(table, dict):
        col.add(path, where(raw, key), f"{key} 应是 {{组名: [说法, …]}} 映射")
        return {}
    out: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for group, forms in table.items():
        place = where(table, str(group), f"{key}.")
        if not isinstance(forms, list) or not forms or not all(isinstance(f, str) and f.strip() for f in forms):
            col.add(path, place, "每组必须是非空的说法（字符串）列表，第一个说法是这一组在补全后的问题里的叫法")
            continue
        words = tuple(f.strip() for f in forms)
        for w in words:
            if w in seen and seen[w] != str(group):
                col.add(path, place, f"说法 {w!r} 已在 {key}.{seen[w]} 里，一个说法只能属于一组")
            seen.setdefault(w, str(group))
        out[str(group)] = words
    return out


def load_slots(col: Collector, path: Path) -> SlotTables:
    """The dialogue slots' words: people, activities, subjects and procedures (lexicon/slots.yaml)."""
    if not path.exists():
        return SlotTables()
    raw = col.read_yaml(path)
    if raw is None:
        return SlotTables()
    if not isinstance(raw, dict):
        col.add(path, "文件", "slots.yaml 应是含 people、activities、subjects、procedures 表的映射")
        return SlotTables()
    for key in raw:
        if key not in SLOT_TABLES:
            col.add(path, where(raw, str(key)), f"未知的表 {key!r}（只能是 {'、'.join(SLOT_TABLES)}）")
    people = _slot_table(col, path, raw, "people")
    if people and "self" not in people:
        col.add(path, where(raw, "people"), "people 必须有 self 组（提问的人自己）")
    return SlotTables(people, _slot_table(col, path, raw, "activities"), _slot_table(col, path, raw, "subjects"),
                      _slot_table(col, path, raw, "procedures"))


def load_lexicon(col: Collector, root: Path) -> Lexicon:
    """The lexicon under `root`/lexicon; every file is optional."""
    lex = root / "lexicon"
    return Lexicon(_userdict(col, lex / "userdict.txt"), _synonyms(col, lex / "synonyms.yaml"),
                   _stopwords(lex / "stopwords.txt"), _signals(col, lex / "signals.yaml"),
                   load_conditions(col, lex / "conditions.yaml"), load_slots(col, lex / "slots.yaml"))
