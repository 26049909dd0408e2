"""FAQ entries: the YAML files under faq/ and single mappings from elsewhere (the database), same rules."""

from __future__ import annotations

import re
from pathlib import Path

from assistant.knowledge.citations import parse_source
from assistant.knowledge.models import FaqEntry, Region, Source, Topic
from assistant.knowledge.problems import Collector, Problem, common_checks, date_field, text_field, where
from assistant.text.normalize import normalize

FAQ_STATUS = ("draft", "approved")
MIN_PARAPHRASES = 3
_CJK = r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]"
_CJK_GAP_RE = re.compile(rf"(?<={_CJK})\s+(?={_CJK})")


def join_cjk_lines(text: str) -> str:
    """Remove the spaces YAML folding puts between Chinese sentences (e.g. answers written with >-)."""
    return _CJK_GAP_RE.sub("", text)


def load_faq_file(col: Collector, path: Path, ids: dict[str, str], regions: dict[str, Region],
                  topics: dict[str, Topic]) -> list[FaqEntry]:
    """The valid entries of one FAQ file; problems go to `col`."""
    raw = col.read_yaml(path)
    if raw is None:
        return []
    if not isinstance(raw, list):
        col.add(path, "文件", "FAQ 文件应是条目列表")
        return []
    out: list[FaqEntry] = []
    for i, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            col.add(path, f"第{i}条", "FAQ 条目必须是映射")
            continue
        entry = parse_faq_entry(col, path, item, ids, regions, topics, prefix=f"第{i}条 ")
        if entry:
            out.append(entry)
    return out


def parse_faq_entry(col: Collector, path: Path, item: dict, ids: dict[str, str], regions: dict[str, Region],
                    topics: dict[str, Topic], prefix: str = "") -> FaqEntry | None:
    """Validate one FAQ mapping; problems go to `col`."""
    before = len(col.problems)
    ident, region, entry_topics = common_checks(col, path, item, ids, regions, topics, prefix)
    status = text_field(item, "status")
    if status not in FAQ_STATUS:
        col.add(path, where(item, "status", prefix), f"status 应为 draft 或 approved：{status!r}")
    question, answer = text_field(item, "question"), text_field(item, "answer")
    answer = join_cjk_lines(answer) if answer else answer
    if not question:
        col.add(path, where(item, "question", prefix), "缺少问题 question")
    if not answer:
        col.add(path, where(item, "answer", prefix), "缺少回答 answer")
    paraphrases = [str(p).strip() for p in item.get("paraphrases") or [] if str(p).strip()]
    if status == "approved" and len(paraphrases) < MIN_PARAPHRASES:
        col.add(path, where(item, "paraphrases", prefix),
                f"已发布的条目至少要有 {MIN_PARAPHRASES} 种口语问法，现在只有 {len(paraphrases)} 种")
    raw_sources = item.get("sources")
    sources: list[Source] = []
    if not isinstance(raw_sources, list) or not raw_sources:
        col.add(path, where(item, "sources", prefix), "缺少来源 sources（回答必须注明出处）")
    else:
        for j, raw in enumerate(raw_sources, 1):
            src = parse_source(col, path, raw, f"{prefix}sources[{j}]")
            if src:
                sources.append(src)
    dates = {k: date_field(col, path, item, k) for k in ("reviewed", "review_due")}
    if len(col.problems) > before:
        return None
    return FaqEntry(ident or "", region or "", entry_topics, status or "", question or "", tuple(paraphrases),
                    answer or "", tuple(sources), col.rel(path), **dates)


def validate_faq_mapping(item: dict, where: str, ids: dict[str, str], regions: dict[str, Region],
                         topics: dict[str, Topic]) -> tuple[FaqEntry | None, list[Problem]]:
    """Check one FAQ mapping from outside the files (e.g. the database) with the same rules as FAQ files."""
    col = Collector(Path("/"))  # `where` is not under it, so problems keep the name as given
    entry = parse_faq_entry(col, Path(where), item, ids, regions, topics)
    return entry, col.problems


def _wording_key(text: str) -> str:
    """A wording without case, width, traditional forms, punctuation or spaces (what matching cannot tell apart)."""
    return re.sub(r"[\W_]+", "", normalize(text))


def wording_clashes(entries: list[FaqEntry]) -> list[Problem]:
    """Problems for a wording (question or paraphrase) that two approved entries share, or one entry has twice:
    two entries with one wording compete for the same questions, and a repeat only weighs that wording twice."""
    owner: dict[str, FaqEntry] = {}
    problems: list[Problem] = []
    for entry in entries:
        if entry.status != "approved":
            continue
        seen: set[str] = set()
        for i, text in enumerate((entry.question, *entry.paraphrases)):
            key = _wording_key(text)
            if not key:
                continue
            field = "question" if i == 0 else f"paraphrases[{i}]"
            if key in seen:
                problems.append(Problem(entry.path, f"{entry.id} {field}", f"问法重复：“{text}”"))
            elif key in owner:
                other = owner[key]
                message = f"问法“{text}”也在问答 {other.id}（{other.path}）里：两条会互相抢答，请只留在一条"
                problems.append(Problem(entry.path, f"{entry.id} {field}", message))
            seen.add(key)
            owner.setdefault(key, entry)
    return problems
