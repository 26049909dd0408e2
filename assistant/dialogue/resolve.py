"""Resolve a follow-up ("那我女儿呢？", "去哪里办？") or a part of a compound question against what came before.

Deterministic and slot-based (no language model, no invented text): the resolved question is the earlier
question with the one slot the follow-up changes put in, or the earlier subject with the follow-up's
procedural question. A complete question on a new subject drops the old context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.dialogue.slots import Slots

_LEAD = re.compile(r"^(那么|那要是|那如果|那|要是|如果|假如|换成|还有|再问一下|还想问)[，,]?")
_TAIL = re.compile(r"(的)?(呢|咧|嘞)?[？?！!。，, ]*$")


@dataclass(frozen=True)
class Context:
    """What the conversation has established: the last resolved question that named something, and its slots."""

    question: str = ""
    slots: Slots = field(default_factory=Slots)

    @property
    def empty(self) -> bool:
        return not self.question


@dataclass(frozen=True)
class Resolution:
    question: str  # the text to search
    used_context: bool = False
    needs_context: bool = False  # cannot be understood alone and nothing came before: ask which topic


def core_of(text: str) -> str:
    """The follow-up without its lead-in (那/要是 …) and trailing 呢/的呢/punctuation."""
    return _TAIL.sub("", _LEAD.sub("", text.strip())).strip()


def depends_on_context(slots: Slots) -> bool:
    """True when a question leans on what came before: a short ellipsis ("那我女儿呢？") or a procedural question
    that names no subject ("去哪里办？"). A question that simply uses words the slot tables do not know stands
    alone."""
    return slots.elliptical or (slots.procedural and not (slots.activity or slots.subject))


def _who_switch(base: str, prev: Slots, new: Slots) -> str:
    if prev.who_word and prev.who != "self" and new.who != "self":
        return base.replace(prev.who_word, new.who_word or "", 1)
    thing = prev.activity_word or prev.subject or ""
    if new.who != "self":  # the asker served the sentence; now asking about a relative
        return f"家里人坐过牢，{new.who_word}{'能' + thing + '吗' if prev.activity_word else '的' + thing + '受影响吗'}"
    return f"坐过牢的人自己能{thing}吗" if prev.activity_word else f"坐过牢的人自己{thing}怎么办"


def resolve(text: str, slots: Slots, ctx: Context) -> Resolution:
    """The question to search for `text` (whose slots are `slots`) after the context `ctx`."""
    leans = depends_on_context(slots)
    if ctx.empty:
        # "那当兵呢？" as a first turn: whose? an ellipsis always refers back, so it is never answered blind
        return Resolution(text, False, leans and (slots.elliptical or not slots.has_content))
    if not leans:
        return Resolution(text, False, False)  # a complete question: a new subject drops the old context
    prev, out, core = ctx.slots, ctx.question, core_of(text)
    changed = False
    if slots.who and slots.who != prev.who:
        out, changed = _who_switch(out, prev, slots), True
    if slots.activity and slots.activity != prev.activity:
        old = prev.activity_word or prev.subject
        out = out.replace(old, slots.activity_word or "", 1) if old and old in out else f"{out}，{core}"
        changed = True
    elif slots.subject and slots.subject != prev.subject and not slots.procedural:
        old = prev.subject or prev.activity_word
        out = out.replace(old, slots.subject, 1) if old and old in out else f"{slots.subject}{core}"
        changed = True
    if slots.conditions and slots.conditions != prev.conditions:
        phrase = core if not (slots.activity or slots.subject) else "".join(slots.condition_words)
        old = prev.condition_words[0] if prev.condition_words else None
        out = out.replace(old, phrase, 1) if old and old in out else f"{phrase}，{out}"
        changed = True
    if slots.procedural and not (slots.activity or slots.subject):
        thing = prev.activity_word or prev.subject or ""
        out = f"{thing}{core}" if thing else f"{out}，{core}"
        changed = True
    if not changed:
        out = f"{out}，{core}" if core else out
    return Resolution(out, True, False)


def next_context(ctx: Context, resolved: str, slots: Slots) -> Context:
    """The context after a turn: the resolved question becomes the context when it names something."""
    return Context(resolved, slots) if slots.has_content or slots.who else ctx
