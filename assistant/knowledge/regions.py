"""Region tree: resolve 涟源/涟源市/431382/北京市朝阳区/邵东县 (old name), walk the chain up to national."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from assistant.knowledge.divisions import Change, load_divisions
from assistant.knowledge.models import LEVELS, NATIONAL_CODE, Region
from assistant.knowledge.pinyin_initials import initials_of

# the generic ending of a division name; what is left is its short name (城步苗族自治县 → 城步, 开福区 → 开福)
_ETHNIC = ("蒙古|维吾尔|柯尔克孜|乌孜别克|俄罗斯|鄂温克|鄂伦春|塔吉克|塔塔尔|达斡尔|哈萨克|布依|朝鲜|土家|哈尼|傈僳|"
           "拉祜|东乡|纳西|景颇|仫佬|布朗|撒拉|毛南|仡佬|锡伯|阿昌|普米|德昂|保安|裕固|独龙|赫哲|门巴|珞巴|基诺|"
           "高山|各|回|藏|苗|彝|壮|满|侗|瑶|白|傣|黎|佤|畲|水|土|羌|怒|京")
_SUFFIX_RE = re.compile(rf"(?:(?:{_ETHNIC})族)*(?:自治县|自治旗|自治州|自治区)$|"
                        r"(?:特别行政区|林区|特区|新区|地区|县|区|市|旗|省|盟)$")
UNKNOWN_HOME = "户籍不详"


def short_name(name: str) -> str:
    """The name without its generic ending, when at least two characters remain (湘潭县 → 湘潭, 南区 → 南区)."""
    short = _SUFFIX_RE.sub("", name)
    return short if len(short) >= 2 else name


class UnknownRegionError(LookupError):
    """A county name or code that the region tree does not know."""

    def __init__(self, query: str, suggestions: list[str]):
        self.query = query
        self.suggestions = suggestions
        hint = f"；您是不是要找：{'、'.join(suggestions)}" if suggestions else ""
        super().__init__(f"未知的地区：{query}{hint}")


class AmbiguousRegionError(UnknownRegionError):
    """A name several regions share (朝阳区, 鼓楼区): the caller must choose among the candidates."""

    def __init__(self, query: str, candidates: list[Region], labels: list[str]):
        self.candidates = candidates
        LookupError.__init__(self, f"有多个地区叫“{query}”，请写明是哪一个：{'、'.join(labels)}")
        self.query = query
        self.suggestions = labels


@dataclass(frozen=True)
class Resolution:
    """The region a query named, and a note when it was found under an old name or code."""

    region: Region
    note: str | None = None


class RegionTree:
    """Lookup over regions keyed by administrative division code (the whole country, see divisions.py)."""

    def __init__(self, regions: Mapping[str, Region], history: Iterable[Change] | None = None,
                 cache_dir: Path | None = None):
        self._regions = dict(regions)
        self._cache_dir = cache_dir  # where the pinyin initials of the names are kept (pinyin_initials.py)
        self._children: dict[str, list[str]] = {}
        for region in self._regions.values():
            if region.parent is not None:
                self._children.setdefault(region.parent, []).append(region.code)
        # exact keys first (code, official name, listed aliases), then short names: each key → codes
        self._exact: dict[str, list[str]] = {}
        self._short: dict[str, list[str]] = {}
        for region in self._regions.values():
            for name in (region.code, region.name, *region.aliases):
                _add(self._exact, name, region.code)
        for region in self._regions.values():
            short = short_name(region.name)
            if short != region.name and short not in self._exact:
                _add(self._short, short, region.code)
        self._old: dict[str, list[Change]] = {}
        for change in load_divisions().history if history is None else history:
            if change.code not in self._regions:
                continue
            keys = [change.old_name, short_name(change.old_name)]
            if change.old_city:
                keys += [change.old_city + change.old_name, short_name(change.old_city) + change.old_name]
            if change.old_code:
                keys.append(change.old_code)
            for key in dict.fromkeys(keys):
                if key not in self._exact and key not in self._short:
                    self._old.setdefault(key, []).append(change)
        self._pinyin: list[tuple[Region, str, str]] | None = None

    def replace(self, region: Region) -> None:
        """Swap in a changed region with the same code and names (e.g. a bureau's new contact details)."""
        if region.code not in self._regions:
            raise KeyError(region.code)
        self._regions[region.code] = region

    def __contains__(self, code: str) -> bool:
        return code in self._regions

    def __getitem__(self, code: str) -> Region:
        return self._regions[code]

    def __len__(self) -> int:
        return len(self._regions)

    def place_words(self) -> frozenset[str]:
        """Every region name and alias, with and without its suffix (林西县 → 林西): never a person's name.

        Short forms only of the regions regions.yaml lists: the short forms of all 3,000 divisions include
        common given names (建华, 永安), which must stay redactable.
        """
        words = {w for w in self._exact if not w.isdigit()}
        words |= {w[:-1] for r in self._regions.values() if r.bureau.name
                  for w in (r.name, *r.aliases) if len(w) > 2 and w[-1] in "省市县区旗"}
        return frozenset(words)

    def all(self) -> list[Region]:
        return list(self._regions.values())

    def listed(self) -> list[Region]:
        """The regions regions.yaml lists with a bureau (the ones taking part today), plus national."""
        return [r for r in self._regions.values() if r.bureau.name or r.code == NATIONAL_CODE]

    def counties(self) -> list[Region]:
        """The county-level regions: the ones a bureau account and an FAQ sheet are bound to."""
        return [r for r in self._regions.values() if r.level == "county"]

    def bindable(self) -> list[Region]:
        """What a bureau account can be bound to: a county-level unit, or a city bureau regions.yaml lists as
        taking part directly (衡阳市司法局 answers for its counties that have no account of their own)."""
        return [*(r for r in self.listed() if r.level == "city"), *self.counties()]

    def children(self, code: str) -> list[Region]:
        return [self._regions[c] for c in self._children.get(code, [])]

    def is_home(self, code: str) -> bool:
        """Whether `code` can be an inmate's home: a county-level unit (or 户籍不详, national)."""
        return code in self._regions and (self._regions[code].level == "county" or code == NATIONAL_CODE)

    def full_name(self, code: str) -> str:
        """湖南省邵阳市邵东市: the names of the chain below national, province first."""
        return "".join(r.name for r in reversed(self.chain(code)) if r.level != "national")

    def display_name(self, code: str) -> str:
        """邵阳市邵东市 / 北京市朝阳区: the county with its city (or province) — enough to tell namesakes apart."""
        chain = [r for r in self.chain(code) if r.level != "national"]
        if len(chain) < 2:
            return chain[0].name if chain else self._regions[code].name
        return chain[1].name + chain[0].name

    def resolve(self, query: str) -> Region:
        """Find a region by code, official name, alias, short name, city + county, old name or old code.

        Raises AmbiguousRegionError when several regions share the name, UnknownRegionError (with close
        matches) when none has it.
        """
        return self.resolve_note(query).region

    def resolve_note(self, query: str) -> Resolution:
        """Like `resolve`, with a note saying which county was used when the query is an old name or code."""
        key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", query))
        if not key:
            raise UnknownRegionError(query.strip(), [])
        codes = self._lookup(key, None)
        if not codes:
            codes = self._qualified(key)
        if codes:
            return self._one(key, codes)
        changes = self._old.get(key) or self._qualified_old(key)
        if changes:
            targets = list(dict.fromkeys(c.code for c in changes))
            if len(targets) > 1:
                self._one(key, targets)  # raises: the old name lives on in several counties of today
            change = max(changes, key=lambda c: c.year)
            region = self._regions[change.code]
            return Resolution(region, self._old_note(key, change))
        raise UnknownRegionError(key, self.suggest(key))

    def _lookup(self, key: str, within: set[str] | None) -> list[str]:
        for table in (self._exact, self._short):
            codes = table.get(key, [])
            if within is not None:
                codes = [c for c in codes if self._under(c, within)]
            if codes:
                return codes
        return []

    def _qualified(self, key: str) -> list[str]:
        """北京市朝阳区 / 长沙望城区 / 湖南湘潭县 / 湖南省湘潭市湘潭县: a province or city, then a region in it."""
        for i in range(2, len(key) - 1):
            parents = [c for c in self._lookup(key[:i], None) if self._regions[c].level in ("province", "city")]
            if not parents:
                continue
            rest = key[i:]
            codes = self._lookup(rest, set(parents)) or self._nested(rest, set(parents))
            if codes:
                return codes
        return []

    def _nested(self, rest: str, within: set[str]) -> list[str]:
        for j in range(2, len(rest) - 1):
            cities = [c for c in self._lookup(rest[:j], within) if self._regions[c].level == "city"]
            if cities and (codes := self._lookup(rest[j:], set(cities))):
                return codes
        return []

    def _qualified_old(self, key: str) -> list[Change]:
        """湖南省邵东县 / 长沙市望城县: a province or city of today, then an old name of a county in it."""
        for i in range(2, len(key) - 1):
            parents = {c for c in self._lookup(key[:i], None) if self._regions[c].level in ("province", "city")}
            if parents and (changes := [c for c in self._old.get(key[i:], []) if self._under(c.code, parents)]):
                return changes
        return []

    def _under(self, code: str, ancestors: set[str]) -> bool:
        return any(r.code in ancestors for r in self.chain(code)[1:])

    def _one(self, key: str, codes: list[str]) -> Resolution:
        codes = list(dict.fromkeys(codes))
        if len(codes) == 1:
            return Resolution(self._regions[codes[0]])
        regions = [self._regions[c] for c in codes]
        raise AmbiguousRegionError(key, regions, [self.full_name(c) for c in codes])

    def _old_note(self, key: str, change: Change) -> str:
        name = self.display_name(change.code)
        when = f"{change.year}年{change.kind}，" if change.kind not in ("同名改码",) else ""
        return f"“{key}”是旧的地名或代码（{when}现为{name}），以下按{name}回答。"

    def candidates(self, query: str) -> list[Region]:
        """Every region `query` could name (empty when none): for pickers that show the choices."""
        try:
            return [self.resolve(query)]
        except AmbiguousRegionError as exc:
            return exc.candidates
        except UnknownRegionError:
            return []

    def suggest(self, query: str, limit: int = 5) -> list[str]:
        """Official names of the regions whose names or aliases look most like `query`."""
        names = list(self._exact)
        hits = difflib.get_close_matches(query, names, n=limit * 2, cutoff=0.5)
        hits += [n for n in names if query and len(n) > 1 and (query in n or n in query) and n not in hits]
        out: list[str] = []
        for hit in hits:
            for code in self._exact[hit]:
                name = self._regions[code].name
                if len(self._exact.get(name, ())) > 1:  # namesakes (朝阳区): say which one
                    name = self.display_name(code)
                if name not in out:
                    out.append(name)
        return out[:limit]

    def search(self, query: str, limit: int = 10, boost: Mapping[str, int] | None = None,
               levels: tuple[str, ...] = ("county",)) -> list[tuple[Region, str | None]]:
        """Regions for a picker: by 汉字 (part of the name), pinyin initials (xt → 湘潭) or code prefix.

        Ranked: exact name, then name prefix, then elsewhere in the name; within each, the codes in `boost`
        (e.g. the prison's most frequent home counties) by count first, then counties of their provinces.
        Old names find today's county, with the old name as the second element.
        """
        q = re.sub(r"\s+", "", unicodedata.normalize("NFKC", query)).lower()
        if not q:
            return []
        boost = boost or {}
        provinces = {code[:2] for code in boost}
        scored: dict[str, tuple[int, int, int, str, str | None]] = {}

        def offer(region: Region, rank: int, via: str | None = None) -> None:
            if region.level not in levels:
                return
            near = 0 if region.code[:2] in provinces else 1  # the provinces the prison's inmates come from
            key = (rank, -boost.get(region.code, 0), near, region.code, via)
            if region.code not in scored or key < scored[region.code]:
                scored[region.code] = key

        if q.isdigit():
            matches = self._code_matches(q)
        elif q.isascii():
            matches = self._pinyin_matches(q)
        else:
            matches = self._name_matches(q)
        for region, rank, via in matches:
            offer(region, rank, via)
        if not scored and not q.isascii():  # 长沙望城 / 湖南湘潭县: a province or city, then the county
            for region in self._candidates_quietly(q):
                offer(region, 0)
        ranked = sorted(scored.values())[:limit]
        return [(self._regions[code], via) for *_, code, via in ranked]

    def _code_matches(self, q: str) -> Iterator[tuple[Region, int, str | None]]:
        """(region, rank, None) for a division-code prefix: 0 for the whole code, 1 for a prefix."""
        for region in self._regions.values():
            if region.code.startswith(q):
                yield region, 0 if region.code == q else 1, None

    def _pinyin_matches(self, q: str) -> Iterator[tuple[Region, int, str | None]]:
        """(region, rank, None) for pinyin initials of the short name: 0 for all of them, 1 for a prefix."""
        for region, initials, _ in self._pinyin_table():
            if initials.startswith(q):
                yield region, 0 if initials == q else 1, None

    def _name_matches(self, q: str) -> Iterator[tuple[Region, int, str | None]]:
        """(region, rank, old name or None) for 汉字: 0 the (short) name, 1 a name prefix or part of the full name
        (湘潭县 in 湖南省湘潭市湘潭县), 2 elsewhere in a name, 3 an old name beginning with `q`."""
        for region in self._regions.values():
            for name in (region.name, *region.aliases):
                pos = name.find(q)
                if pos >= 0:
                    yield region, 0 if name == q or short_name(name) == q else (1 if pos == 0 else 2), None
            if region.level == "county" and len(q) > 2 and q in self.display_name(region.code):
                yield region, 1, None
        for key, changes in self._old.items():
            for change in changes:
                if key == change.old_name and key.startswith(q):
                    yield self._regions[change.code], 3, change.old_name

    def _candidates_quietly(self, key: str) -> list[Region]:
        """The regions a qualified name (city + county) names, without close-match suggestions."""
        codes = self._qualified(key)
        if not codes:
            codes = list(dict.fromkeys(c.code for c in self._qualified_old(key)))
        return [self._regions[c] for c in codes]

    def _pinyin_table(self) -> list[tuple[Region, str, str]]:
        """(region, initials of its short name, initials of its name), computed once on first use."""
        if self._pinyin is None:
            regions = [r for r in self._regions.values() if r.level != "national"]
            table = initials_of(dict.fromkeys(n for r in regions for n in (short_name(r.name), r.name)),
                                self._cache_dir)
            self._pinyin = [(r, table[short_name(r.name)], table[r.name]) for r in regions]
        return self._pinyin

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
        """The bureau a question about `code` goes to: the county's own, or a listed city bureau above it.

        A province's office does not take county follow-ups: for a county no listed bureau covers, the answer
        names the county's own bureau (its follow-ups wait in the admin view "尚未开通的县").
        """
        for region in self.chain(code):
            if region.level in ("province", "national"):
                break
            if region.bureau.name:
                return region
        return self._regions[code]


def _add(table: dict[str, list[str]], key: str, code: str) -> None:
    codes = table.setdefault(key, [])
    if code not in codes:
        codes.append(code)
