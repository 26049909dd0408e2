"""The kiosk session's conversation: read an answer aloud, the take-away slip, clear at idle.

Guarded like `/api/ask`: a registered kiosk and its open session. Everything is looked up in the
session's own turn history (`ServiceState.conversations`), so the speech endpoint reads only answers this
session was given, never text a caller sends.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from assistant.answering.basis import basis_note
from assistant.api.conversation_store import Turn
from assistant.api.deps import CurrentKiosk, CurrentSession, State
from assistant.api.schemas import ClearedOut, ConversationOut
from assistant.privacy.redact import redact
from assistant.services.errors import NotFoundError

router = APIRouter(prefix="/api", tags=["kiosk"])
SLIP_TITLE = "帮教问答：我问过的问题"
SLIP_NOTES = ("以上内容摘自经司法局审核的问答和政策依据，仅供参考，以户籍地司法局答复为准。", basis_note())
BUREAU_MISSING = "待司法局填写"


def _day(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def slip_turn(turn: Turn, place_words: frozenset[str]) -> dict:
    """One question on the slip: the question redacted (a name typed into it is not printed), the answer,
    where it applies and the sources compactly."""
    regions = list(dict.fromkeys(s.region for s in turn.sources if s.region))
    return {"number": turn.number, "question": redact(turn.asked, place_words), "status": turn.status,
            "answer": turn.answer, "basis": turn.basis, "applies": "、".join(regions),
            "sources": list(dict.fromkeys(s.citation for s in turn.sources))}


@router.get("/conversation", response_model=ConversationOut)
def conversation(state: State, kiosk: CurrentKiosk, session: CurrentSession) -> dict:
    """This session's questions and answers for the take-away slip: no inmate number, no names, no crisis
    turns (a caring message is for the screen, not for a paper others may read)."""
    regions = state.runtime.regions
    county = regions.resolve(session.region_code)
    bureau = regions.bureau_region(session.region_code).bureau
    place_words = regions.place_words()
    turns = [slip_turn(t, place_words) for t in state.conversations.turns(session.key) if not t.alert]
    return {"title": SLIP_TITLE, "date": _day(date.today()), "county": {"code": county.code, "name": county.name},
            "bureau": {"name": bureau.name or "户籍地司法局", "phone": bureau.phone or BUREAU_MISSING,
                       "address": bureau.address or BUREAU_MISSING, "hours": bureau.hours or BUREAU_MISSING},
            "notes": list(SLIP_NOTES), "turns": turns}


@router.delete("/conversation", response_model=ClearedOut)
def clear_conversation(state: State, kiosk: CurrentKiosk, session: CurrentSession) -> dict:
    """The page's idle clear: the next person must not see (or be answered in the context of) these turns."""
    state.conversations.clear(session.key)
    return {"cleared": True}


@router.get("/speech", response_class=Response,
            responses={200: {"content": {"audio/wav": {}}, "description": "WAV, mono 16-bit"}})
def speech(state: State, kiosk: CurrentKiosk, session: CurrentSession,
           turn: Annotated[int | None, Query(ge=1, le=1_000_000)] = None) -> Response:
    """An answer of this session read aloud (offline espeak-ng, Mandarin); the latest one without `turn`.
    503 with a message when speech is unavailable on this machine."""
    if not state.allow_speech(kiosk.id):
        raise HTTPException(429, "too many read-aloud requests from this kiosk, try again in a minute")
    found = state.conversations.turn(session.key, turn)
    if found is None:
        raise NotFoundError("没有找到要朗读的回答，请再问一次")
    spoken = state.speech.speak(found.answer)
    return Response(spoken.wav, media_type="audio/wav", headers={"Cache-Control": "no-store"})
