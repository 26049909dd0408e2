"""Region tree: resolve a name, short name or code, and walk the chain up to national."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from assistant.knowledge.models import LEVELS, Region


class UnknownRegionError(LookupError):
    """A county name or code that the region tree does not know."""

    def __init__(self, query: str, suggestions: list[str]):
        self.query = query
        self.suggestions = suggestions
        hint = f"；您是不是要找：{'、'.join(suggestions)}" if suggestions else ""
        super().__init__(f"未知的地区：{query}{hint}")


class RegionTree:
    """Lookup over regions keyed by administrative division code."""

    def __init__(self, regions: Mapping[str, Region]):
        self._regions = dict(regions)
        self._by_name: dict[str, str] = {}
        for region in self._regions.values():
            for name in (region.code, region.name, *region.aliases):
                self._by_name.setdefault(name, region.code)

    def replace(self, region: Region) -> None:
        """Swap in a changed region with the same code and names (e.g. a bureau's new contact details)."""
        if region.code not in self._regions:
            raise KeyError(region.code)
        self._regions[region.code] = region

    def __contains__(self, code: str) -> bool:
        return code in self._regions

    def __getitem__(self, code: str) -> Region:
        return self._regions[code]

    def place_words(self) -> frozenset[str]:
        """Every region name and alias, with and without its suffix (林西县 → 林西): never a person's name."""
        words = set(self._by_name)
        words |= {w[:-1] for w in self._by_name if len(w) > 2 and w[-1] in "省市县区旗"}
        return frozenset(words)

    def all(self) -> list[Region]:
        return list(self._regions.values())

    def counties(self) -> list[Region]:
        """The county-level regions: the ones a bureau account and an FAQ sheet are bound to."""
        return [r for r in self._regions.values() if r.level == "county"]

    def resolve(self, query: str) -> Region:
        """Find a region by code, official name or alias; raise UnknownRegionError with close matches."""
        key = query.strip()
        code = self._by_name.get(key)
        if code is None:
            raise UnknownRegionError(key, self.suggest(key))
        return self._regions[code]

    def suggest(self, query: str, limit: int = 5) -> list[str]:
        """Official names of the regions whose names or aliases look most like `query`."""
        names = list(self._by_name)
        hits = difflib.get_close_matches(query, names, n=limit * 2, cutoff=0.3)
        hits += [n for n in names if query and (query in n or n in query) and n not in hits]
        out: list[str] = []
        for hit in hits:
            name = self._regions[self._by_name[hit]].name
            if name not in out:
                out.append(name)
        return out[:limit]

    def chain(self, code: str) -> list[Region]:
        """The region and its ancestors, most local first (county → city → province → national)."""
        out: list[Region] = []
        seen: set[str] = set()
        current: str | None = code
        while current is not None and current not in seen:
            seen.add(current)
            region = self._regions[current]
            out.append(region)
            current = region.parent
        return out

    def locality(self, code: str) -> int:
        """0 for national … 3 for county: higher means more local."""
        return LEVELS.index(self._regions[code].level)

    def bureau_region(self, code: str) -> Region:
        """The nearest region in the chain that has a bureau (the asker's county normally)."""
        for region in self.chain(code):
            if region.bureau.name:
                return region
        return self._regions[code]
