"""What the index holds: searchable items (policy chunks, FAQ entries) and their search keys."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

from assistant.knowledge.models import FaqEntry, KnowledgeBase, Source
from assistant.text.chunking import Chunk, chunk_document

CHUNK = "chunk"
FAQ = "faq"


@dataclass(frozen=True)
class Item:
    """One retrievable unit. `target` is the id a labelled question expects (doc id or FAQ id)."""

    id: str
    kind: str
    target: str
    region: str
    title: str
    context: str
    text: str
    topics: tuple[str, ...]
    sources: tuple[Source, ...]
    keys: tuple[str, ...] = field(default=())
    reviewed: str = ""  # ISO date the FAQ entry or document was last reviewed ("" when not given)

    def to_json(self) -> dict:
        data = asdict(self)
        data["sources"] = [asdict(s) for s in self.sources]
        return data

    @classmethod
    def from_json(cls, data: dict) -> Item:
        return cls(**{**data, "topics": tuple(data["topics"]), "keys": tuple(data["keys"]),
                      "sources": tuple(Source(**s) for s in data["sources"])})


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def chunk_item(chunk: Chunk, reviewed: date | None = None) -> Item:
    """A document chunk; `reviewed` is its document's review date."""
    return Item(chunk.id, CHUNK, chunk.doc_id, chunk.region, chunk.title, chunk.context, chunk.text,
                chunk.topics, chunk.sources, keys=(chunk.embed_text,), reviewed=_iso(reviewed))


def faq_item(entry: FaqEntry) -> Item:
    """An approved FAQ entry; its search keys are the question, every paraphrase, and question + answer.

    The last key lets a question phrased in the answer's words find the entry (measured: +22 on the
    calibration objective over question and paraphrases alone; see README).
    """
    keys = tuple(dict.fromkeys([entry.question, *entry.paraphrases, f"{entry.question} {entry.answer}"]))
    return Item(entry.id, FAQ, entry.id, entry.region, entry.question, entry.question, entry.answer,
                entry.topics, entry.sources, keys=keys, reviewed=_iso(entry.reviewed))


def knowledge_items(kb: KnowledgeBase) -> list[Item]:
    """All searchable items of a knowledge base: every document chunk and every approved FAQ entry."""
    items = [chunk_item(c, doc.reviewed) for doc in kb.documents for c in chunk_document(doc)]
    items += [faq_item(e) for e in kb.approved_faq]
    return items
