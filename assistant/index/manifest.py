"""What an index was built from; a different manifest means the index is stale."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

INDEX_FORMAT = 2  # 2: each partition folder holds its own items (no whole-index items.json)
TRACKED_PACKAGES = ("faiss-cpu", "bm25s", "jieba", "sentence-transformers", "langchain-text-splitters",
                    "onnxruntime")


RECIPE_MODULES = ("index/items.py", "index/partition.py", "text/chunking.py", "text/analyzer.py",
                  "text/normalize.py")


def recipe_hash() -> str:
    """Hash of the code that turns knowledge into index keys and tokens: changing it makes the index stale."""
    import hashlib

    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for rel in RECIPE_MODULES:
        digest.update((root / rel).read_bytes())
    return digest.hexdigest()[:16]


def library_versions() -> dict[str, str]:
    out: dict[str, str] = {}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    return out


@dataclass
class Manifest:
    content_hash: str
    model: str
    model_dir: str
    versions: dict[str, str] = field(default_factory=library_versions)
    format: int = INDEX_FORMAT
    built_at: str = ""
    build_seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    partitions: list[str] = field(default_factory=list)
    extra_hash: str = ""
    recipe: str = field(default_factory=recipe_hash)
    encoder: str = "float32"  # the backend the vectors were made with (int8 / float32): queries must match

    def identity(self) -> tuple:
        """The fields that decide staleness (not the timing or counts)."""
        return (self.format, self.content_hash, self.extra_hash, self.model, self.encoder, self.recipe,
                tuple(sorted(self.versions.items())))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """Read a saved manifest; fields it lacks (an older format) stay empty, so it reads as stale."""
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{"versions": {}, "recipe": "", "encoder": "", **raw})
