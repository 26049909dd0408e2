"""Scale: synthetic corpora spread over many counties; build time, size on disk, memory, and query latency
for one county's scope as counties are added. Dense vectors are random unit vectors (encoding cost is
linear and measured in build.py); tokens are drawn from a Zipf-like synthetic vocabulary.

Each index is built and saved here, then served by a fresh child process the way the service loads it
(`load_index` with `--capacity` partitions held, the rest read per region chain as questions need them):
its resident memory after the imports, after loading and after the questions, and the query latency of the
first question of a county (partitions read from disk) and of the rest (held). Questions come from the home
counties of a working set (`--working-set` counties, e.g. the prisons one node serves).

    .venv/bin/python scripts/bench/scale.py --sizes 10000 100000 1000000 [--per-county 100] [--queries 400]
        [--capacity 256] [--working-set 50]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
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
    from assistant.index.store import TermStats, partition_name, save_index

    n_counties = max(1, n_chunks // per_county)
    regions = synthetic_regions(n_counties)
    vocab = [f"w{i}" for i in range(20000)]
    weights = 1 / np.arange(1, len(vocab) + 1)
    weights /= weights.sum()
    build_s = 0.0
    partitions, all_tokens = {}, []
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
        all_tokens += tokens
    manifest = Manifest("synthetic", "random", "-")
    manifest.partitions = sorted(partitions)
    target = workdir / "index"
    save_started = time.perf_counter()
    save_index(partitions, TermStats.from_tokens(all_tokens), manifest, target)
    save_s = time.perf_counter() - save_started
    size_mb = sum(f.stat().st_size for f in target.rglob("*") if f.is_file()) / 2**20
    return regions, len(partitions), build_s, save_s, size_mb


def serve(target: Path, n_chunks: int, per_county: int, capacity: int, working_set: int, queries: int) -> dict:
    """In this (fresh) process: load the index as the service does and answer `queries` searches of the working
    set's counties; resident memory at each step and latency of first (cold) and later (held) searches."""
    import psutil

    proc = psutil.Process(os.getpid())
    mb = lambda: round(proc.memory_info().rss / 2**20)  # noqa: E731
    from assistant.index.search import HybridSearcher, Query
    from assistant.index.store import load_index
    from assistant.knowledge.regions import RegionTree

    rss_imports = mb()
    rng = np.random.default_rng(1)
    regions = synthetic_regions(max(1, n_chunks // per_county))
    started = time.perf_counter()
    index = load_index(target, capacity)
    load_s = time.perf_counter() - started
    rss_loaded = mb()
    tree = RegionTree(regions)
    searcher = HybridSearcher(index, embedder=None, analyzer=None, regions=tree)
    counties = [c for c, r in regions.items() if r.level == "county"]
    chosen = [counties[int(i)] for i in rng.choice(len(counties), size=min(working_set, len(counties)),
                                                    replace=False)]
    vocab = [f"w{i}" for i in range(20000)]
    weights = 1 / np.arange(1, len(vocab) + 1)
    weights /= weights.sum()
    cold, warm, seen = [], [], set()
    for _ in range(queries):
        v = rng.standard_normal(DIM).astype("float32")
        q = Query("q", tuple(vocab[t] for t in rng.choice(len(vocab), size=5, p=weights)), v / np.linalg.norm(v))
        county = chosen[int(rng.integers(len(chosen)))]
        start = time.perf_counter()
        searcher.search(q, county, ("chunk",), k=10)
        (warm if county in seen else cold).append(time.perf_counter() - start)
        seen.add(county)
    store = index.partitions
    return {"load_s": round(load_s, 2), "rss_after_imports_mb": rss_imports, "rss_after_load_mb": rss_loaded,
            "rss_after_queries_mb": mb(), "partitions_held": len(store.held()), "partitions_read": store.loads,
            "evictions": store.evictions, "query_first_of_county": summary_ms(cold),
            "query_held": summary_ms(warm)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000, 1000000])
    parser.add_argument("--per-county", type=int, default=100)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--capacity", type=int, default=256, help="partitions held (BANGJIAO_INDEX_PARTITIONS)")
    parser.add_argument("--working-set", type=int, default=50, help="home counties the questions come from")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # the child: serve this index
    parser.add_argument("--chunks", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        print("RESULT " + json.dumps(serve(args.serve, args.chunks, args.per_county, args.capacity,
                                           args.working_set, args.queries)))
        return
    rng = np.random.default_rng(0)
    for n in args.sizes:
        workdir = Path(tempfile.mkdtemp(prefix="bangjiao-scale-"))
        try:
            regions, n_parts, build_s, save_s, size_mb = build(n, args.per_county, workdir, rng)
            child = subprocess.run(
                [sys.executable, __file__, "--serve", str(workdir / "index"), "--chunks", str(n),
                 "--per-county", str(args.per_county), "--capacity", str(args.capacity),
                 "--working-set", str(args.working_set), "--queries", str(args.queries)],
                capture_output=True, text=True, check=True)
            served = json.loads(next(line for line in child.stdout.splitlines()
                                     if line.startswith("RESULT "))[len("RESULT "):])
            emit(f"scale: {n} chunks", {"counties": sum(r.level == "county" for r in regions.values()),
                                        "partitions": n_parts, "build_s": round(build_s, 1),
                                        "save_s": round(save_s, 1), "disk_mb": round(size_mb, 1),
                                        "capacity": args.capacity, "working_set": args.working_set, **served})
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
