"""The approved FAQ entries most asked in a county's scope: one ranking for the kiosk's topics and the FAQ sheets.

Counting: a logged question from the county counts once for every approved FAQ entry named in its `items` (the
ids of the answered parts). A compound question whose two parts were both answered from one entry counts once
for that entry, not twice: the figure is "how many questions needed this answer". A question whose other part
was flagged still counts for the entry that answered it. Only entries that apply to the county count: its own,
its city's, its province's and the national ones (`RegionTree.chain`).

Ranking: by count, then the more local entry first, then knowledge order; entries nobody asked about follow
in the same order (most local first).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.knowledge.models import FaqEntry, KnowledgeBase
from assistant.knowledge.regions import RegionTree
from assistant.services.periods import within
from assistant.storage.models import Question


@dataclass(frozen=True)
class Asked:
    """An approved entry and how many questions from the county were answered from it."""

    entry: FaqEntry
    count: int


def asked_counts(s: Session, region_code: str, faq_ids: Collection[str], since: date | None = None,
                 until: date | None = None, prison: str | None = None) -> Counter[str]:
    """How many logged questions from `region_code` (in the period, at one prison if given; UTC days, `until`
    inclusive) were answered from each of `faq_ids`; each question counts at most once per entry."""
    wanted = set(faq_ids)
    query = within(select(Question.items).where(Question.region_code == region_code), Question.asked_at,
                   since, until)
    if prison:
        query = query.where(Question.prison == prison)
    counts: Counter[str] = Counter()
    for items in s.scalars(query):
        counts.update(set(items or []) & wanted)
    return counts


def most_asked(s: Session, kb: KnowledgeBase, regions: RegionTree, region_code: str | None,
               topics: Collection[str] = (), limit: int | None = None, since: date | None = None,
               until: date | None = None, prison: str | None = None) -> list[Asked]:
    """The approved entries applying to `region_code` (all of them when None, uncounted), in `topics` if given,
    ranked as the module says."""
    scope = {r.code for r in regions.chain(region_code)} if region_code else None
    wanted = set(topics)
    applicable = [f for f in kb.approved_faq
                  if (scope is None or f.region in scope) and (not wanted or wanted & set(f.topics))]
    counts = (asked_counts(s, region_code, {f.id for f in applicable}, since, until, prison) if region_code
              else Counter[str]())
    order = {f.id: i for i, f in enumerate(applicable)}
    ranked = sorted(applicable, key=lambda f: (-counts[f.id], -regions.locality(f.region), order[f.id]))
    return [Asked(f, counts[f.id]) for f in ranked[:limit]]
