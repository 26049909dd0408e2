"""The answer returned to the kiosk, the CLI and the API."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

ANSWERED = "answered"
FLAGGED = "flagged"
OUT_OF_SCOPE = "out_of_scope"
CRISIS = "crisis"


@dataclass(frozen=True)
class SourceRef:
    title: str
    citation: str
    region: str


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

    def public(self) -> dict:
        """The JSON shape of `assistant ask --json` and the kiosk API."""
        return {"question": self.question, "county": self.county, "status": self.status, "answer": self.answer,
                "sources": [asdict(s) for s in self.sources], "alert": self.alert,
                "parts": [p.public() for p in self.parts], "followup_id": self.followup_id}
