"""Domain adaptation: training pairs from the knowledge base, the cache key, which model is in use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.embedding import adaptation
from assistant.embedding.adaptation import (
    MIN_TRIPLETS,
    POINTER,
    Recipe,
    cache_key,
    current_model,
    read_pointer,
    training_triplets,
)
from assistant.knowledge.models import FaqEntry


def entry(i: int, topic: str, region: str = "000000", status: str = "approved", n: int = 3) -> FaqEntry:
    return FaqEntry(id=f"faq-{i}", region=region, topics=(topic,), status=status, question=f"问题{i}？",
                    paraphrases=tuple(f"问法{i}-{k}" for k in range(n)), answer=f"回答{i}。", sources=(), path="x")


def test_triplets_pair_each_wording_with_its_question_and_a_same_topic_negative():
    entries = [entry(1, "jobs"), entry(2, "jobs"), entry(3, "medical"), entry(4, "medical")]
    triplets = training_triplets(entries)
    assert len(triplets) == 4 * (3 + 1)
    first = [t for t in triplets if t.anchor.startswith("问法1-")]
    assert {t.positive for t in first} == {"问题1？"}
    assert {t.negative for t in first} == {"问题2？"}  # the only other entry of the same topic
    answer = [t for t in triplets if t.anchor == "问题3？"]
    assert answer[0].positive == "问题3？ 回答3。" and answer[0].negative == "问题4？ 回答4。"


def test_triplets_skip_drafts_weigh_local_entries_and_are_deterministic():
    entries = [entry(1, "jobs"), entry(2, "jobs", region="431382"), entry(3, "jobs", status="draft")]
    triplets = training_triplets(entries, Recipe(local_repeat=3))
    assert not any("3" in t.anchor for t in triplets)
    assert sum(t.anchor.startswith("问法2-") for t in triplets) == 3 * 3
    assert sum(t.anchor.startswith("问法1-") for t in triplets) == 3
    assert training_triplets(entries, Recipe(local_repeat=3)) == triplets


def test_each_pass_takes_a_bounded_sample_of_an_entrys_wordings():
    entries = [entry(1, "jobs", n=20), entry(2, "jobs", n=20)]
    triplets = training_triplets(entries, Recipe(wordings_per_entry=5))
    first = [t.anchor for t in triplets if t.anchor.startswith("问法1-")]
    assert len(first) == 5 and len(set(first)) == 5
    every = training_triplets(entries, Recipe(wordings_per_entry=0))
    assert len([t for t in every if t.anchor.startswith("问法1-")]) == 20


def test_cache_key_follows_base_pairs_and_recipe():
    triplets = training_triplets([entry(1, "jobs"), entry(2, "jobs")])
    key = cache_key("base", triplets, Recipe())
    assert key == cache_key("base", list(triplets), Recipe())
    assert key != cache_key("other", triplets, Recipe())
    assert key != cache_key("base", triplets[:-1], Recipe())
    assert key != cache_key("base", triplets, Recipe(epochs=2))


def test_too_few_wordings_use_the_base_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(adaptation, "train", lambda *a: pytest.fail("must not train"))
    base = tmp_path / "base"
    assert current_model(base, "fp", [entry(1, "jobs"), entry(2, "jobs")], tmp_path / "cache") == base


def fake_train(base_dir: Path, triplets, out_dir: Path, recipe: Recipe) -> dict:
    out_dir.mkdir(parents=True)
    (out_dir / "weights").write_text(str(len(triplets)))
    return {"seconds": 0.0, "loss": 0.0}


def test_adapted_model_is_cached_kept_across_restarts_and_retrained_on_request(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    calls = []
    monkeypatch.setattr(adaptation, "train", lambda *a: calls.append(1) or fake_train(*a))
    cache = tmp_path / "cache"
    many = [entry(i, f"t{i % 7}", n=10) for i in range(MIN_TRIPLETS // 5)]
    first = current_model(tmp_path / "base", "fp", many, cache)
    assert first.name.startswith("adapted-") and (first / "adaptation.json").is_file() and len(calls) == 1
    assert json.loads((first / "adaptation.json").read_text())["triplets"] == len(training_triplets(many))
    assert read_pointer(cache, "fp") == first and read_pointer(cache, "other-base") is None
    more = [*many, entry(99, "t1", n=5)]
    assert current_model(tmp_path / "base", "fp", more, cache) == first  # a restart does not retrain
    assert len(calls) == 1
    second = current_model(tmp_path / "base", "fp", more, cache, retrain=True)  # index build follows
    assert second != first and len(calls) == 2 and not first.exists()  # the old one is removed
    assert current_model(tmp_path / "base", "fp", more, cache, retrain=True) == second and len(calls) == 2
    (cache / POINTER).write_text("{broken")
    assert read_pointer(cache, "fp") is None


@pytest.mark.slow
def test_training_runs_and_pulls_wordings_towards_their_question(embedder, tmp_path: Path):
    """A few steps of the real trainer on real entries: the saved model loads, keeps its prompts and full length,
    and a trained wording ends closer to its own question than the base model put it."""
    from helpers import KNOWLEDGE
    from sentence_transformers import SentenceTransformer

    from assistant.knowledge.loader import load_knowledge

    entries = [e for e in load_knowledge(KNOWLEDGE).approved_faq if e.topics and e.topics[0] == "driving"][:6]
    triplets = training_triplets(entries)[:48]
    recipe = Recipe(batch_size=8, learning_rate=1e-4)
    base_dir = embedder.model_dir
    stats = adaptation.train(base_dir, triplets, tmp_path / "adapted", recipe)
    assert stats["seconds"] > 0 and stats["loss"] > 0
    base = SentenceTransformer(str(base_dir), device="cpu", local_files_only=True)
    tuned = SentenceTransformer(str(tmp_path / "adapted"), device="cpu", local_files_only=True)
    assert tuned.prompts == base.prompts and tuned.max_seq_length == base.max_seq_length

    def closeness(model) -> float:
        q = model.encode([t.anchor for t in triplets], prompt_name="query", normalize_embeddings=True)
        p = model.encode([t.positive for t in triplets], prompt_name="passage", normalize_embeddings=True)
        n = model.encode([t.negative for t in triplets], prompt_name="passage", normalize_embeddings=True)
        return float(((q * p).sum(1) - (q * n).sum(1)).mean())

    assert closeness(tuned) > closeness(base)
