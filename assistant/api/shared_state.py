"""State that several service nodes must share, kept in Redis when `BANGJIAO_REDIS_URL` is set (one node keeps
it in memory, the embedded default):

- rate limits and lockouts: the `limits` library's Redis storage (moving window, atomic Lua scripts), so a kiosk's
  21st question in a minute, a sixth wrong PIN or sign-in is refused whichever node it reaches;
- the turns of each kiosk session (`RedisConversationStore`, same interface as `ConversationStore`), so a
  follow-up asked through another node keeps its context and the slip lists every answer;
- officer pairing codes.

Redis holds these only for their lifetime (keys expire) and should run without persistence (docs/DEPLOYMENT.md):
the redacted question log in the database stays the only record. If Redis cannot be reached the node carries on
with its own memory (limits per node, no earlier turns) and logs a warning, rather than refusing kiosks.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import asdict, replace
from typing import Any

from limits import RateLimitItem
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from assistant.answering.models import SourceRef
from assistant.api.conversation_store import MAX_TEXT, MAX_TURNS, Turn, pick_turn
from assistant.dialogue.resolve import Context
from assistant.dialogue.slots import Slots

log = logging.getLogger(__name__)


class Limiter:
    """A moving-window limiter on the shared storage (Redis) or memory; falls back to memory while Redis fails."""

    def __init__(self, redis_url: str | None = None, prefix: str = "bangjiao"):
        self.local = MovingWindowRateLimiter(MemoryStorage())
        self.shared = None
        if redis_url:
            storage = storage_from_string(redis_url, key_prefix=f"{prefix}:limits", wrap_exceptions=True,
                                          socket_timeout=2, socket_connect_timeout=2)
            self.shared = MovingWindowRateLimiter(storage)

    def _call(self, method: str, *args: Any) -> Any:
        if self.shared is not None:
            try:
                return getattr(self.shared, method)(*args)
            except StorageError as exc:
                log.warning("Redis 不可用，限流暂按本节点计数 (Redis unavailable, limits per node): %s", exc)
        return getattr(self.local, method)(*args)

    def hit(self, item: RateLimitItem, *keys: str) -> bool:
        return self._call("hit", item, *keys)

    def test(self, item: RateLimitItem, *keys: str) -> bool:
        return self._call("test", item, *keys)

    def clear(self, item: RateLimitItem, *keys: str) -> None:
        self._call("clear", item, *keys)


# --- turns of kiosk sessions -------------------------------------------------------------------------------------

def turn_to_json(turn: Turn) -> str:
    """A turn as JSON (pure); `turn_from_json` reads it back equal."""
    data = asdict(turn)
    ctx = turn.context
    if ctx is not None:
        slots = asdict(ctx.slots)
        slots["conditions"] = sorted(ctx.slots.conditions)
        data["context"] = {"question": ctx.question, "slots": slots}
    return json.dumps(data, ensure_ascii=False)


def turn_from_json(text: str) -> Turn:
    data = json.loads(text)
    ctx = data.pop("context", None)
    if ctx is not None:
        slots = ctx["slots"]
        slots["conditions"] = frozenset(slots["conditions"])
        slots["condition_words"] = tuple(slots["condition_words"])
        slots["things"] = tuple(slots.get("things", ()))  # absent in a turn stored before the field existed
        ctx = Context(ctx["question"], Slots(**slots))
    data["sources"] = tuple(SourceRef(**s) for s in data["sources"])
    return Turn(**data, context=ctx)


class RedisConversationStore:
    """`ConversationStore` in Redis: a list of JSON turns per session (the last `max_turns`), a turn counter, and a
    set of each kiosk's session keys; all expire `ttl` seconds after the last question. A retried question (same
    question id, e.g. sent again to another node after its first node died) is not stored twice."""

    def __init__(self, redis_url: str, prefix: str = "bangjiao", max_turns: int = MAX_TURNS, ttl: float = 1800):
        import redis

        self.redis = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2,
                                          decode_responses=True)
        self.errors = (redis.RedisError, OSError)
        self.prefix, self.max_turns, self.ttl = f"{prefix}:conv", max_turns, int(ttl)

    def _keys(self, key: str) -> tuple[str, str, str]:
        kiosk = key.split(":", 1)[0]
        return f"{self.prefix}:{key}:turns", f"{self.prefix}:{key}:n", f"{self.prefix}:kiosk:{kiosk}"

    def append(self, key: str, turn: Turn) -> Turn:
        turns_key, counter, kiosk_set = self._keys(key)
        try:
            if turn.question_id is not None:
                last = self.redis.lindex(turns_key, -1)
                if last is not None and (previous := turn_from_json(_text(last))).question_id == turn.question_id:
                    return previous
            number = int(self.redis.incr(counter))
            stored = replace(turn, asked=turn.asked[:MAX_TEXT], resolved_question=turn.resolved_question[:MAX_TEXT],
                             answer=turn.answer[:MAX_TEXT], number=number)
            pipe = self.redis.pipeline()
            pipe.rpush(turns_key, turn_to_json(stored))
            pipe.ltrim(turns_key, -self.max_turns, -1)
            pipe.sadd(kiosk_set, key)
            for k in (turns_key, counter, kiosk_set):
                pipe.expire(k, self.ttl)
            pipe.execute()
            return stored
        except self.errors as exc:
            log.warning("Redis 不可用，这一轮对话未保存 (Redis unavailable, turn not kept): %s", exc)
            return turn

    def turns(self, key: str) -> list[Turn]:
        try:
            return [turn_from_json(_text(t)) for t in self.redis.lrange(self._keys(key)[0], 0, -1)]
        except self.errors as exc:
            log.warning("Redis 不可用，读不到之前的对话 (Redis unavailable, no earlier turns): %s", exc)
            return []

    def turn(self, key: str, number: int | None = None) -> Turn | None:
        return pick_turn(self.turns(key), number)

    def clear(self, key: str) -> None:
        turns_key, counter, kiosk_set = self._keys(key)
        try:
            pipe = self.redis.pipeline()
            pipe.delete(turns_key, counter)
            pipe.srem(kiosk_set, key)
            pipe.execute()
        except self.errors as exc:
            log.warning("Redis 不可用，对话未清除 (Redis unavailable, turns not cleared): %s", exc)

    def clear_kiosk(self, kiosk_id: int) -> None:
        kiosk_set = f"{self.prefix}:kiosk:{kiosk_id}"
        try:
            keys = self.redis.smembers(kiosk_set)
            doomed = [k for key in keys for k in self._keys(_text(key))[:2]]
            self.redis.delete(kiosk_set, *doomed)
        except self.errors as exc:
            log.warning("Redis 不可用，对话未清除 (Redis unavailable, turns not cleared): %s", exc)


class RedisPairings:
    """Officer pairing codes in Redis (each expires by itself), so the officer's screen may reach any node."""

    def __init__(self, redis_url: str, prefix: str = "bangjiao"):
        import redis

        self.redis = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2,
                                          decode_responses=True)
        self.errors = (redis.RedisError, OSError)
        self.prefix = f"{prefix}:pair"

    def add(self, code: str, device_code: str, seconds: int) -> bool:
        """Keep `code` for `seconds`; False if the code is taken (raises `errors` when Redis fails: the caller
        keeps the code in its own memory then)."""
        return bool(self.redis.set(f"{self.prefix}:{code}", device_code, nx=True, ex=seconds))

    def get(self, code: str) -> str | None:
        """The device code of a live pairing code; None if unknown, expired or Redis is unreachable."""
        try:
            value = self.redis.get(f"{self.prefix}:{code}")
            return None if value is None else _text(value)
        except self.errors:
            return None

    def remove(self, code: str) -> None:
        with contextlib.suppress(*self.errors):  # if Redis fails, the code still expires by itself
            self.redis.delete(f"{self.prefix}:{code}")


def _text(value: bytes | str) -> str:
    """A Redis reply as text (the clients here decode replies; the library's types also allow bytes)."""
    return value.decode() if isinstance(value, bytes) else value
