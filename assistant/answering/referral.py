"""Per-county referral rules: kinds of question a county's bureau wants answered by a person, never
automatically (e.g. local 低保 amounts). Pure: the rules come in, a yes/no comes out.

A rule names either an item (an FAQ id, or a document id which covers all of its passages "doc#n") or a
topic key, and applies only to askers whose home county is the rule's county.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """One active rule: `item_id` or `topic` is set (not both)."""

    region_code: str
    item_id: str | None = None
    topic: str | None = None


def item_target(item_id: str) -> str:
    """The FAQ or document id of an item id (passages are "doc-id#n")."""
    return item_id.split("#", 1)[0]


def must_refer(rules: Iterable[Rule], region_code: str, item_id: str | None,
               topic: str | Iterable[str] | None) -> bool:
    """True when a rule of the asker's county covers the answering item or one of its topics."""
    topics = {topic} if isinstance(topic, str) else set(topic or ())
    target = item_target(item_id) if item_id else None
    for rule in rules:
        if rule.region_code != region_code:
            continue
        if rule.item_id and item_id and rule.item_id in (item_id, target):
            return True
        if rule.topic and rule.topic in topics:
            return True
    return False
