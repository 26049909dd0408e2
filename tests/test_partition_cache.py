"""Index partitions held in a bounded LRU (issue 18, national scale): a large index is read per region chain as
questions need it, evicted partitions are read again, and the answers are the same as with everything in memory
(fake embedder: fast)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from fake_embedder import FakeEmbedder

from assistant.core.config import Settings
from assistant.evaluation import read_labels
from assistant.index.items import FAQ, faq_item
from assistant.index.store import IndexCorruptError, PartitionStore, load_index, replace_partition
from assistant.runtime import Runtime

EVAL = Path(__file__).parent / "data" / "eval.jsonl"


def holding(runtime: Runtime, capacity: int) -> Runtime:
    """Another process on the same data folder holding at most `capacity` partitions."""
    settings = runtime.settings.model_copy(update={"index_partitions": capacity})
    return Runtime(settings, embedder=runtime.embedder)


def answer_fields(answer) -> tuple:
    return (answer.status, answer.answer, tuple(answer.sources), tuple(i for p in answer.parts for i in p.item_ids),
            tuple(s.id for s in answer.suggestions), answer.resolved_question)


def test_answers_are_the_same_with_eight_partitions_held_as_with_all(fake_full_runtime: Runtime):
    everything = fake_full_runtime.ensure_index()
    assert len(everything.partitions) > 8 and len(everything.partitions.held()) == len(everything.partitions)
    small = holding(fake_full_runtime, 8)
    lazy = small.ensure_index()
    assert small.last_build is None  # the same index, loaded, not rebuilt
    assert lazy.partitions.held() == []  # more partitions than it may hold: none read before a question needs it
    labels = read_labels(EVAL)[:80]
    for lab in labels:
        code = fake_full_runtime.regions.resolve(lab.county).code
        assert answer_fields(small.answerer.run(lab.question, code)) == \
            answer_fields(fake_full_runtime.answerer.run(lab.question, code)), lab.question
        assert len(lazy.partitions.held()) <= 8
    store = lazy.partitions
    assert store.evictions > 0 and store.loads > len(set(store.held()))  # evicted ones were read again
    assert len({lab.county for lab in labels}) > 3


def test_the_least_recently_used_partition_goes_first_and_comes_back_the_same(fake_full_runtime: Runtime):
    target = fake_full_runtime.settings.index_dir
    names = sorted(json.loads((target / "manifest.json").read_text(encoding="utf-8"))["partitions"])
    store = PartitionStore(target, names, capacity=2)
    first = store.get(names[0])
    store.get(names[1])
    store.get(names[0])  # now the most recently used
    store.get(names[2])
    assert store.held() == [names[0], names[2]] and store.evictions == 1
    again = store.get(names[1])  # read from disk again
    assert again is not None and again.item_ids == fake_full_runtime.ensure_index().partitions.get(names[1]).item_ids
    assert store.held() == [names[2], names[1]] and store.loads == 4
    assert first is not None and set(first.items) == set(first.item_ids)
    assert store.get("faq-no-such-region") is None


def test_the_index_keeps_items_with_their_partitions(fake_full_runtime: Runtime):
    target = fake_full_runtime.settings.index_dir
    assert not (target / "items.json").exists()  # no file of every item for each process to read whole
    index = load_index(target, capacity=8)
    some = next(iter(index.partitions.names))
    item_id = index.partitions.get(some).item_ids[0]
    assert index.items[item_id].id == item_id and item_id in index.items
    assert len(index.items) == sum(v for k, v in index.manifest.counts.items() if k not in ("keys", "partitions"))


def test_publishing_into_an_evicted_partition(tmp_path: Path, mini_kb: Path, fake_embedder: FakeEmbedder):
    runtime = Runtime(Settings(data_dir=tmp_path / "data", knowledge_dir=mini_kb), embedder=fake_embedder,
                      use_database=False)
    built = runtime.ensure_index()
    target = runtime.settings.index_dir
    index = load_index(target, capacity=1)
    region = "431382"
    name = f"{FAQ}-{region}"
    others = sorted(built.partitions.names - {name})
    index.partitions.get(others[0])  # the county's FAQ partition is not held
    assert name not in index.partitions.held()
    entry = next(f for f in runtime.kb.approved_faq if f.region == region)
    changed = dataclasses.replace(entry, answer="新的回答，具体以当地为准。")
    replace_partition(index, FAQ, region, [faq_item(changed)], fake_embedder, runtime.analyzer, target,
                      runtime.expected_manifest())
    assert index.items[entry.id].text == "新的回答，具体以当地为准。"
    reread = load_index(target, capacity=1)
    reread.partitions.get(others[0])
    assert reread.items[entry.id].text == "新的回答，具体以当地为准。"  # on disk, read again after eviction
    assert reread.manifest.counts == index.manifest.counts


def test_a_damaged_partition_of_a_lazily_read_index_is_a_clear_error(tmp_path: Path, mini_kb: Path,
                                                                     fake_embedder: FakeEmbedder):
    runtime = Runtime(Settings(data_dir=tmp_path / "data", knowledge_dir=mini_kb), embedder=fake_embedder,
                      use_database=False)
    runtime.ensure_index()
    target = runtime.settings.index_dir
    index = load_index(target, capacity=1)
    name = sorted(index.partitions.names)[0]
    (target / "partitions" / name / "dense.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexCorruptError, match="索引文件损坏"):
        index.partitions.get(name)
    (target / "partitions" / name / "keys.json").unlink()
    with pytest.raises(IndexCorruptError, match="分区缺失"):
        load_index(target, capacity=1)  # a missing partition is found at load, before any question


def test_item_conditions_follow_an_edited_entry_and_the_cache_is_bounded(monkeypatch):
    from assistant.index import search
    from assistant.index.items import Item
    from assistant.index.search import HybridSearcher
    from assistant.text.conditions import ConditionDetector

    searcher = HybridSearcher(None, None, None, None, conditions=ConditionDetector({"drunk": ("醉驾",)}))
    entry = Item("faq-x", FAQ, "faq-x", "431382", "醉驾出来多久能考驾照", "", "", (), ())
    assert searcher.item_conditions(entry) == (frozenset({"drunk"}),)
    edited = dataclasses.replace(entry, title="出来多久能考驾照")  # the same id, its question edited
    assert searcher.item_conditions(edited) == ()
    monkeypatch.setattr(search, "MAX_CACHED_CONDITIONS", 3)
    for n in range(10):
        searcher.item_conditions(dataclasses.replace(entry, id=f"faq-{n}", title=f"第{n}个问题醉驾"))
        assert len(searcher._item_conditions) <= 3


def test_knowing_whether_a_region_has_content_reads_no_partition(fake_full_runtime: Runtime):
    small = holding(fake_full_runtime, 8)
    answerer = small.answerer
    store = small.ensure_index().partitions
    before = store.loads
    assert answerer.has_content("431382") and answerer.has_local("431382") and not answerer.has_content("430321")
    assert store.loads == before
