"""Build, persist and load the search index (all partitions, items and term statistics)."""

from __future__ import annotations

import fcntl
import json
import math
import os
import shutil
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from assistant.embedding.embedder import Embedder
from assistant.index.items import Item
from assistant.index.manifest import Manifest
from assistant.index.partition import Partition
from assistant.text.analyzer import Analyzer

Progress = Callable[[str], None]


class IndexCorruptError(RuntimeError):
    """Index files exist but cannot be read; the caller rebuilds."""


class TermStats:
    """Document frequencies over every search key, for IDF-weighted query coverage."""

    def __init__(self, n_keys: int, df: dict[str, int]):
        self.n_keys = n_keys
        self.df = df

    @classmethod
    def from_tokens(cls, key_tokens: list[list[str]]) -> TermStats:
        df: Counter[str] = Counter()
        for tokens in key_tokens:
            df.update(set(tokens))
        return cls(len(key_tokens), dict(df))

    def idf(self, token: str) -> float:
        return math.log(1 + (self.n_keys + 1) / (self.df.get(token, 0) + 0.5))

    def to_json(self) -> dict:
        return {"n_keys": self.n_keys, "df": self.df}


def index_counts(items: Iterable[Item], n_keys: int, n_partitions: int) -> dict[str, int]:
    """What the manifest reports: items per kind, search keys, partitions."""
    return dict(Counter(i.kind for i in items)) | {"keys": n_keys, "partitions": n_partitions}


def partition_name(kind: str, region: str) -> str:
    return f"{kind}-{region}"


DEFAULT_PARTITIONS_HELD = 256  # a county's chain is ≤ 8 partitions: room for the home counties of many prisons


class PartitionStore:
    """The index's partitions by name, each with its items: read from `folder` on first use and kept in memory,
    at most `capacity` of them (the least recently used goes first, to be read again when a question needs it).
    Thread-safe. An index with no more partitions than `capacity` is read whole when it is loaded (`load_all`)."""

    def __init__(self, folder: Path | None, names: Iterable[str], capacity: int = DEFAULT_PARTITIONS_HELD,
                 held: dict[str, Partition] | None = None):
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.folder = folder
        self.names = set(names)
        self.capacity = capacity
        self._held: OrderedDict[str, Partition] = OrderedDict()
        self._lock = threading.RLock()
        self.loads = 0  # partitions read from disk
        self.evictions = 0  # partitions dropped from memory to stay within `capacity`
        for name, part in (held or {}).items():
            self.hold(name, part)

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def get(self, name: str) -> Partition | None:
        """The partition (read from disk if it is not held), or None if the index has none of that name."""
        if name not in self.names:
            return None
        with self._lock:
            part = self._held.get(name)
            if part is not None:
                self._held.move_to_end(name)
                return part
            part = self._read(name)
            self.hold(name, part)
            return part

    def _read(self, name: str) -> Partition:
        if self.folder is None:
            raise IndexCorruptError(f"索引分区不在内存中，也没有保存位置：{name}")
        try:
            part = Partition.load(self.folder / "partitions" / name)
        except Exception as exc:  # faiss, bm25s and json raise many different types for damaged files
            raise IndexCorruptError(f"索引文件损坏：{self.folder / 'partitions' / name}"
                                    f"（{type(exc).__name__}: {exc}）") from exc
        self.loads += 1
        return part

    def hold(self, name: str, part: Partition) -> None:
        """Keep `part` in memory as the most recently used (a new or replaced partition)."""
        with self._lock:
            self.names.add(name)
            self._held[name] = part
            self._held.move_to_end(name)
            while len(self._held) > self.capacity:
                self._held.popitem(last=False)
                self.evictions += 1

    def drop(self, name: str) -> None:
        """The index no longer has this partition."""
        with self._lock:
            self.names.discard(name)
            self._held.pop(name, None)

    def held(self) -> list[str]:
        """The partitions in memory, least recently used first."""
        with self._lock:
            return list(self._held)

    def load_all(self) -> None:
        """Read every partition now (checks the whole index at once); only when all of them fit."""
        for name in sorted(self.names)[: self.capacity]:
            self.get(name)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """No partition is read or swapped by another thread meanwhile (a partition's folder being replaced)."""
        with self._lock:
            yield


class ItemView(Mapping[str, Item]):
    """Every item of the index by id, found in the partitions (reading those not held): for tools and tests.
    Answering reads an item from the partition that found it (`Partition.items`)."""

    def __init__(self, store: PartitionStore):
        self._store = store

    def _parts(self) -> Iterator[Partition]:
        held = self._store.held()
        for name in [*reversed(held), *sorted(self._store.names - set(held))]:
            part = self._store.get(name)
            if part is not None:
                yield part

    def __getitem__(self, item_id: str) -> Item:
        for part in self._parts():
            if item_id in part.items:
                return part.items[item_id]
        raise KeyError(item_id)

    def __iter__(self) -> Iterator[str]:
        for part in self._parts():
            yield from part.item_ids

    def __len__(self) -> int:
        return sum(len(part.item_ids) for part in self._parts())


