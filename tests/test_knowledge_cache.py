"""The parsed knowledge tree cached in the data folder (issue 18, start-up): read back while no file it depends
on changed, parsed again when one did; problems are never cached; a damaged cache is ignored."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from assistant.knowledge import loader
from assistant.knowledge.loader import load_knowledge, load_knowledge_cached
from assistant.knowledge.problems import KnowledgeError


def caches(folder: Path) -> list[Path]:
    return sorted(folder.glob("knowledge-*.pickle"))


def test_an_unchanged_tree_is_read_from_the_cache(tmp_path: Path, mini_kb: Path, monkeypatch):
    cache = tmp_path / "cache"
    first = load_knowledge_cached(mini_kb, cache)
    assert first == load_knowledge(mini_kb) and len(caches(cache)) == 1
    assert stat.S_IMODE(caches(cache)[0].stat().st_mode) == 0o600

    def no_parsing(_root):
        raise AssertionError("parsed again")

    monkeypatch.setattr(loader, "load_knowledge", no_parsing)
    assert load_knowledge_cached(mini_kb, cache) == first


def test_a_changed_file_is_parsed_again_and_the_old_cache_goes(tmp_path: Path, mini_kb: Path):
    cache = tmp_path / "cache"
    before = load_knowledge_cached(mini_kb, cache)
    faq = mini_kb / "faq" / "000000" / "medical.yaml"
    faq.write_text(faq.read_text(encoding="utf-8").replace("出来了医保咋整", "出来了医保咋个整"), encoding="utf-8")
    after = load_knowledge_cached(mini_kb, cache)
    assert after != before and after == load_knowledge(mini_kb)
    assert any("出来了医保咋个整" in f.paraphrases for f in after.faq)
    assert len(caches(cache)) == 1


def test_problems_are_never_cached(tmp_path: Path, mini_kb: Path):
    cache = tmp_path / "cache"
    faq = mini_kb / "faq" / "000000" / "medical.yaml"
    faq.write_text(faq.read_text(encoding="utf-8") + "- id: faq-broken\n  region: \"000000\"\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(KnowledgeError):
            load_knowledge_cached(mini_kb, cache)
    assert caches(cache) == []


def test_a_damaged_cache_is_parsed_again(tmp_path: Path, mini_kb: Path):
    cache = tmp_path / "cache"
    kb = load_knowledge_cached(mini_kb, cache)
    caches(cache)[0].write_bytes(b"\x80\x05garbage")
    assert load_knowledge_cached(mini_kb, cache) == kb
