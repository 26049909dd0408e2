"""Plain data types of the knowledge base."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

LEVELS = ("national", "province", "city", "county")
# A field the bureau must fill in, e.g. 【待填写：涟源市司法局电话】 (FORMAT.md); group 1 names it.
FILL_IN_RE = re.compile(r"【待填写[:：]?\s*([^】]*)】")
NATIONAL_CODE = "000000"


@dataclass(frozen=True)
class Bureau:
    """A justice bureau's contact fields; None means "not yet filled in by the bureau"."""

    name: str | None = None
    phone: str | None = None
    address: str | None = None
    hours: str | None = None


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: str
    parent: str | None
    aliases: tuple[str, ...] = ()
    bureau: Bureau = field(default_factory=Bureau)


@dataclass(frozen=True)
class Source:
    """Where a statement comes from: a statute article, a policy document or a field report."""

    title: str
    kind: str
    confidence: str
    article: str | None = None
    clause: str | None = None
    version: str | None = None
    law_file: str | None = None
    report: str | None = None
    note: str | None = None

    @property
    def citation(self) -> str:
        """Human-readable citation, e.g. 《中华人民共和国社会保险法》（2018年修正）第25条第2款."""
        if self.kind == "field_report":
            return f"现场报道：《{self.title}》"
        text = f"《{self.title}》"
        if self.version:
            text += f"（{self.version}）"
        if self.article:
            num, _, suffix = self.article.partition("之")
            text += f"第{num}条" + (f"之{suffix}" if suffix else "")
        if self.clause:
            text += self.clause
        if self.confidence != "verified":
            text += "〔待核实，以当地答复为准〕"
        return text


@dataclass(frozen=True)
class Section:
    """One heading-delimited part of a document, with the raw text (citation markers kept)."""

    heading_path: tuple[str, ...]
    text: str
    line: int


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    region: str
    topics: tuple[str, ...]
    sources: dict[str, Source]
    sections: tuple[Section, ...]
    path: str
    effective: date | None = None
    reviewed: date | None = None
    review_due: date | None = None


@dataclass(frozen=True)
class FaqEntry:
    id: str
    region: str
    topics: tuple[str, ...]
    status: str
    question: str
    paraphrases: tuple[str, ...]
    answer: str
    sources: tuple[Source, ...]
    path: str
    reviewed: date | None = None
    review_due: date | None = None


@dataclass(frozen=True)
class Topic:
    key: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class Signals:
    """Lexical signals used by the decision step (from lexicon/signals.yaml)."""

    crisis: tuple[str, ...] = ()
    individual_case: tuple[str, ...] = ()
    domain: tuple[str, ...] = ()
    asks_amount: tuple[str, ...] = ()
    asks_contact: tuple[str, ...] = ()


@dataclass(frozen=True)
class SlotTables:
    """The words of the dialogue slots (lexicon/slots.yaml): group name -> forms, the first form naming the group in
    a resolved question. `people` has the group `self` (the asker) when it is not empty; `procedures` are what a
    procedural follow-up asks (where, whom, which papers, how long, cannot pay)."""

    people: dict[str, tuple[str, ...]] = field(default_factory=dict)
    activities: dict[str, tuple[str, ...]] = field(default_factory=dict)
    subjects: dict[str, tuple[str, ...]] = field(default_factory=dict)
    procedures: dict[str, tuple[str, ...]] = field(default_factory=dict)  # 去哪里办, 要带什么 …


@dataclass(frozen=True)
class Lexicon:
    userdict: tuple[tuple[str, int | None, str | None], ...] = ()
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    stopwords: frozenset[str] = frozenset()
    signals: Signals = field(default_factory=Signals)
    # defining conditions (lexicon/conditions.yaml): name -> patterns; see assistant.text.conditions
    conditions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # the dialogue slots' words (lexicon/slots.yaml); see assistant.dialogue.slots
    slots: SlotTables = field(default_factory=SlotTables)


@dataclass(frozen=True)
class KnowledgeBase:
    regions: dict[str, Region]
    topics: dict[str, Topic]
    documents: tuple[Document, ...]
    faq: tuple[FaqEntry, ...]
    lexicon: Lexicon
    content_hash: str

    @property
    def approved_faq(self) -> tuple[FaqEntry, ...]:
        return tuple(f for f in self.faq if f.status == "approved")
