"""The slots a question about life after release fills: who, when, what activity, which condition.

Pure functions over normalised text; the words come from the lexicon: its defining conditions and its slot tables
(lexicon/slots.yaml: the people, activities and subjects inmates ask about), compiled once into a `Vocabulary`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.knowledge.models import SlotTables
from assistant.text.conditions import ConditionDetector

_PROCEDURAL = re.compile(
    r"^(那|那么|那要|还有|然后|再)?(去|到|上|找|在)?(哪里|哪儿|哪|什么地方|啥地方|谁|哪个部门|哪个门)去?"
    r"(办|申请|交|报|找|问|登记|弄|补|开|领|查|续|拿|换)"
    r"|(怎么|咋|如何)(审|批|查|领|补|续|开证明)|(批|审|办)(下来|好)|(能|可以)?领(钱|多少)"
    r"|^(这|那)?(期间|段时间|几年)"
    r"|要?(带|准备|揣|拿)(什么|啥|哪些)|要?(多久|多长时间|几天|多少天)|(交|付|拿)不起|没钱(交|付)?"
    r"|^(要|得)?(花|交)?钱(不|吗|么)|^收(费|钱)(不|吗|么)?$|^要(花)?多少钱"
    r"|^(怎么|咋|如何)(办|申请|弄|整|交|报名|登记)|^(要|需要|有)(什么|啥|哪些)(材料|手续|证件|条件|要求)"
    r"|^(能|可以)?(补办|代办|网上办)"
)
# 那我女儿呢 / 要是醉驾呢 / 我闺女呢 她想当警察 (a short topic with 呢, then what about it)
_ELLIPSIS = re.compile(r"^(那|那么|要是|如果|假如|换成|还有)|呢[？?]?$|^[^，,\s]{1,6}呢[，,\s]")
_ENDS_OPEN = re.compile(r"呢[？?]?$")
# a question of its own: it asks something (how, can, where, whether …), not only names a thing
_ASKS = re.compile(r"怎么|咋|如何|能不能|可不可以|能否|行不行|会不会|要不要|有没有|是不是|算不算|多少|多久|哪|什么|啥"
                   r"|谁|吗|嘛|[能会可要][^，,]{0,8}不$")
_TIME_RE = re.compile(r"(出去|出来|出狱|释放|刑满|放出来|回去|回家)(以?后|了)?")


def _alternation(forms) -> re.Pattern[str]:
    """Any of the words (longest first, so that 考公务员 wins over 公务员 at the same place)."""
    return re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)))


@dataclass(frozen=True)
class Vocabulary:
    """The lexicon's slot tables and defining conditions, compiled for reading questions."""

    tables: SlotTables
    conditions: ConditionDetector
    people: dict[str, re.Pattern[str]]
    activities: dict[str, re.Pattern[str]]
    subjects: re.Pattern[str] | None
    coordinated: re.Pattern[str] | None
    things: re.Pattern[str] | None  # any activity or subject word
    procedures: dict[str, re.Pattern[str]]

    @classmethod
    def of(cls, tables: SlotTables, conditions: ConditionDetector) -> Vocabulary:
        subjects = {f for forms in tables.subjects.values() for f in forms}
        things = {f for forms in tables.activities.values() for f in forms} | subjects
        alt = _alternation(things).pattern
        # a condition a person word names (子女: 儿子, 闺女) is who is asked about, the people slot's business
        conditions = conditions.without_those_matching({f for forms in tables.people.values() for f in forms})
        return cls(tables, conditions, {who: _alternation(forms) for who, forms in tables.people.items()},
                   {act: _alternation(forms) for act, forms in tables.activities.items()},
                   _alternation(subjects) if subjects else None,
                   re.compile(f"({alt})(、|和|跟|以及|及|还有|或者|或)({alt})") if things else None,
                   re.compile(alt) if things else None,
                   {what: _alternation(forms) for what, forms in tables.procedures.items()})


