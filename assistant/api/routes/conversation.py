"""The kiosk session's conversation: clear it at idle.

Guarded like `/api/ask`: a registered kiosk and its open session; the session's own turn history
(`ServiceState.conversations`).
"""

from __future__ import annotations

from fastapi import APIRouter

from assistant.api.deps import CurrentKiosk, CurrentSession, State

router = APIRouter(prefix="/api", tags=["kiosk"])


@router.delete("/conversation")
def clear_conversation(state: State, kiosk: CurrentKiosk, session: CurrentSession) -> dict:
    """The page's idle clear: the next person must not see (or be answered in the context of) these turns."""
    state.conversations.clear(session.key)
    return {"cleared": True}

