"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from assistant.api.deps import State

router = APIRouter(tags=["health"])


@router.get("/health")
def health(state: State) -> JSONResponse:
    """200 when ready to answer; 503 while the index is built or the model loads (or if that failed)."""
    ready = state.ready.is_set()
    body: dict = {"status": "ok" if ready else ("error" if state.error else "starting"), "ready": ready,
                  "error": state.error, "warmup_seconds": state.warmup_seconds}
    if ready:
        m = state.runtime.ensure_index().manifest
        body["index"] = {"built_at": m.built_at, "counts": m.counts, "model": m.model}
        body["spooled"] = len(state.qlog.spool.pending())
        body["unsaved"] = state.qlog.unsaved  # questions neither the database nor the spool could take
        body["knowledge_generation"] = state.runtime.generation  # the same on every node once changes arrived
    return JSONResponse(body, 200 if ready else 503)
