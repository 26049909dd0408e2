"""The turn history of each kiosk session, in memory and bounded.

The follow-up resolver reads the earlier turns (`turns`), the kiosk API appends each answered question
(`append`), read-aloud and the take-away slip look a turn up by its number (`turn`). A session's history
is cleared when the officer ends the session, when a new session opens on the kiosk, at the page's idle
clear, and when nobody touched it for `ttl` seconds. Nothing here is written to disk: the question log
(redacted) is the only record.

Bounds: at most `max_turns` turns per session (the oldest drop out; numbers keep counting), at most
`max_sessions` sessions (the least recently used goes first), each stored text cut to `MAX_TEXT`.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from assistant.answering.models import Answer, SourceRef

MAX_TURNS = 10
MAX_SESSIONS = 500
MAX_TEXT = 4000  # characters per stored text; an answer is far shorter, the question box takes 500


@dataclass(frozen=True)
class Turn:
    """One question and what the kiosk answered. `number` is given by the store (1, 2, … per session)."""

    asked: str  # the asker's words as typed (never stored on disk from here)
    resolved_question: str  # what was searched after context from earlier turns was applied
    status: str  # answered / flagged / out_of_scope
    answer: str
    question_id: int | None = None
    topic: str | None = None
    alert: str | None = None
    sources: tuple[SourceRef, ...] = ()
    basis: str | None = None  # how current the legal basis is and the review date (answers only)
    number: int = 0
    at: float = field(default_factory=time.time)
    context: Any = None  # what the follow-up resolver carries to the next turn (assistant.dialogue.resolve.Context)


def turn_from_answer(asked: str, answer: Answer) -> Turn:
    """The turn to remember for a question and the answer given (`resolved_question` where the answer has one)."""
    return Turn(asked=asked, resolved_question=getattr(answer, "resolved_question", None) or answer.question,
                status=answer.status, answer=answer.answer, question_id=answer.question_id, topic=answer.topic,
                alert=answer.alert, sources=tuple(answer.sources), basis=getattr(answer, "basis", None),
                context=answer.context)


def session_key(kiosk_id: int, session_id: int) -> str:
    """The key of one kiosk session; keys of the same kiosk share the prefix `"<kiosk_id>:"`."""
    return f"{kiosk_id}:{session_id}"


def pick_turn(turns: list[Turn], number: int | None) -> Turn | None:
    """The turn numbered `number`, or the latest when `number` is None (pure)."""
    if number is None:
        return turns[-1] if turns else None
    return next((t for t in turns if t.number == number), None)


@dataclass
class _Conversation:
    turns: list[Turn] = field(default_factory=list)
    next_number: int = 1
    touched: float = 0.0


class ConversationStore:
    """Thread-safe (the API's sync handlers run in a thread pool)."""

    def __init__(self, max_turns: int = MAX_TURNS, max_sessions: int = MAX_SESSIONS, ttl: float = 1800,
                 clock: Callable[[], float] = time.monotonic):
        if max_turns < 1 or max_sessions < 1:
            raise ValueError("max_turns and max_sessions must be at least 1")
        self.max_turns, self.max_sessions, self.ttl = max_turns, max_sessions, ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._data: OrderedDict[str, _Conversation] = OrderedDict()

    def append(self, key: str, turn: Turn) -> Turn:
        """Add a turn at the end of the session's history; returns it with its number. A retried question (the
        same question id as the last turn) is not added again."""
        with self._lock:
            conv = self._live(key)
            if conv is not None and turn.question_id is not None and conv.turns \
                    and conv.turns[-1].question_id == turn.question_id:
                return conv.turns[-1]
            if conv is None:
                conv = self._data[key] = _Conversation()
                while len(self._data) > self.max_sessions:
                    self._data.popitem(last=False)
            stored = replace(turn, asked=turn.asked[:MAX_TEXT], resolved_question=turn.resolved_question[:MAX_TEXT],
                             answer=turn.answer[:MAX_TEXT], number=conv.next_number)
            conv.next_number += 1
            conv.turns.append(stored)
            del conv.turns[:-self.max_turns]
            conv.touched = self._clock()
            self._data.move_to_end(key)
            return stored

    def turns(self, key: str) -> list[Turn]:
        """The session's turns, oldest first (empty for an unknown, cleared or expired session)."""
        with self._lock:
            conv = self._live(key)
            return list(conv.turns) if conv else []

    def turn(self, key: str, number: int | None = None) -> Turn | None:
        """One turn by its number, or the latest when `number` is None."""
        return pick_turn(self.turns(key), number)

    def clear(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear_kiosk(self, kiosk_id: int) -> None:
        """Forget every session of one kiosk (the officer ended it, or a new session opened)."""
        prefix = f"{kiosk_id}:"
        with self._lock:
            for key in [k for k in self._data if k.startswith(prefix)]:
                del self._data[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def _live(self, key: str) -> _Conversation | None:
        conv = self._data.get(key)
        if conv is not None and self._clock() - conv.touched > self.ttl:
            del self._data[key]
            return None
        return conv