class SearchIndex:
    """Loaded index: partitions by (kind, region) with their items (held in a bounded LRU), term statistics."""

    def __init__(self, manifest: Manifest, partitions: PartitionStore, stats: TermStats):
        self.manifest = manifest
        self.partitions = partitions
        self.stats = stats

    @property
    def items(self) -> ItemView:
        return ItemView(self.partitions)

    def partition(self, kind: str, region: str) -> Partition | None:
        return self.partitions.get(partition_name(kind, region))

    def has_partition(self, kind: str, region: str) -> bool:
        """Whether the index has this partition (without reading it)."""
        return partition_name(kind, region) in self.partitions


@contextmanager
def build_lock(data_dir: Path) -> Iterator[None]:
    """One index build at a time on this data directory (a second process waits)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "index.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def reusable_vectors(target: Path, model: str, encoder: str = "float32") -> dict[str, np.ndarray]:
    """Vectors of the keys in the index at `target`, if built with the same model and encoder (else none).

    A rebuild then encodes only new or changed keys: an edited document costs its own chunks only.
    """
    try:
        old = read_manifest(target)
        if old is None or old.model != model or old.encoder != encoder:
            return {}
        vectors: dict[str, np.ndarray] = {}
        for name in old.partitions:
            folder = target / "partitions" / name
            keys = json.loads((folder / "keys.json").read_text(encoding="utf-8"))["keys"]
            import faiss

            dense = faiss.read_index(str(folder / "dense.faiss"))
            if dense.ntotal == len(keys):
                vectors.update(zip(keys, dense.reconstruct_n(0, dense.ntotal), strict=True))
        return vectors
    except Exception:  # a damaged old index only means nothing is reused
        return {}


def build_index(items: list[Item], manifest: Manifest, embedder: Embedder, analyzer: Analyzer, target: Path,
                progress: Progress = lambda _msg: None, capacity: int = DEFAULT_PARTITIONS_HELD) -> SearchIndex:
    """Encode and index `items`, write them under `target` atomically, and return the loaded index (holding at
    most `capacity` partitions in memory)."""
    started = time.perf_counter()
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(partition_name(item.kind, item.region), []).append(item)
    keys = [k for name in sorted(groups) for item in groups[name] for k in item.keys]
    progress(f"分词 {len(keys)} 个检索键 (tokenising)…")
    tokens = [analyzer.tokens(k) for k in keys]
    known = reusable_vectors(target, manifest.model, manifest.encoder)
    missing = list(dict.fromkeys(k for k in keys if k not in known))
    progress(f"向量化 {len(missing)} 个新的或改过的检索键，沿用 {len(keys) - len(missing)} 个 "
             f"(encoding with {embedder.model_dir.name})…")
    if missing:
        known.update(zip(missing, embedder.encode_passages(missing, show_progress=len(missing) > 64), strict=True))
    vectors = np.vstack([known[k] for k in keys]).astype("float32") if keys else np.zeros((0, 1), "f4")
    partitions: dict[str, Partition] = {}
    offset = 0
    for name in sorted(groups):
        group = groups[name]
        n = sum(len(i.keys) for i in group)
        partitions[name] = Partition.build(name, group, vectors[offset : offset + n], tokens[offset : offset + n])
        offset += n
    stats = TermStats.from_tokens(tokens)
    manifest.built_at = datetime.now(UTC).isoformat(timespec="seconds")
    manifest.build_seconds = round(time.perf_counter() - started, 2)
    manifest.counts = index_counts(items, len(keys), len(partitions))
    manifest.partitions = sorted(partitions)
    progress(f"写入索引 {target} (saving)…")
    save_index(partitions, stats, manifest, target)
    return SearchIndex(manifest, PartitionStore(target, partitions, capacity, held=partitions), stats)


def save_index(partitions: dict[str, Partition], stats: TermStats, manifest: Manifest, target: Path) -> None:
    """Write to a temporary sibling folder, then swap it in, so readers never see half an index."""
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    for name, part in partitions.items():
        part.save(tmp / "partitions" / name)
    (tmp / "stats.json").write_text(json.dumps(stats.to_json(), ensure_ascii=False), encoding="utf-8")
    manifest.save(tmp / "manifest.json")  # written last: its presence marks a complete index
    old = target.with_name(f"{target.name}.old-{os.getpid()}")
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def recover_interrupted(target: Path) -> str | None:
    """Tidy up after a build that was killed (call it holding `build_lock`, so no build is running).

    `save_index` leaves `<index>.tmp-<pid>` (the new index, complete once its manifest exists) and, for a
    moment, `<index>.old-<pid>`. If the kill came between the two renames the index folder is missing: the
    newest complete leftover is moved into place. Every other leftover is removed. Returns what was done.
    """
    leftovers = sorted(p for p in target.parent.glob(f"{target.name}.*-*")
                       if p.is_dir() and p.name.split(".")[-1].startswith(("tmp-", "old-")))
    if not leftovers:
        return None
    note = f"清理上次中断的索引构建留下的 {len(leftovers)} 个临时目录 (removed leftovers of an interrupted build)"
    complete = [p for p in leftovers if (p / "manifest.json").is_file()]
    if not target.exists() and complete:
        best = max(complete, key=lambda p: (p / "manifest.json").stat().st_mtime)
        best.rename(target)
        leftovers.remove(best)
        note = f"上次索引构建被中断，已恢复完整的索引 {best.name} (restored the index of an interrupted build)"
    for p in leftovers:
        shutil.rmtree(p, ignore_errors=True)
    return note


def read_manifest(target: Path) -> Manifest | None:
    path = target / "manifest.json"
    if not path.exists():
        return None
    try:
        return Manifest.load(path)
    except (OSError, ValueError, TypeError) as exc:
        raise IndexCorruptError(f"索引清单无法读取：{path}（{exc}）") from exc


def load_index(target: Path, capacity: int = DEFAULT_PARTITIONS_HELD) -> SearchIndex:
    """Load a complete index; raise IndexCorruptError naming the unreadable part. An index of at most `capacity`
    partitions is read whole now; a larger one (a national deployment) is read per partition as questions need
    them, at most `capacity` held at a time."""
    manifest = read_manifest(target)
    if manifest is None:
        raise IndexCorruptError(f"索引不存在或不完整：{target}")
    try:
        stats_raw = json.loads((target / "stats.json").read_text("utf-8"))
        stats = TermStats(stats_raw["n_keys"], stats_raw["df"])
    except Exception as exc:
        raise IndexCorruptError(f"索引文件损坏：{target}（{type(exc).__name__}: {exc}）") from exc
    absent = [n for n in manifest.partitions if not (target / "partitions" / n / "keys.json").is_file()]
    if absent:
        raise IndexCorruptError(f"索引文件不一致：{len(absent)} 个分区缺失（如 {absent[0]}）")
    store = PartitionStore(target, manifest.partitions, capacity)
    if len(store) <= capacity:
        store.load_all()
    return SearchIndex(manifest, store, stats)


def _write_json_atomic(path: Path, data: object) -> None:
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def replace_partition(index: SearchIndex, kind: str, region: str, items: list[Item], embedder: Embedder,
                      analyzer: Analyzer, target: Path, manifest: Manifest) -> SearchIndex:
    """Re-encode one (kind, region) partition only and swap it in, on disk and in memory.

    Used to publish an approved FAQ entry without a full rebuild: cost is one partition's keys (no file of the
    whole index is rewritten but the term statistics and the manifest).
    """
    name = partition_name(kind, region)
    old = index.partitions.get(name)
    keys = [k for item in items for k in item.keys]
    tokens = [analyzer.tokens(k) for k in keys]
    vectors = embedder.encode_passages(keys)
    new = Partition.build(name, items, vectors, tokens) if items else None
    df = dict(index.stats.df)
    n_keys = index.stats.n_keys
    counts = dict(index.manifest.counts)
    if old is not None:
        for toks in old.key_tokens:
            for t in set(toks):
                df[t] -= 1
        n_keys -= len(old.key_tokens)
        counts[kind] = counts.get(kind, 0) - len(old.item_ids)
    for toks in tokens:
        for t in set(toks):
            df[t] = df.get(t, 0) + 1
    stats = TermStats(n_keys + len(tokens), {t: c for t, c in df.items() if c > 0})
    folder = target / "partitions" / name
    with index.partitions.locked():  # no other thread reads the folder while it is swapped
        if new is not None:
            tmp = folder.with_name(f"{name}.tmp-{os.getpid()}")
            if tmp.exists():
                shutil.rmtree(tmp)
            new.save(tmp)
            if folder.exists():
                shutil.rmtree(folder)
            tmp.rename(folder)
            index.partitions.hold(name, new)
        else:
            shutil.rmtree(folder, ignore_errors=True)
            index.partitions.drop(name)
    counts[kind] = counts.get(kind, 0) + len(items)
    index.stats = stats
    manifest.built_at = index.manifest.built_at
    manifest.build_seconds = index.manifest.build_seconds
    manifest.partitions = sorted(index.partitions.names)
    manifest.counts = {**{k: n for k, n in counts.items() if n > 0}, "keys": stats.n_keys,
                       "partitions": len(index.partitions)}
    index.manifest = manifest
    _write_json_atomic(target / "stats.json", stats.to_json())
    _write_json_atomic(target / "manifest.json", asdict(manifest))
    return index
