"""Load and validate the knowledge tree; every problem names its file, line/field and cause.

problems.py   Problem, KnowledgeError, the collector and the field checks every parser shares
citations.py  [@key] markers and source mappings
documents.py  Markdown documents with a YAML head
faq.py        FAQ files and single FAQ mappings (the database's entries use the same rules)
lexicon.py    user dictionary, synonyms, stop words, signal patterns, defining conditions
this module   regions.yaml, topics.yaml and the whole tree
"""

from __future__ import annotations

import contextlib
import hashlib
import pickle
import re
from pathlib import Path

from assistant.knowledge.divisions import load_divisions, with_divisions
from assistant.knowledge.documents import load_document
from assistant.knowledge.faq import load_faq_file, wording_clashes
from assistant.knowledge.lexicon import load_lexicon
from assistant.knowledge.models import LEVELS, Bureau, KnowledgeBase, Region, Topic
from assistant.knowledge.problems import Collector, KnowledgeError, Problem, text_field
from assistant.storage.files import write_private

__all__ = ["content_hash", "load_knowledge", "load_knowledge_cached"]


def _load_regions(col: Collector, path: Path) -> dict[str, Region]:
    raw = col.read_yaml(path)
    regions: dict[str, Region] = {}
    if raw is None:
        return regions
    if not isinstance(raw, list):
        col.add(path, "文件", "regions.yaml 应是地区列表")
        return regions
    for i, item in enumerate(raw, 1):
        where = f"第{getattr(item, 'line', '?')}行 第{i}个地区"
        if not isinstance(item, dict):
            col.add(path, where, "地区必须是映射")
            continue
        code, name, level = text_field(item, "code"), text_field(item, "name"), text_field(item, "level")
        if not code or not re.fullmatch(r"\d{6}", code):
            col.add(path, where, f"code 应为 6 位行政区划代码：{code!r}")
            continue
        if code in regions:
            col.add(path, where, f"地区代码重复：{code}")
            continue
        if not name:
            col.add(path, where, "缺少 name")
        if level not in LEVELS:
            col.add(path, where, f"level 应为 {'/'.join(LEVELS)}：{level!r}")
            continue
        bureau_raw = item.get("bureau") or {}
        bureau = Bureau(**{k: text_field(bureau_raw, k) for k in ("name", "phone", "address", "hours")})
        aliases = tuple(str(a) for a in item.get("aliases") or [])
        regions[code] = Region(code, name or code, level, text_field(item, "parent"), aliases, bureau)
    divisions = load_divisions()
    for region in regions.values():
        official = divisions.regions.get(region.code)
        if official is not None and official.level != region.level:
            col.add(path, f"地区 {region.code}", f"level 与行政区划数据不符：{region.level}（应为 {official.level}）")
    regions = with_divisions(regions, divisions)
    for region in regions.values():
        if region.parent is not None and region.parent not in regions:
            col.add(path, f"地区 {region.code}", f"上级地区代码不存在：{region.parent}")
    if sum(1 for r in regions.values() if r.parent is None) != 1:
        col.add(path, "文件", "必须有且只有一个没有上级的地区（全国）")
    return regions


def _load_topics(col: Collector, path: Path) -> dict[str, Topic]:
    raw = col.read_yaml(path)
    topics: dict[str, Topic] = {}
    if raw is not None and not isinstance(raw, list):
        col.add(path, "整个文件", "主题文件应是一个列表（每项有 key 和 name）")
        return topics
    for item in raw or []:
        if not isinstance(item, dict):
            col.add(path, f"第{getattr(item, 'line', '?')}行", "每个主题应是一项（有 key 和 name），不是一行文字")
            continue
        key, name = text_field(item, "key"), text_field(item, "name")
        if not key or not name:
            col.add(path, f"第{getattr(item, 'line', '?')}行", "主题必须有 key 和 name")
            continue
        topics[key] = Topic(key, name, text_field(item, "description") or "")
    return topics


def content_hash(root: Path) -> str:
    """SHA-256 over every knowledge file's path and bytes (what the index was built from)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in {".md", ".yaml", ".txt"}):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def load_knowledge(root: Path) -> KnowledgeBase:
    """Load the knowledge tree at `root`; raise KnowledgeError listing every problem found."""
    root = Path(root)
    col = Collector(root)
    if not root.is_dir():
        raise KnowledgeError([Problem(str(root), "目录", "知识库目录不存在")])
    regions = _load_regions(col, root / "regions.yaml")
    topics = _load_topics(col, root / "topics.yaml")
    ids: dict[str, str] = {}
    documents = [d for p in sorted((root / "docs").rglob("*.md"))
                 if (d := load_document(col, p, ids, regions, topics))]
    faq = [e for p in sorted((root / "faq").rglob("*.yaml")) for e in load_faq_file(col, p, ids, regions, topics)]
    lexicon = load_lexicon(col, root)
    col.problems.extend(wording_clashes(faq))
    if col.problems:
        raise KnowledgeError(col.problems)
    return KnowledgeBase(regions, topics, tuple(documents), tuple(faq), lexicon, content_hash(root))


CACHE_FORMAT = 1


def _cache_key(root: Path) -> str:
    """Identity of what `load_knowledge` returns: every file of the tree (any kind), the code that parses it and
    its data (the division tree), and the Python version (pickle)."""
    import sys

    digest = hashlib.sha256(f"{CACHE_FORMAT}\0{sys.version}\0".encode())
    code = Path(__file__).resolve().parent
    for base, paths in ((root, sorted(p for p in root.rglob("*") if p.is_file())),
                        (code, sorted(p for p in code.rglob("*") if p.is_file() and p.suffix in {".py", ".gz"}))):
        for path in paths:
            digest.update(str(path.relative_to(base)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def load_knowledge_cached(root: Path, cache_dir: Path) -> KnowledgeBase:
    """`load_knowledge`, with the parsed and validated tree kept in `cache_dir` (owner-only) under a hash of
    every file it depends on: a start with unchanged knowledge reads one file instead of parsing the YAML (~1 s).
    A tree with problems is never cached (KnowledgeError as ever); a cache that cannot be read or written is
    ignored."""
    root = Path(root)
    if not root.is_dir():
        return load_knowledge(root)
    path = Path(cache_dir) / f"knowledge-{_cache_key(root)}.pickle"
    try:
        with open(path, "rb") as handle:
            kb = pickle.load(handle)  # written by this service into its own data folder (0600)
        if isinstance(kb, KnowledgeBase):
            return kb
    except Exception:  # missing, truncated or from another version: parse again
        pass
    kb = load_knowledge(root)
    with contextlib.suppress(OSError):
        _write_cache(path, kb)
    return kb


def _write_cache(path: Path, kb: KnowledgeBase) -> None:
    """Write the cache atomically and owner-only, and remove the caches of earlier versions of the tree."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    for old in path.parent.glob("knowledge-*.pickle"):
        old.unlink(missing_ok=True)
    write_private(path, pickle.dumps(kb, protocol=pickle.HIGHEST_PROTOCOL))
