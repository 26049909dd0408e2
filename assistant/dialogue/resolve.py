"""Resolve a follow-up ("那我女儿呢？", "去哪里办？") or a part of a compound question against what came before.

Deterministic and slot-based (no language model, no invented text): the resolved question is the earlier
question with the one slot the follow-up changes put in (a person, an activity or job, a subject, a condition —
named as the lexicon's slot tables name them), or the earlier subject with the follow-up's procedural question.
A new condition replaces the old one instead of being added beside it. A complete question on a new subject
drops the old context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.dialogue.slots import Slots

_LEAD = re.compile(r"^(那么|那要是|那如果|那|要是|如果|假如|换成|还有|再问一下|还想问)[，,]?")
_TAIL = re.compile(r"(的)?(呢|咧|嘞)?[？?！!。，, ]*$")
# a time word a condition phrase may end with, which the earlier question may have kept after its old condition
_WHEN = re.compile(r"(期间|的时候|时候|以后|之后|后)$")
_WHEN_NEXT = re.compile(r"(期间|的时候|时候|以后|之后|后)")
_DISCOURSE = re.compile(r"^(以后|然后|后来|之后|现在|这样|那样|这个|那个|别的|其他的?)?$")
_WHAT_NOW = re.compile(r"^了?(怎么办|咋办|怎么弄|咋弄|咋整|怎么整|怎么补|咋补|怎么处理|咋处理)$")
_BARE_ASK = re.compile(r"^还?(能|可以|让|准)?(考|当|干|做|去|进|开|上)?"
                       r"(不|吗|吧|么|没|行不行|能不能|可不可以|让不让|行吗|行不|可以吗|成不|中不)$")
_SHORT = 10  # characters: "这期间能请假出去吗" leans on what came before, "出狱时身上没钱回不了家咋办" does not
_CLAUSE = re.compile(r"[，,；; ]")


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


def depends_on_context(text: str, slots: Slots) -> bool:
    """True when a question leans on what came before: a short ellipsis ("那我女儿呢？"), a short procedural
    question that names no subject ("去哪里办？"), or one that names only a condition and asks what now
    ("丢了怎么办？"), or an activity and a bare "can I?" ("公务员能考不"). A question that simply uses words the
    slot tables do not know stands alone, and so does a long one ("出狱时身上没钱回不了家咋办")."""
    core = core_of(text)
    names_thing = bool(slots.activity or slots.subject)
    return (slots.elliptical or (slots.procedural and not names_thing and len(core) <= _SHORT)
            or (bool(slots.conditions) and not names_thing and not slots.who and _what_now(core, slots))
            or (bool(slots.activity) and not (slots.subject or slots.who or slots.conditions)
                and _bare_ask(core, slots)))


def _without_things(text: str, slots: Slots) -> str:
    """`text` with every activity and subject word the slots found taken out (longest first)."""
    for word in sorted(slots.things, key=len, reverse=True):
        text = text.replace(word, "")
    return text


def _bare_ask(core: str, slots: Slots) -> bool:
    """The question is an activity and a bare "can I?" ("公务员能考不", "当兵行吗"): whose, the last turn says."""
    return bool(_BARE_ASK.match(_without_things(core, slots)))


def _what_now(core: str, slots: Slots) -> bool:
    """The question is a condition and "what now?" and nothing else ("丢了怎么办", not "啥情况算累犯")."""
    rest = core
    for word in slots.condition_words:
        rest = rest.replace(word, "", 1)
    return bool(_WHAT_NOW.match(rest))


def _activity(slots: Slots) -> str:
    """The activity as a resolved question names it."""
    return slots.activity_name or slots.activity_word or ""


def _asks_activity(who: Slots, activity: str) -> str:
    """A question on an activity for the person `who` names, when no earlier wording can take it."""
    if who.who and who.who != "self":  # the asker served the sentence; now asking about a relative
        return f"我坐过牢，{who.who_name or who.who_word}能{activity}吗"
    return f"我本人有犯罪记录，自己还能{activity}吗"


def _who_switch(base: str, prev: Slots, new: Slots) -> str:
    name = new.who_name or new.who_word or ""
    if prev.who_word and prev.who != "self" and new.who != "self":
        return base.replace(prev.who_word, name, 1)
    if prev.activity:
        return _asks_activity(new, _activity(prev))
    if new.who != "self":
        return f"我坐过牢，{name}的{prev.subject_name or prev.subject or ''}受影响吗"
    return f"坐过牢的人自己{prev.subject_name or prev.subject or ''}怎么办"


def _spans(text: str, words: tuple[str, ...]) -> list[tuple[int, int]]:
    """Where the words occur in the text (each after the previous one's start), overlapping ones merged."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for w in words:
        i = text.find(w, pos)
        if i < 0:
            i = text.find(w)
        if i < 0:
            continue
        spans.append((i, i + len(w)))
        pos = i
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def replace_condition(question: str, prev: Slots, phrase: str, keep: tuple[str, ...] = ()) -> str:
    """The earlier question with its condition replaced by `phrase` (never the new condition beside the old one).

    A clause that holds the old condition ("喝酒开车被判了") gives way to the phrase when another clause carries
    what is asked about; otherwise the old condition words are replaced where they stand (all of them:
    "撞了人跑了" matches two conditions), except the words in `keep`. With no old condition the phrase goes
    in front."""
    spans = _spans(question, tuple(w for w in prev.condition_words if w not in keep))
    if not spans:
        return f"{phrase}，{question}"
    clauses = _CLAUSE.split(question)
    if len(clauses) > 1:
        start = 0
        for i, clause in enumerate(clauses):
            end = start + len(clause)
            holds_condition = any(start <= s < end for s, _ in spans)
            others = [c for j, c in enumerate(clauses) if j != i]
            if (holds_condition and any(t in c for c in others for t in prev.things)
                    and all(s >= start and e <= end for s, e in spans)):
                return "，".join([phrase if j == i else c for j, c in enumerate(clauses)])
            start = end + 1
    out, shift = question, 0
    for n, (s, e) in enumerate(spans):
        s, e = s + shift, e + shift
        new = phrase if n == 0 else ""
        if n == 0 and _WHEN.search(phrase) and (m := _WHEN_NEXT.match(out, e)):
            e = m.end()  # 剥夺政治权利期间 + 期间能迁户口吗: one 期间
        out = out[:s] + new + out[e:]
        shift += len(new) - (e - s)
    return out


def _procedural_thing(question: str, prev: Slots) -> str:
    """What a procedural follow-up ("去哪办？") is about: the earlier subject (with the state the earlier question
    put it in right after naming it: "身份证过期了"), else the earlier activity."""
    if prev.subject and (i := question.find(prev.subject)) >= 0:
        after, name = i + len(prev.subject), prev.subject_name or prev.subject
        for s, e in _spans(question, prev.condition_words):
            if after <= s <= after + 4:
                return name + question[s:e] + ("了" if question[e:e + 1] == "了" else "")
        return name
    return _activity(prev)


def _procedure(core: str, slots: Slots) -> str:
    """A procedural follow-up worded as the lexicon words what it asks ("到哪里申请" → "去哪里申请")."""
    if slots.procedure_word and slots.procedure_name:
        before, _, rest = core.partition(slots.procedure_word)
        name = slots.procedure_name
        # "准备啥材料" → "要带什么材料", not "要带什么材料材料": words the name ends with are not repeated
        overlap = next((k for k in range(len(rest), 1, -1) if name.endswith(rest[:k])), 0)
        return f"{before}{name}{rest[overlap:]}"
    return core


def _named_people(question: str, prev: Slots) -> str:
    """The earlier question with its person named as the lexicon names them ("我家伢子" → "我家孩子")."""
    if prev.who != "self" and prev.who_word and prev.who_name and prev.who_word != prev.who_name:
        return question.replace(prev.who_word, prev.who_name, 1)
    return question


def _new_activity(core: str, slots: Slots) -> str:
    """The new activity: the follow-up's own words from its name on when they are nothing but slot words
    ("开公司当法人"), else its name ("当大夫" → "当医生", "开公司行不行" → "开公司")."""
    name = _activity(slots)
    if not name or name not in core:
        return name
    own = core[core.index(name):]
    return own if not _without_things(own, slots).strip("和、跟及，, ") else name


def resolve(text: str, slots: Slots, ctx: Context) -> Resolution:
    """The question to search for `text` (whose slots are `slots`) after the context `ctx`."""
    leans = depends_on_context(text, slots)
    if ctx.empty:
        # "那当兵呢？" as a first turn: whose? an ellipsis always refers back, so it is never answered blind
        return Resolution(text, False, leans and (slots.elliptical or not (slots.activity or slots.subject)))
    if not leans:
        return Resolution(text, False, False)  # a complete question: a new subject drops the old context
    prev, out, core = ctx.slots, ctx.question, core_of(text)
    changed = False
    condition_words = "".join(slots.condition_words)
    subject_is_condition = slots.subject is not None and slots.subject in condition_words  # 缓刑社区矫正
    if slots.who and slots.who != prev.who:
        out, changed = _who_switch(out, prev, slots), True
    if slots.activity and slots.activity != prev.activity:
        old = prev.activity_word or prev.subject
        if old and old in out:
            out = out.replace(old, _new_activity(core, slots), 1)
        else:  # nothing to put it in place of ("我老公的工作" → "那我儿子当兵呢")
            out = _asks_activity(slots if slots.who else prev, _activity(slots))
        changed = True
    elif (slots.subject and (slots.subject_name or slots.subject) != (prev.subject_name or prev.subject)
          and not slots.procedural and not subject_is_condition):
        old = prev.subject or prev.activity_word
        new = slots.subject_name or slots.subject
        out = out.replace(old, new, 1) if old and old in out else f"{new}{core}"
        changed = True
    names_nothing = not (slots.activity or slots.subject or slots.procedural or slots.who)
    if slots.conditions and names_nothing and not slots.elliptical:
        thing = _procedural_thing(ctx.question, prev)  # 释放证明书有什么用 → 丢了怎么办: 释放证明丢了怎么办
        out, changed = (f"{thing}{core}" if thing else f"{core}，{out}"), True
    elif slots.conditions and slots.conditions != prev.conditions:
        phrase = core if not (slots.activity or slots.subject) or subject_is_condition else condition_words
        out, changed = replace_condition(out, prev, phrase), True
    elif slots.after_release and prev.conditions and not (slots.activity or slots.subject or slots.procedural):
        out, changed = replace_condition(out, prev, core), True  # 假释期间能出国吗 → 那刑满释放以后呢
    elif (prev.conditions and slots.elliptical and not changed and names_nothing and not slots.conditions
          and not _DISCOURSE.match(core)):
        # 累犯能假释吗 → 那初犯呢: a condition in words the lexicon does not know; 假释 is what is asked about
        out, changed = replace_condition(out, prev, core, keep=prev.things), True
    if slots.procedural and not (slots.activity or slots.subject):
        thing, asked = _procedural_thing(ctx.question, prev), _procedure(core, slots)
        out = f"{thing}{asked}" if thing else f"{out}，{asked}"
        changed = True
    if not changed:
        out = f"{out}，{core}" if core else out
    if not (slots.who and slots.who != prev.who):
        out = _named_people(out, prev)
    return Resolution(out, True, False)


def next_context(ctx: Context, resolved: str, slots: Slots) -> Context:
    """The context after a turn: the resolved question becomes the context when it names something."""
    return Context(resolved, slots) if slots.has_content or slots.who else ctx
