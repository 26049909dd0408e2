"""A bureau's contact details (name, phone, address, office hours), entered by the bureau itself.

The knowledge files leave these fields empty rather than invent them; what a bureau saves in the portal takes
precedence, field by field, and reaches the kiosk answers and the printed FAQ sheets at once.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.knowledge.models import FILL_IN_RE, Bureau, Region
from assistant.services import audit
from assistant.services.audit import Actor, actor_name, scope_of
from assistant.services.errors import InvalidError
from assistant.services.knowledge_changes import CONTACT, record_change
from assistant.storage.models import BureauContact

FIELDS = {"name": ("单位名称", 100), "phone": ("电话", 60), "address": ("地址", 200), "hours": ("办公时间", 100)}
PHONE_RE = re.compile(r"^[0-9０-９+＋\-－—\s()（）转、,，/；;]{5,60}$")


def clean_contact(values: Mapping[str, str | None]) -> dict[str, str | None]:
    """Validated fields (pure): stripped, empty → None (not filled in), lengths and phone characters checked."""
    out: dict[str, str | None] = {}
    problems = []
    for key, (label, limit) in FIELDS.items():
        value = " ".join((values.get(key) or "").split())
        if len(value) > limit:
            problems.append(f"{label}太长（最多 {limit} 个字）")
        if FILL_IN_RE.search(value) or "待填写" in value:
            problems.append(f"{label}请填写实际内容，不要保留“待填写”")
        out[key] = value or None
    if out["phone"] and not (PHONE_RE.match(out["phone"]) and sum(ch.isdigit() for ch in out["phone"]) >= 5):
        problems.append("电话只能包含数字、空格、括号、横线和“转”，如 0738-1234567")
    if problems:
        raise InvalidError("；".join(problems))
    return out


def save_contact(s: Session, region_code: str, values: Mapping[str, str | None], actor: Actor) -> BureauContact:
    """Store the bureau's contact details for its county (all four fields; empty ones mean "not filled in");
    audited."""
    fields = clean_contact(values)
    row = s.get(BureauContact, region_code)
    if row is None:
        row = BureauContact(region_code=region_code, updated_by=actor_name(actor))
        s.add(row)
    for key, value in fields.items():
        setattr(row, key, value)
    row.updated_by = actor_name(actor)
    row.updated_at = datetime.now(UTC)
    audit.record(s, actor, "contact_updated", region_code,
                 f"{row.name or ''} | {row.phone or ''} | {row.address or ''} | {row.hours or ''}",
                 scope=scope_of(actor, region_code))
    record_change(s, CONTACT, region_code)  # live on every service node
    return row


def saved_contacts(s: Session) -> dict[str, Bureau]:
    return {row.region_code: Bureau(row.name, row.phone, row.address, row.hours)
            for row in s.scalars(select(BureauContact))}


def with_contact(region: Region, saved: Bureau) -> Region:
    """The region with the bureau's saved fields over the file's, field by field (pure)."""
    merged = Bureau(**{key: getattr(saved, key) or getattr(region.bureau, key) for key in FIELDS})
    return dataclasses.replace(region, bureau=merged)


def merge_contacts(regions: Mapping[str, Region], saved: Mapping[str, Bureau]) -> dict[str, Region]:
    return {code: with_contact(region, saved[code]) if code in saved else region for code, region in regions.items()}


def saved_row(s: Session, region_code: str) -> BureauContact | None:
    """What the county's bureau saved (with who saved it and when), or None."""
    return s.get(BureauContact, region_code)
