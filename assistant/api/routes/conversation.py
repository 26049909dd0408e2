"""The kiosk session's conversation: read an answer aloud, clear at idle.

Guarded like `/api/ask`: a registered kiosk and its open session. Everything is looked up in the
session's own turn history (`ServiceState.conversations`), so the speech endpoint reads only answers this
session was given, never text a caller sends.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from assistant.api.deps import CurrentKiosk, CurrentSession, State
from assistant.services.errors import NotFoundError

router = APIRouter(prefix="/api", tags=["kiosk"])


@router.delete("/conversation")
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
