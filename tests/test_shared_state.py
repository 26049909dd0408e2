"""State shared by several service nodes, without the model: the knowledge generation (recorded with each change,
in order, applied once per county), turns of kiosk sessions and limits in Redis, idempotent retried questions.
Redis and PostgreSQL parts need the services the test script starts (in CI a missing one fails)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import service_url
from limits import parse
from sqlalchemy.exc import IntegrityError

from assistant.answering.models import Answer, SourceRef
from assistant.api.conversation_store import ConversationStore, Turn
from assistant.api.knowledge_sync import libpq_url, wants_sync
from assistant.api.shared_state import Limiter, RedisConversationStore, turn_from_json, turn_to_json
from assistant.dialogue.resolve import Context
from assistant.dialogue.slots import Slots
from assistant.services import kiosks
from assistant.services import knowledge_changes as K
from assistant.services.questions import AskContext, QuestionLog, request_client_id
from assistant.storage.db import Database
from assistant.storage.models import Question
from assistant.storage.spool import Spool

REDIS_ENV = "BANGJIAO_TEST_REDIS_URL"


def a_turn(asked: str = "我娃以后能当兵不", question_id: int | None = 7) -> Turn:
    slots = Slots(who="child", who_word="娃", activity="military", conditions=frozenset({"醉驾"}),
                  condition_words=("醉驾",), after_release=True)
    ctx = Context("我娃以后能当兵不", slots)
    return Turn(asked=asked, resolved_question=asked, status="answered", answer="可以报名，以当地为准。",
                question_id=question_id, topic="military",
                sources=(SourceRef("兵役法", "《兵役法》第3条", "全国"),), context=ctx)


def test_a_turn_survives_json_with_its_context():
    turn = a_turn()
    assert turn_from_json(turn_to_json(turn)) == turn
    empty = Turn("问", "问", "flagged", "答")
    assert turn_from_json(turn_to_json(empty)) == empty


def test_a_retried_question_is_not_a_second_turn():
    store = ConversationStore()
    first = store.append("1:1", a_turn())
    assert store.append("1:1", a_turn()) == first and len(store.turns("1:1")) == 1
    assert store.append("1:1", a_turn(question_id=None)).number == 2  # unlogged turns are never merged


def test_changes_are_batched_per_county():
    changes = [K.Change(1, K.FAQ, "431382"), K.Change(2, K.FAQ, "431382"), K.Change(3, K.CONTACT, "431382"),
               K.Change(4, K.FAQ, "430000"), K.Change(5, K.REFERRAL, "431382")]
    assert K.pending_work(changes) == ({"431382", "430000"}, {"431382"}, True)
    assert K.pending_work(changes[:2]) == ({"431382"}, set(), False)


def test_only_a_server_database_starts_the_follower():
    assert wants_sync("postgresql+psycopg://u:p@h:5432/db")
    assert not wants_sync("sqlite:////tmp/x.db")
    assert libpq_url("postgresql+psycopg://u:p%40w@h:5432/db?options=-csearch_path%3Dx") == \
        "postgresql://u:p%40w@h:5432/db?options=-csearch_path%3Dx"


def test_request_ids_are_per_kiosk():
    assert request_client_id(1, "abcdefgh") == request_client_id(1, "abcdefgh") != request_client_id(2, "abcdefgh")
    assert len(request_client_id(1, "x" * 64)) == 36  # fits the log's client_id column


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'k.db'}")
        yield database
        database.dispose()
        return
    from sqlalchemy import create_engine
    from sqlalchemy import text as sql_text

    base = service_url("BANGJIAO_TEST_POSTGRES_URL", "PostgreSQL")
    name = f"shared_{uuid.uuid4().hex[:8]}"
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(sql_text(f'CREATE SCHEMA "{name}"'))
    database = Database(f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{name}")
    yield database
    database.dispose()
    with engine.begin() as conn:
        conn.execute(sql_text(f'DROP SCHEMA "{name}" CASCADE'))
    engine.dispose()


def test_generations_count_up_and_a_rolled_back_change_leaves_none(db: Database):
    with db.session() as s:
        assert K.generation(s) == 0
        K.record_change(s, K.FAQ, "431382")
        K.record_change(s, K.CONTACT, "431382")
    with pytest.raises(RuntimeError), db.session() as s:
        K.record_change(s, K.REFERRAL, "431382")
        raise RuntimeError("the change failed")
    with db.session() as s:
        assert K.generation(s) == 2
        assert [(c.kind, c.region_code) for c in K.changes_since(s, 0)] == [("faq", "431382"), ("contact", "431382")]
        assert [c.generation for c in K.changes_since(s, 1)] == [2]
    with pytest.raises(ValueError), db.session() as s:
        K.record_change(s, "everything")


def test_a_retried_question_is_logged_once(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    qlog = QuestionLog(db, Spool(tmp_path / "spool.jsonl"))
    with db.session() as s:
        kiosk_id = kiosks.register(s, "p", "k").kiosk_id
    answer = Answer("我的减刑什么时候批", "涟源市", "flagged", "请问司法局", [], None, [], region_code="431382")
    ctx = AskContext(prison="p", kiosk="k", kiosk_id=kiosk_id)
    client_id = request_client_id(kiosk_id, "retry-me-1")
    first, again = qlog.record(answer, ctx, client_id), qlog.record(answer, ctx, client_id)
    assert (first.question_id, first.followup_id) == (again.question_id, again.followup_id) and first.followup_id
    assert not first.spooled and not again.spooled

    # two nodes write the same retried request at once: the loser's insert fails, and it takes the winner's row
    real = QuestionLog.write
    calls = []

    def racing(self, record):
        calls.append(record["client_id"])
        if len(calls) == 1:
            real(self, record)  # the other node commits first ...
            raise IntegrityError("INSERT", {}, Exception("duplicate key value violates unique constraint"))
        return real(self, record)
    monkeypatch.setattr(QuestionLog, "write", racing)
    raced = qlog.record(answer, ctx, request_client_id(kiosk_id, "retry-me-2"))
    assert raced.question_id and not raced.spooled and len(calls) == 2  # the insert that lost, then the lookup
    with db.session() as s:
        assert s.query(Question).count() == 2


@pytest.fixture
def redis_url() -> Iterator[tuple[str, str]]:
    import redis

    url = service_url(REDIS_ENV, "Redis")
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    yield url, prefix
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)
    client.close()


def test_turns_in_redis_behave_like_the_memory_store(redis_url: tuple[str, str]):
    store = RedisConversationStore(*redis_url, max_turns=3, ttl=60)
    other = RedisConversationStore(*redis_url, max_turns=3, ttl=60)  # another node
    assert store.append("4:1", a_turn(question_id=1)).number == 1
    assert other.append("4:1", a_turn(question_id=1)).number == 1  # the same question retried there: not again
    for qid in (2, 3, 4):
        store.append("4:1", a_turn(question_id=qid))
    assert [t.number for t in other.turns("4:1")] == [2, 3, 4]  # the last three, numbers keep counting
    assert other.turn("4:1") == store.turn("4:1", 4) and other.turn("4:1").context == a_turn().context
    store.append("4:2", a_turn())
    store.append("5:1", a_turn())
    other.clear("4:2")
    assert store.turns("4:2") == [] and store.turns("4:1")
    other.clear_kiosk(4)
    assert store.turns("4:1") == [] and len(store.turns("5:1")) == 1


def test_limits_hold_across_nodes_and_fall_back_to_memory_without_redis(redis_url: tuple[str, str]):
    url, prefix = redis_url
    a, b = Limiter(url, prefix), Limiter(url, prefix)
    rate = parse("3/minute")
    assert [(a, b)[i % 2].hit(rate, "kiosk", "9") for i in range(4)] == [True, True, True, False]
    b.clear(rate, "kiosk", "9")
    assert a.hit(rate, "kiosk", "9")
    down = Limiter("redis://127.0.0.1:1/0", prefix)  # nothing listens there
    assert [down.hit(rate, "kiosk", "9") for _ in range(4)] == [True, True, True, False]
    gone = RedisConversationStore("redis://127.0.0.1:1/0", prefix)
    assert gone.append("1:1", a_turn()).asked and gone.turns("1:1") == []  # the kiosk keeps answering


def test_nodes_starting_at_once_on_a_new_database_all_migrate_it():
    """Each node upgrades the schema at start; on PostgreSQL an advisory lock lets one migrate and the others then
    find it at head (without it two of three failed with duplicate tables)."""
    import subprocess
    import sys

    from sqlalchemy import create_engine
    from sqlalchemy import text as sql_text

    from assistant.core.config import REPO_ROOT

    base = service_url("BANGJIAO_TEST_POSTGRES_URL", "PostgreSQL")
    name = f"migrate_{uuid.uuid4().hex[:8]}"
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(sql_text(f'CREATE SCHEMA "{name}"'))
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{name}"
    code = f"from assistant.storage.db import upgrade; upgrade({url!r})"
    try:
        procs = [subprocess.Popen([sys.executable, "-c", code], cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
                 for _ in range(3)]
        errors = [p.communicate(timeout=120)[1] for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], errors
        with engine.begin() as conn:
            assert len(conn.execute(sql_text(f'SELECT version_num FROM "{name}".alembic_version')).all()) == 1
    finally:
        with engine.begin() as conn:
            conn.execute(sql_text(f'DROP SCHEMA "{name}" CASCADE'))
        engine.dispose()


def test_pairing_codes_are_shared_and_kept_locally_while_redis_is_down(redis_url: tuple[str, str], tmp_path: Path,
                                                                       mini_kb: Path):
    from assistant.api.state import ServiceState
    from assistant.core.config import Settings
    from assistant.runtime import Runtime

    def node(url: str) -> ServiceState:
        settings = Settings(data_dir=tmp_path / "data", knowledge_dir=mini_kb, redis_url=url,
                            redis_prefix=redis_url[1])
        return ServiceState(Runtime(settings, use_database=False))

    a, b = node(redis_url[0]), node(redis_url[0])
    code = a.new_pairing("device-code-1")
    assert b.pairing(code) == "device-code-1"
    b.pairing_used(code)
    assert a.pairing(code) is None
    alone = node("redis://127.0.0.1:1/0")  # nothing listens there: the code lives in this node's memory
    code = alone.new_pairing("device-code-2")
    assert alone.pairing(code) == "device-code-2" and a.pairing(code) is None
    alone.pairing_used(code)
    assert alone.pairing(code) is None
