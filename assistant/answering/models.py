"""The answer returned to the kiosk, the CLI and the API."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.answering.basis import basis_note

ANSWERED = "answered"
FLAGGED = "flagged"
OUT_OF_SCOPE = "out_of_scope"
SUGGESTED = "suggested"  # no confident answer, but a few approved FAQ entries are offered as choices
CRISIS = "crisis"


@dataclass(frozen=True)
class SourceRef:
    title: str
    citation: str
    region: str


@dataclass(frozen=True)
class Suggestion:
    """An approved FAQ entry offered as a choice ("你是想问……？")."""

    id: str
    question: str
    answer: str
    sources: list[SourceRef]
    reviewed: str = ""  # the entry's review date (ISO)

    def public(self) -> dict:
        return {"id": self.id, "question": self.question, "answer": self.answer,
                "sources": [asdict(s) for s in self.sources], "basis": basis_note([self.reviewed])}


@dataclass
class PartAnswer:
    question: str
    status: str
    answer: str
    sources: list[SourceRef] = field(default_factory=list)
    route: str | None = None  # "faq" | "chunk" | None
    item_ids: list[str] = field(default_factory=list)
    reason: str = ""
    crisis: bool = False
    topic: str | None = None
    suggestions: list[Suggestion] = field(default_factory=list)
    resolved: str = ""  # the part as searched, after the conversation's context was applied
    reviewed: list[str] = field(default_factory=list)  # review dates (ISO) of the items the answer quotes

    def public(self) -> dict:
        return {"question": self.question, "status": self.status, "answer": self.answer,
                "sources": [asdict(s) for s in self.sources]}


@dataclass
class Answer:
    question: str
    county: str
    status: str
    answer: str
    sources: list[SourceRef]
    alert: str | None
    parts: list[PartAnswer]
    followup_id: int | None = None
    region_code: str = ""
    topic: str | None = None
    question_id: int | None = None
    suggestions: list[Suggestion] = field(default_factory=list)
    resolved_question: str = ""  # what was searched after earlier turns were taken into account
    context: Any = None  # the conversation context after this turn (assistant.dialogue.resolve.Context)
    # The question as the answerer redacted it (personal data replaced, whole question), with
    # `resolved_question` built from it: the question log stores both as they are. None: redact before storing.
    redacted_question: str | None = None

    @property
    def basis(self) -> str | None:
        """How current the legal basis is and when the quoted entries were reviewed; None when nothing was
        answered (a flag, a caring message or choices quote no entry)."""
        answered = [p for p in self.parts if p.status == ANSWERED]
        if not answered:
            return None
        return basis_note(d for p in answered for d in p.reviewed)

    def public(self) -> dict:
        """The JSON shape of `assistant ask --json` and the kiosk API."""
        return {"question": self.question, "county": self.county, "status": self.status, "answer": self.answer,
                "sources": [asdict(s) for s in self.sources], "alert": self.alert,
                "parts": [p.public() for p in self.parts], "followup_id": self.followup_id,
                "suggestions": [s.public() for s in self.suggestions],
                "resolved_question": self.resolved_question or self.question, "basis": self.basis}
