"""Portal: FAQ entries from the knowledge files — edit (a new reviewed version), withdraw, merge, restore.

The bureau of the entry's own county, or the administrator for national, provincial and city entries; the
rules, the scope and the audit live in `assistant.services.file_faq`. Each change is audited in its transaction and put
live at once (the entry's index partition, the kiosks' topic lists, the sheets).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from assistant.api.deps import DB, EditorForm, EditorUser, FaqId, State
from assistant.api.templating import render
from assistant.knowledge.faq import MIN_PARAPHRASES
from assistant.services import file_faq

router = APIRouter(prefix="/portal/knowledge-faq", include_in_schema=False)
Note = Annotated[str, Form(max_length=500)]


@router.get("")
def entry_list(request: Request, who: EditorUser, db: DB, state: State) -> Response:
    rows = file_faq.entries_for(db, state.runtime.knowledge_files, who)
    return render(request, "file_faq_list.html", who, rows=rows, actions=file_faq.ACTION_NAMES, title="知识库问答")


@router.get("/{faq_id}")
def entry_page(request: Request, who: EditorUser, db: DB, state: State, faq_id: FaqId) -> Response:
    runtime = state.runtime
    original = file_faq.file_entry(runtime.knowledge_files, faq_id, who)
    live = file_faq.live_entry(runtime.kb, faq_id)
    others = [f for f in runtime.kb.approved_faq if f.region == original.region and f.id != faq_id]
    return render(request, "file_faq_edit.html", who, original=original, live=live, current=file_faq.active(db, faq_id),
                  history=file_faq.history(db, faq_id), others=others, actions=file_faq.ACTION_NAMES,
                  min_paraphrases=MIN_PARAPHRASES, title=f"知识库问答 {faq_id}")


@router.post("/{faq_id}/edit")
def entry_edit(state: State, who: EditorForm, faq_id: FaqId, answer: Annotated[str, Form(max_length=5000)],
               paraphrases: Annotated[str, Form(max_length=10000)], note: Note = "") -> Response:
    runtime = state.runtime
    with runtime.database.session() as s:
        entry = file_faq.edit(s, runtime.knowledge_files, runtime.kb, faq_id, who, answer,
                              file_faq.wording_lines(paraphrases), note)
    runtime.publish_faq(entry)
    return RedirectResponse(f"/portal/knowledge-faq/{faq_id}?done=file_edited", 303)


@router.post("/{faq_id}/withdraw")
def entry_withdraw(state: State, who: EditorForm, faq_id: FaqId, note: Note = "") -> Response:
    runtime = state.runtime
    with runtime.database.session() as s:
        file_faq.withdraw(s, runtime.knowledge_files, faq_id, who, note)
    runtime.unpublish_faq(faq_id)
    return RedirectResponse(f"/portal/knowledge-faq/{faq_id}?done=file_withdrawn", 303)


@router.post("/{faq_id}/merge")
def entry_merge(state: State, who: EditorForm, faq_id: FaqId, into: Annotated[str, Form(max_length=80)],
                note: Note = "") -> Response:
    runtime = state.runtime
    with runtime.database.session() as s:
        _entry, target = file_faq.merge(s, runtime.knowledge_files, runtime.kb, faq_id, into, who, note)
    runtime.unpublish_faq(faq_id)
    runtime.publish_faq(target)
    return RedirectResponse(f"/portal/knowledge-faq/{faq_id}?done=file_merged", 303)


@router.post("/{faq_id}/restore")
def entry_restore(state: State, who: EditorForm, faq_id: FaqId) -> Response:
    runtime = state.runtime
    with runtime.database.session() as s:
        entry, target = file_faq.restore(s, runtime.knowledge_files, runtime.kb, faq_id, who)
    runtime.publish_faq(entry)
    if target is not None:
        runtime.publish_faq(target)
    return RedirectResponse(f"/portal/knowledge-faq/{faq_id}?done=file_restored", 303)
