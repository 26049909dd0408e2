"""The labelled question sets in tests/data load, and every source they expect exists in the knowledge base."""

from __future__ import annotations

import json
from functools import cache

import pytest
from helpers import KNOWLEDGE

from assistant.answering.models import ANSWERED
from assistant.core.config import REPO_ROOT
from assistant.evaluation import read_labels
from assistant.knowledge.loader import load_knowledge

SETS = ("eval.jsonl", "calibration.jsonl", "frozen_test.jsonl")
KEYS = ["question", "county", "status", "expected", "alert", "kind"]


@cache
def known_sources() -> frozenset[str]:
    """Ids an answer can cite: approved FAQ entries and documents."""
    kb = load_knowledge(KNOWLEDGE)
    return frozenset(e.id for e in kb.approved_faq) | frozenset(d.id for d in kb.documents)


@pytest.mark.parametrize("name", SETS)
def test_labelled_set_reads_and_names_only_existing_sources(name: str):
    path = REPO_ROOT / "tests" / "data" / name
    labels = read_labels(path)
    raw = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(labels) == len(raw) > 0
    assert [n for n, r in enumerate(raw, 1) if list(r) != KEYS] == []
    unknown = [(label.question, t) for label in labels for t in label.expected if t not in known_sources()]
    assert unknown == []
    assert [label.question for label in labels if len(set(label.expected)) != len(label.expected)] == []
    assert [label.question for label in labels if label.status == ANSWERED and not label.expected] == []


@pytest.mark.parametrize("name", ["conversations.jsonl", "conversations_calibration.jsonl"])
def test_conversation_set_reads_and_names_only_existing_sources_and_counties(name: str):
    from assistant.evaluation import read_conversations
    from assistant.knowledge.regions import RegionTree

    kb = load_knowledge(KNOWLEDGE)
    regions = RegionTree(kb.regions)
    convs = read_conversations(REPO_ROOT / "tests" / "data" / name)
    assert len({c.id for c in convs}) == len(convs) >= 50
    assert all(2 <= len(c.turns) <= 4 and regions.resolve(c.county) for c in convs)
    turns = [t for c in convs for t in c.turns]
    assert [t.question for t in turns for s in t.expected if s not in known_sources()] == []
    assert [t.question for t in turns if t.status == ANSWERED and not t.expected] == []
    assert [t.question for t in turns if len(set(t.expected)) != len(t.expected)] == []


def test_calibration_conversations_are_worded_fresh():
    """No turn of the calibration conversations repeats a question of another set or an FAQ entry's wording."""
    from assistant.evaluation import read_conversations

    data = REPO_ROOT / "tests" / "data"
    mine = {t.question for c in read_conversations(data / "conversations_calibration.jsonl") for t in c.turns}
    others = {t.question for c in read_conversations(data / "conversations.jsonl") for t in c.turns}
    others |= {label.question for name in SETS for label in read_labels(data / name)}
    others |= {e.question for e in load_knowledge(KNOWLEDGE).faq}
    assert mine & others == set()
