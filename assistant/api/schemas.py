"""Request and response bodies of the kiosk API."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

MAX_QUESTION = 500
MAX_ID = 2**31 - 1  # ids are 32-bit integers in SQLite and PostgreSQL alike: larger ones cannot exist


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION, description="问题（口语即可）")
    request_id: str | None = Field(
        default=None, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
        description="the kiosk's own id for this question: a retry with the same id (e.g. sent to another node after "
                    "the first one failed) is logged once and returns the same question_id")

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


class RegionOut(BaseModel):
    """A region for the county picker; `full_name` and `old_name` come with county-level units and search hits."""

    code: str
    name: str
    level: str
    parent: str | None
    aliases: list[str]
    bureau: Bureau
    full_name: str | None = None
    old_name: str | None = Field(default=None, description="搜索时用旧地名找到的，这是那个旧地名")


class TopicQuestion(BaseModel):
    id: str
    question: str


class TopicOut(BaseModel):
    key: str
    name: str
    description: str
    questions: list[TopicQuestion] = Field(description="本地最常问的已发布问答（最多 6 条）")


class KioskOut(BaseModel):
    id: int
    name: str
    prison: str


class CountyOut(BaseModel):
    code: str
    name: str


class SessionOut(BaseModel):
    session: str = Field(description="本次问答的会话令牌（X-Kiosk-Session）")
    county: CountyOut
    kiosk: str


class EndedOut(BaseModel):
    ended: int = Field(description="结束了几个会话")


class FeedbackOut(BaseModel):
    followup_id: int | None
    message: str


class ChoiceOut(BaseModel):
    question_id: int
    chosen: str


class FollowupOut(BaseModel):
    """A follow-up as a shared kiosk screen may show it: no answer, no inmate data."""

    id: int
    state: str
    state_name: str
    topic: str | None
    created_at: str


class AlertOut(BaseModel):
    question_id: int
    kiosk: str
    asked_at: str
    text: str
    inmate_number: str | None


class PairingOut(BaseModel):
    code: str = Field(description="终端上显示的 6 位配对码")
    expires_in: int = Field(description="有效秒数")
    kiosk: str


class PairOut(BaseModel):
    token: str = Field(description="终端登记码")
    kiosk: str


class SlipBureau(BaseModel):
    name: str
    phone: str
    address: str
    hours: str


class SlipTurn(BaseModel):
    number: int
    question: str
    status: str
    answer: str
    basis: str | None = None  # how current the legal basis is and the quoted entries' review date
    applies: str
    sources: list[str]


class ConversationOut(BaseModel):
    """The take-away slip: no inmate number, no names, no crisis turns."""

    title: str
    date: str
    county: CountyOut
    bureau: SlipBureau
    notes: list[str]
    turns: list[SlipTurn]


class ClearedOut(BaseModel):
    cleared: bool