@dataclass(frozen=True)
class Slots:
    """What one question (or part) names. Empty fields: not named."""

    who: str | None = None
    who_word: str | None = None
    activity: str | None = None
    activity_word: str | None = None
    subject: str | None = None
    conditions: frozenset[str] = frozenset()
    condition_words: tuple[str, ...] = ()
    after_release: bool = False
    procedural: bool = False
    elliptical: bool = False
    # how a resolved question names the person, activity and subject (the first form of their group)
    who_name: str | None = None
    activity_name: str | None = None
    subject_name: str | None = None
    things: tuple[str, ...] = ()  # every activity and subject word named, in order
    procedure_word: str | None = None  # what a procedural question asks, as written ("到哪里")
    procedure_name: str | None = None  # … and as a resolved question words it ("去哪里")

    @property
    def has_content(self) -> bool:
        """Names something a policy can be about (an activity, a subject or a condition)."""
        return bool(self.activity or self.subject or self.conditions)


def _who(text: str, vocab: Vocabulary) -> tuple[str | None, str | None]:
    """Who the question is about: a family member named anywhere wins over the asker (我娃 is the child)."""
    others = {k: v for k, v in vocab.people.items() if k != "self"}
    who, word = _first(others, text)
    if who or "self" not in vocab.people:
        return who, word
    return _first({"self": vocab.people["self"]}, text)


def _first(patterns: dict[str, re.Pattern[str]], text: str) -> tuple[str | None, str | None]:
    """The group whose form appears earliest in the text (and the form as written)."""
    best: tuple[int, str, str] | None = None
    for key, pattern in patterns.items():
        m = pattern.search(text)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), key, m.group(0))
    return (best[1], best[2]) if best else (None, None)


def extract(text: str, vocab: Vocabulary) -> Slots:
    """The slots of one normalised question."""
    conditions = vocab.conditions
    core = text.strip(" ，,。？?！!")
    who, who_word = _who(core, vocab)
    activity, activity_word = _first(vocab.activities, core)
    subject = m.group(0) if vocab.subjects and (m := vocab.subjects.search(core)) else None
    found, words = conditions.named(core)  # a denied condition ("没喝酒") is not named
    procedural = bool(_PROCEDURAL.search(core))
    # a question that starts with 那 but names its own subject (or a relative and an activity) and asks
    # something of it is complete: "那低保怎么申请" is a new topic, not an ellipsis ("那我自己能当辅警吗" is not:
    # the asker's record is the earlier question's)
    complete = (not _ENDS_OPEN.search(core) and bool(_ASKS.search(core))
                and bool(subject or (activity and who and who != "self")))
    elliptical = bool(_ELLIPSIS.search(core)) and len(core) <= 14 and not complete
    tables = vocab.tables
    things = tuple(m.group(0) for m in vocab.things.finditer(core)) if vocab.things else ()
    procedure, procedure_word = _first(vocab.procedures, core) if procedural else (None, None)
    return Slots(who, who_word, activity, activity_word, subject, found, words, bool(_TIME_RE.search(core)),
                 procedural, elliptical, _name(tables.people, who), _name(tables.activities, activity),
                 _name(tables.subjects, _group_of(tables.subjects, subject)), things, procedure_word,
                 _name(tables.procedures, procedure))


def _name(table: dict[str, tuple[str, ...]], group: str | None) -> str | None:
    """How a resolved question names a group: its first form."""
    return table[group][0] if group in table else None


def _group_of(table: dict[str, tuple[str, ...]], word: str | None) -> str | None:
    return next((group for group, forms in table.items() if word in forms), None) if word else None


def expand_coordination(text: str, vocab: Vocabulary) -> list[str]:
    """A part naming two things ("会不会影响子女入党、就业") becomes one question for each thing."""
    m = vocab.coordinated.search(text) if vocab.coordinated else None
    if not m or m.group(1) == m.group(3):
        return [text]
    head, tail = text[:m.start()], text[m.end():]
    return [f"{head}{m.group(1)}{tail}", f"{head}{m.group(3)}{tail}"]


def inherit(text: str, slots: Slots, after_release: bool, previous: Slots | None) -> str:
    """A part of a compound question with what the question established before it: after release (anywhere
    in the question) and who (the part before it), when the part does not say so itself."""
    out = text
    if previous and previous.who not in (None, "self") and not slots.who and previous.who_word:
        out = f"{previous.who_word}{out}"
    if after_release and not slots.after_release:
        out = f"出去后{out}"
    return out
