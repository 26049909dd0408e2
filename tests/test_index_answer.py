"""Index build/load, staleness and corruption, region scoping (mini knowledge base, fake embedder: fast), and
answering on the real knowledge base with the real model (slow)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fake_embedder import FakeEmbedder

from assistant.core.config import Settings
from assistant.index.items import CHUNK, FAQ
from assistant.runtime import Runtime


@pytest.fixture
def mini_runtime(tmp_path: Path, mini_kb: Path, fake_embedder: FakeEmbedder) -> Runtime:
    """The index and search logic does not depend on the model: the fake one (the answering tests on the real
    knowledge base below use `full_runtime`, which keeps the real model)."""
    return Runtime(Settings(data_dir=tmp_path / "data", knowledge_dir=mini_kb), embedder=fake_embedder)


def test_index_is_built_persisted_and_reused(mini_runtime: Runtime, mini_kb: Path, fake_embedder):
    index = mini_runtime.ensure_index()
    assert mini_runtime.last_build and "no index" in mini_runtime.last_build
    assert index.manifest.counts[FAQ] == 2 and index.manifest.counts[CHUNK] >= 2
    again = Runtime(mini_runtime.settings, embedder=fake_embedder)
    again.ensure_index()
    assert again.last_build is None  # loaded, not rebuilt


def test_stale_index_is_rebuilt_when_knowledge_changes(mini_runtime: Runtime, mini_kb: Path, fake_embedder):
    mini_runtime.ensure_index()
    faq = mini_kb / "faq" / "000000" / "medical.yaml"
    faq.write_text(faq.read_text(encoding="utf-8").replace("出来了医保咋整", "出来了医保咋个整"), encoding="utf-8")
    again = Runtime(mini_runtime.settings, embedder=fake_embedder)
    index = again.ensure_index()
    assert again.last_build and "stale" in again.last_build
    assert "出来了医保咋个整" in index.items["faq-medical-enrol"].keys


def test_corrupt_index_is_reported_and_rebuilt(mini_runtime: Runtime, fake_embedder):
    mini_runtime.ensure_index()
    index_dir = mini_runtime.settings.index_dir
    victim = next(index_dir.glob("partitions/*/dense.faiss"))
    victim.write_bytes(b"garbage")
    messages: list[str] = []
    again = Runtime(mini_runtime.settings, progress=messages.append, embedder=fake_embedder)
    again.ensure_index()
    assert any("索引文件损坏" in m for m in messages)
    assert again.answerer.run("出狱后医保怎么办", "431382").status == "answered"


def test_interrupted_build_leaves_the_old_index_usable(mini_runtime: Runtime, fake_embedder):
    mini_runtime.ensure_index()
    index_dir = mini_runtime.settings.index_dir
    leftover = index_dir.with_name("index.tmp-99999")
    shutil.copytree(index_dir, leftover)
    (leftover / "manifest.json").unlink()  # a build killed before it finished
    again = Runtime(mini_runtime.settings, embedder=fake_embedder)
    again.ensure_index()
    assert again.last_build is None


def test_search_is_scoped_to_the_region_chain(mini_runtime: Runtime):
    answerer = mini_runtime.answerer
    searcher = answerer.searcher
    query = searcher.prepare("医保去哪交")
    lianyuan = {c.item.id for c in searcher.search(query, "431382")}
    wengniute = {c.item.id for c in searcher.search(query, "150426")}
    assert "faq-lianyuan-medical" in lianyuan and "faq-lianyuan-medical" not in wengniute
    assert "faq-medical-enrol" in lianyuan and "faq-medical-enrol" in wengniute


def test_locality_never_lifts_a_worse_match(mini_runtime: Runtime):
    """Search ranks by relevance alone; locality only breaks ties between equal answers (pipeline.prefer_local)."""
    searcher = mini_runtime.answerer.searcher
    query = searcher.prepare("出狱后医保怎么办")
    cands = searcher.search(query, "431382", (FAQ,))
    assert {c.item.region for c in cands} >= {"431382", "000000"}
    assert [c.relevance for c in cands] == sorted((c.relevance for c in cands), reverse=True)


@pytest.mark.slow
def test_answer_quotes_the_faq_with_sources_and_fill_ins_rendered(full_runtime: Runtime):
    answer = full_runtime.answerer.run("出狱以后医保该怎么弄？", "431382")
    assert answer.status == "answered" and answer.sources
    assert all(p.sources for p in answer.parts if p.status == "answered")
    assert "【待填写" not in answer.answer


@pytest.mark.slow
def test_individual_case_questions_are_flagged_to_the_home_bureau(full_runtime: Runtime):
    for q in ("我的减刑什么时候批", "我老婆的低保批了没有", "帮我查一下我的假释材料到哪了"):
        answer = full_runtime.answerer.run(q, "150426")
        assert answer.status == "flagged", q
        assert "翁牛特旗司法局" in answer.answer and not answer.sources


@pytest.mark.slow
def test_off_topic_questions_are_out_of_scope(full_runtime: Runtime):
    for q in ("今天天气怎么样", "给我写一首关于月亮的诗", "asdfghjkl", "红烧肉怎么做好吃"):
        assert full_runtime.answerer.run(q, "431382").status == "out_of_scope", q


@pytest.mark.slow
def test_crisis_always_raises_an_alert(full_runtime: Runtime):
    for q in ("我不想活了", "出去以后找不到工作，活着没意思", "想自杀"):
        answer = full_runtime.answerer.run(q, "431382")
        assert answer.alert == "crisis" and answer.status == "flagged", q
        assert "民警" in answer.answer
    assert full_runtime.answerer.run("出狱后医保怎么办", "431382").alert is None


@pytest.mark.slow
def test_compound_question_is_answered_part_by_part(full_runtime: Runtime):
    answer = full_runtime.answerer.run("出去后医保咋交？我的减刑啥时候批下来？", "430105")
    assert len(answer.parts) == 2
    assert answer.status == "flagged"  # any flagged part flags the whole question
    assert answer.parts[1].status == "flagged"
    assert "1. 问：" in answer.answer and "2. 问：" in answer.answer


def test_index_from_an_older_recipe_is_stale(mini_runtime: Runtime, fake_embedder):
    import json

    mini_runtime.ensure_index()
    path = mini_runtime.settings.index_dir / "manifest.json"
    raw = json.loads(path.read_text())
    del raw["recipe"]  # as written before the build recipe was recorded
    path.write_text(json.dumps(raw))
    again = Runtime(mini_runtime.settings, embedder=fake_embedder)
    again.ensure_index()
    assert again.last_build and "stale" in again.last_build


def test_rebuild_after_an_edit_encodes_only_the_changed_keys(mini_runtime: Runtime, mini_kb: Path, fake_embedder):
    mini_runtime.ensure_index()
    doc = mini_kb / "docs" / "000000" / "national-medical.md"
    doc.write_text(doc.read_text(encoding="utf-8").replace("共同缴纳", "一起缴纳"), encoding="utf-8")
    encoded: list[int] = []

    class Counting(FakeEmbedder):
        def encode_passages(self, texts, show_progress=False):
            encoded.append(len(texts))
            return fake_embedder.encode_passages(texts)

    counting = Counting(fake_embedder.dimension, fake_embedder.model_dir)
    again = Runtime(mini_runtime.settings, embedder=counting)
    index = again.ensure_index()
    assert again.last_build and "stale" in again.last_build
    assert encoded == [1]  # the one edited chunk
    assert any("一起缴纳" in i.text for i in index.items.values())


def test_own_question_precision_prefers_the_entry_whose_question_the_asker_named(mini_runtime: Runtime):
    """The share of an entry's own question that the asker's words name: 1 for the entry asked in its own words,
    less for one whose question names a place the asker did not; with its weight set it enters the relevance."""
    from dataclasses import replace

    searcher = mini_runtime.answerer.searcher
    query = searcher.prepare("出狱后医保怎么办")
    items = mini_runtime.ensure_index().items
    general, local = items["faq-medical-enrol"], items["faq-lianyuan-medical"]
    assert searcher.title_precision(general, query) == pytest.approx(1.0)
    assert 0.0 < searcher.title_precision(local, query) < 1.0  # 涟源 and 去哪交 are not in the question
    base = searcher.weights
    try:
        searcher.weights = replace(base, title_precision=0.0)
        plain = {c.item.id: c.relevance for c in searcher.search(query, "431382", (FAQ,))}
        searcher.weights = replace(base, title_precision=0.5)
        weighted = {c.item.id: c.relevance for c in searcher.search(query, "431382", (FAQ,))}
    finally:
        searcher.weights = base
    for item in (general, local):
        gained = weighted[item.id] - plain[item.id]
        assert gained == pytest.approx(0.5 * searcher.title_precision(item, query))


def test_ranking_weights_are_searched_one_at_a_time_and_the_near_best_kept(mini_runtime: Runtime):
    from assistant.answering.calibration import WEIGHT_GRID, fit_everything, ranking_candidates
    from assistant.evaluation import Labelled

    labels = [Labelled(q, "涟源", "answered", ("faq-medical-enrol",)) for q in
              ("出来了医保怎么弄", "坐完牢还能交医保吗", "出狱以后看病的保险咋办")]
    labels.append(Labelled("涟源出狱的人医保去哪交", "涟源", "answered", ("faq-lianyuan-medical",)))
    answerer = mini_runtime.answerer
    before = answerer.searcher.weights
    found = ranking_candidates(answerer, mini_runtime.regions, labels)
    assert answerer.searcher.weights == before  # the searcher is left as it was
    assert 1 <= len(found) <= 4
    recalls = [r for _, r in found]
    assert recalls == sorted(recalls, reverse=True) and recalls[-1] >= recalls[0] - 0.01 - 1e-9
    for weights, _ in found:
        assert all(getattr(weights, name) in grid for name, grid in WEIGHT_GRID.items())
    result = fit_everything(answerer, mini_runtime.regions, labels)
    assert result.calibration.ranking in dict(found)
    assert result.recall_at_1 == dict(found)[result.calibration.ranking]
    assert result.held_out_objective == 0.0  # too few questions to compare rankings by cross-validation


def test_whole_entry_coverage_and_key_consensus_enter_the_relevance(mini_runtime: Runtime):
    """With their weights set, words spread over an entry's keys count, and so does how far its second-best
    wording trails the best; with the weights at 0 the relevance is cosine + best-key coverage as before."""
    from dataclasses import replace

    searcher = mini_runtime.answerer.searcher
    query = searcher.prepare("出狱后医保怎么办")
    base = searcher.weights
    try:
        base = replace(base, title_precision=0.0)
        searcher.weights = replace(base, entry_coverage=0.0, consensus=0.0)
        plain = {c.item.id: c for c in searcher.search(query, "431382", (FAQ,))}
        searcher.weights = replace(base, entry_coverage=1.0, consensus=0.0)
        entry = {c.item.id: c for c in searcher.search(query, "431382", (FAQ,))}
        searcher.weights = replace(base, entry_coverage=0.0, consensus=1.0)
        consensus = {c.item.id: c for c in searcher.search(query, "431382", (FAQ,))}
    finally:
        searcher.weights = base
    for item_id, c in plain.items():
        expected = c.dense + base.coverage * c.coverage - base.missing_condition * len(c.missing)
        assert abs(c.relevance - expected) < 1e-6
        if item_id in entry:  # the union of an entry's keys covers at least what its best key covers
            assert entry[item_id].relevance >= c.relevance + c.coverage - 1e-6
        if item_id in consensus:  # the second-best wording never beats the best: a penalty or nothing
            assert consensus[item_id].relevance <= c.relevance + 1e-6
    assert any(consensus[i].relevance < plain[i].relevance - 1e-6 for i in consensus if i in plain)
