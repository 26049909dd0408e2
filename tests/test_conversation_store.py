"""The bounded turn history of kiosk sessions (plain data, no model)."""

from __future__ import annotations

import threading

import pytest

from assistant.answering.models import Answer, SourceRef
from assistant.api.conversation_store import MAX_TEXT, ConversationStore, Turn, session_key, turn_from_answer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def turn(asked: str, status: str = "answered") -> Turn:
    return Turn(asked=asked, resolved_question=asked, status=status, answer=f"答：{asked}")


def test_turns_come_back_oldest_first_with_numbers_per_session():
    store = ConversationStore()
    a, b = session_key(1, 10), session_key(2, 20)
    assert store.append(a, turn("我娃以后能当兵不")).number == 1
    assert store.append(b, turn("医保怎么办")).number == 1
    assert store.append(a, turn("那我女儿呢？")).number == 2
    assert [t.asked for t in store.turns(a)] == ["我娃以后能当兵不", "那我女儿呢？"]
    assert store.turn(a).asked == "那我女儿呢？" and store.turn(a, 1).asked == "我娃以后能当兵不"
    assert store.turn(a, 3) is None and store.turns("9:9") == [] and store.turn("9:9") is None


def test_only_the_last_turns_are_kept_and_numbers_keep_counting():
    store = ConversationStore(max_turns=3)
    for i in range(1, 6):
        store.append("1:1", turn(f"问题{i}"))
    kept = store.turns("1:1")
    assert [t.number for t in kept] == [3, 4, 5] and kept[0].asked == "问题3"
    assert store.turn("1:1", 1) is None  # dropped out: read-aloud of it answers 404, not another answer


def test_least_recently_used_session_goes_first_when_full():
    store = ConversationStore(max_sessions=2)
    store.append("1:1", turn("一"))
    store.append("2:2", turn("二"))
    store.append("1:1", turn("一又"))  # session 1 used again: session 2 is now the oldest
    store.append("3:3", turn("三"))
    assert len(store) == 2 and store.turns("2:2") == [] and len(store.turns("1:1")) == 2


def test_sessions_untouched_longer_than_the_ttl_are_forgotten():
    clock = Clock()
    store = ConversationStore(ttl=60, clock=clock)
    store.append("1:1", turn("医保"))
    clock.now += 59
    assert len(store.turns("1:1")) == 1
    clock.now += 2  # reading does not keep it alive; only a new turn does
    assert store.turns("1:1") == []
    assert store.append("1:1", turn("低保")).number == 1  # a fresh history


def test_clear_and_clear_kiosk():
    store = ConversationStore()
    for key in ("1:1", "1:2", "12:3"):
        store.append(key, turn("问题"))
    store.clear("1:2")
    assert store.turns("1:2") == [] and store.turns("1:1")
    store.clear_kiosk(1)
    assert store.turns("1:1") == [] and store.turns("12:3")  # kiosk 12 is not kiosk 1
    store.clear("nothing-there")  # no error


def test_stored_texts_are_cut():
    store = ConversationStore()
    stored = store.append("1:1", Turn(asked="问" * (MAX_TEXT + 5), resolved_question="问", status="answered",
                                      answer="答" * (MAX_TEXT * 2)))
    assert len(stored.asked) == MAX_TEXT and len(stored.answer) == MAX_TEXT


def test_bad_bounds_are_refused():
    with pytest.raises(ValueError):
        ConversationStore(max_turns=0)


def test_turn_from_answer_keeps_what_the_resolver_and_the_slip_need():
    answer = Answer(question="那我女儿呢？", county="涟源市", status="answered", answer="可以报名参军……",
                    sources=[SourceRef("中华人民共和国兵役法", "《兵役法》第3条", "全国")], alert=None, parts=[],
                    topic="family", question_id=7)
    t = turn_from_answer("那我女儿呢？", answer)
    assert (t.asked, t.resolved_question, t.status, t.question_id, t.topic) == (
        "那我女儿呢？", "那我女儿呢？", "answered", 7, "family")
    assert t.sources[0].citation == "《兵役法》第3条" and t.sources[0].region == "全国"
    answer.resolved_question = "我女儿以后能当兵吗"  # set by the follow-up resolver
    assert turn_from_answer("那我女儿呢？", answer).resolved_question == "我女儿以后能当兵吗"


def test_concurrent_appends_lose_nothing_within_the_bounds():
    store = ConversationStore(max_turns=1000)

    def work() -> None:
        for _ in range(100):
            store.append("1:1", turn("并发"))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(t.number for t in store.turns("1:1")) == list(range(1, 401))
