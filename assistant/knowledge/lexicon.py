"""The lexicon folder: user dictionary, synonyms, stop words, signal patterns and defining conditions."""

from __future__ import annotations

import re
from pathlib import Path

from assistant.knowledge.models import Lexicon, Signals
from assistant.knowledge.problems import Collector, where

SIGNAL_LISTS = ("crisis", "individual_case", "domain", "asks_amount", "asks_contact")


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


def load_lexicon(col: Collector, root: Path) -> Lexicon:
    """The lexicon under `root`/lexicon; every file is optional."""
    lex = root / "lexicon"
    return Lexicon(_userdict(col, lex / "userdict.txt"), _synonyms(col, lex / "synonyms.yaml"),
                   _stopwords(lex / "stopwords.txt"), _signals(col, lex / "signals.yaml"),
                   load_conditions(col, lex / "conditions.yaml"))
