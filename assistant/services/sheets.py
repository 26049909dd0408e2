"""FAQ sheets for prison staff: built and audited in one place, whoever asks for one (portal or script)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from assistant.knowledge.models import KnowledgeBase
from assistant.knowledge.regions import RegionTree
from assistant.services import audit
from assistant.services.audit import Actor
from assistant.services.errors import InvalidError
from assistant.sheets.content import Sheet, SheetRequest, build_sheet

FORMATS = ("pdf", "docx")


def prepare_sheet(s: Session, actor: Actor, kb: KnowledgeBase, regions: RegionTree, req: SheetRequest,
                  fmt: str) -> Sheet:
    """The sheet's content for `req`, to be rendered as `fmt`; the request is audited with its counties and
    topics (in the prison's view when it is limited to one prison)."""
    if fmt not in FORMATS:
        raise InvalidError(f"问答单格式应为 {' 或 '.join(FORMATS)}：{fmt!r}")
    sheet = build_sheet(s, kb, regions, req)
    audit.record(s, actor, "sheet", ",".join(req.region_codes), f"{fmt} topics={','.join(req.topics)}",
                 scope=audit.scope_of(actor, req.prison))
    return sheet
