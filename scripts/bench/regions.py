"""Time region resolution and chain over the whole division tree (prints microseconds per call).

    .venv/bin/python -m scripts.bench.regions
"""

from __future__ import annotations

import time
from pathlib import Path

from assistant.knowledge.loader import load_knowledge
from assistant.knowledge.regions import RegionTree

QUERIES = ["湘潭县", "430321", "涟源", "北京市朝阳区", "湖南省湘潭市湘潭县", "邵东县", "430122", "科尔沁区"]


def main(n: int = 2000) -> None:
    kb = load_knowledge(Path(__file__).resolve().parents[2] / "knowledge")
    start = time.perf_counter()
    tree = RegionTree(kb.regions)
    print(f"{len(tree)} regions, tree built in {(time.perf_counter() - start) * 1000:.1f} ms")
    for q in QUERIES:
        start = time.perf_counter()
        for _ in range(n):
            code = tree.resolve_note(q).region.code
            tree.chain(code)
        print(f"resolve + chain {q:>12}: {(time.perf_counter() - start) / n * 1e6:7.1f} µs")
    tree.search("xt")  # pinyin initials computed once here
    for q in ("xt", "湘潭", "4303"):
        start = time.perf_counter()
        for _ in range(50):
            tree.search(q)
        print(f"search {q:>6}: {(time.perf_counter() - start) / 50 * 1000:6.2f} ms")


if __name__ == "__main__":
    main()
