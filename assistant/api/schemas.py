"""Request and response bodies of the kiosk API."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

MAX_QUESTION = 500
MAX_ID = 2**31 - 1  # ids are 32-bit integers in SQLite and PostgreSQL alike: larger ones cannot exist


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION, description="问题（口语即可）")

    @field_validator("question")
    @classmethod
    def not_blank(cls, value: str) -> str:
        cleaned = "".join(ch for ch in value if ch.isprintable() or ch in "\n\t").strip()
        if not cleaned:
            raise ValueError("问题不能为空")
        return cleaned


class SessionRequest(BaseModel):
    county: str = Field(min_length=1, max_length=30, description="户籍地：名称、简称或代码")
    inmate_number: str | None = Field(default=None, max_length=40, pattern=r"^[A-Za-z0-9\-]*$")
    pin: str = Field(pattern=r"^\d{6}$", description="民警口令（6 位数字）")


class PinRequest(BaseModel):
    pin: str = Field(pattern=r"^\d{6}$")


class PairRequest(BaseModel):
    code: str = Field(pattern=r"^\d{6}$", description="配对码（终端上显示的 6 位数字）")
    pin: str = Field(pattern=r"^\d{6}$")


class FeedbackRequest(BaseModel):
    question_id: int = Field(gt=0, le=MAX_ID)


class ChoiceRequest(BaseModel):
    question_id: int = Field(gt=0, le=2**31 - 1)
    faq_id: str = Field(min_length=1, max_length=120, pattern=r"^[a-z0-9-]+$", description="所选问答条目的编号")


class SourceOut(BaseModel):
    title: str
    citation: str
    region: str


class PartOut(BaseModel):
    question: str
    status: str
    answer: str
    sources: list[SourceOut]


class Bureau(BaseModel):
    name: str | None
    phone: str | None
    address: str | None
    hours: str | None


class SuggestionOut(BaseModel):
    id: str
    question: str
    answer: str
    sources: list[SourceOut]
    basis: str | None = None  # 依据的法律法规截至…；本条内容复核于…


class AskResponse(BaseModel):
    question: str
    county: str
    status: str
    answer: str
    sources: list[SourceOut]
    alert: str | None
    parts: list[PartOut]
    followup_id: int | None
    question_id: int | None
    bureau: Bureau
    suggestions: list[SuggestionOut] = []
    resolved_question: str = ""
    turn: int | None = None  # number of this turn in the kiosk session (read-aloud, the take-away slip)
    basis: str | None = None  # how current the legal basis is, the quoted entries' review date; None if unanswered
