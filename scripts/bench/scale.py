"""Scale: synthetic corpora spread over many counties; build time, size on disk, memory, and query latency
for one county's scope as counties are added. Dense vectors are random unit vectors (encoding cost is
linear and measured in build.py); tokens are drawn from a Zipf-like synthetic vocabulary.

    .venv/bin/python scripts/bench/scale.py --sizes 10000 100000 1000000 [--per-county 100] [--queries 200]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from common import emit, summary_ms

DIM = 384


def synthetic_regions(n_counties: int):
    from assistant.knowledge.models import Bureau, Region

    regions = {"000000": Region("000000", "全国", "national", None)}
    provinces = max(1, n_counties // 1000)
    for p in range(provinces):
        pc = f"{10 + p:02d}0000"[-6:]
        regions[pc] = Region(pc, f"省{p}", "province", "000000")
    cities = max(1, n_counties // 10)
    for c in range(cities):
        cc = f"c{c:05d}"
        regions[cc] = Region(cc, f"市{c}", "city", list(regions)[1 + c % provinces])
    for k in range(n_counties):
        code = f"k{k:05d}"
        regions[code] = Region(code, f"县{k}", "county", f"c{k % cities:05d}", (), Bureau())
    return regions


def build(n_chunks: int, per_county: int, workdir: Path, rng: np.random.Generator):
    from assistant.index.items import Item
    from assistant.index.manifest import Manifest
    from assistant.index.partition import Partition
    from assistant.index.store import SearchIndex, TermStats, partition_name, save_index

    n_counties = max(1, n_chunks // per_county)
    regions = synthetic_regions(n_counties)
    vocab = [f"w{i}" for i in range(20000)]
    weights = 1 / np.arange(1, len(vocab) + 1)
    weights /= weights.sum()
    build_s = 0.0
    partitions, items, all_tokens = {}, {}, []
    codes = [c for c, r in regions.items() if r.level == "county"]
    sizes = {c: per_county for c in codes}
    sizes["000000"] = min(2000, n_chunks)  # national rules: fixed, whatever the number of counties
    for code, size in sizes.items():
        vecs = rng.standard_normal((size, DIM)).astype("float32")
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        drawn = rng.choice(len(vocab), size=(size, 12), p=weights)
        tokens = [[vocab[t] for t in row] for row in drawn]
        group = [Item(f"{code}-{i}", "chunk", f"{code}-{i}", code, "", "", "", (), (), keys=(f"{code}-{i}",))
                 for i in range(size)]
        name = partition_name("chunk", code)
        started = time.perf_counter()
        partitions[name] = Partition.build(name, group, vecs, tokens)
        build_s += time.perf_counter() - started
        items.update({i.id: i for i in group})
        all_tokens += tokens
    index = SearchIndex(Manifest("synthetic", "random", "-"), items, partitions, TermStats.from_tokens(all_tokens))
    index.manifest.partitions = sorted(partitions)
    target = workdir / "index"
    save_started = time.perf_counter()
    save_index(index, target)
    save_s = time.perf_counter() - save_started
    size_mb = sum(f.stat().st_size for f in target.rglob("*") if f.is_file()) / 2**20
    return index, regions, build_s, save_s, size_mb, vocab, weights


def main() -> None:
    import psutil

    from assistant.index.search import HybridSearcher, Query
    from assistant.knowledge.regions import RegionTree

    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000, 1000000])
    parser.add_argument("--per-county", type=int, default=100)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    proc = psutil.Process(os.getpid())
    for n in args.sizes:
        workdir = Path(tempfile.mkdtemp(prefix="bangjiao-scale-"))
        rss_before = proc.memory_info().rss
        index, regions, build_s, save_s, size_mb, vocab, weights = build(n, args.per_county, workdir, rng)
        tree = RegionTree(regions)
        searcher = HybridSearcher(index, embedder=None, analyzer=None, regions=tree)
        counties = [c for c, r in regions.items() if r.level == "county"]
        samples = []
        for _ in range(args.queries):
            v = rng.standard_normal(DIM).astype("float32")
            q = Query("q", tuple(vocab[t] for t in rng.choice(len(vocab), size=5, p=weights)), v / np.linalg.norm(v))
            county = counties[int(rng.integers(len(counties)))]
            start = time.perf_counter()
            searcher.search(q, county, ("chunk",), k=10)
            samples.append(time.perf_counter() - start)
        emit(f"scale: {n} chunks", {"counties": len(counties), "partitions": len(index.partitions),
                                    "build_s": round(build_s, 1), "save_s": round(save_s, 1),
                                    "disk_mb": round(size_mb, 1),
                                    "rss_growth_mb": round((proc.memory_info().rss - rss_before) / 2**20),
                                    "query_one_county": summary_ms(samples)})
        del index, searcher
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
