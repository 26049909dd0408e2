"""Where the time to the first answer goes, in one process: the service's warm-up step by step (imports, knowledge
and database, region tree, analyzer, index manifest, index load, model load, first answer, name tagger, county
pinyin table), and when the service would say it is ready. Run it with the index present (as `memory.py` does).

    BANGJIAO_DATA_DIR=… .venv/bin/python scripts/bench/startup.py
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

from common import emit  # noqa: E402  (the clock starts before any import)


def main() -> None:
    marks: dict[str, float] = {}
    last = [STARTED]

    def mark(name: str) -> None:
        now = time.perf_counter()
        marks[name] = round(now - last[0], 2)
        last[0] = now

    import assistant.api.main  # noqa: F401  (what `assistant serve` imports)

    mark("imports_s")
    from assistant.core.config import Settings
    from assistant.privacy import redact
    from assistant.runtime import Runtime

    rt = Runtime(Settings())
    rt.kb  # noqa: B018
    mark("knowledge_and_database_s")
    rt.regions  # noqa: B018
    mark("region_tree_s")
    rt.analyzer  # noqa: B018
    mark("analyzer_s")
    rt.expected_manifest()
    mark("index_manifest_s")
    rt.ensure_index()
    assert rt.last_build is None, f"the index was rebuilt ({rt.last_build}): build it first"
    mark("index_load_s")
    rt.embedder.model  # noqa: B018
    mark("model_load_s")
    rt.answerer.run("出狱后医保怎么办", "000000")
    mark("first_answer_s")
    tagger = getattr(redact, "load_tagger", None)
    tagger() if tagger else redact.redact("我叫张三")
    mark("name_tagger_s")
    rt.regions.search("xt")
    mark("county_pinyin_s")
    total = round(time.perf_counter() - STARTED, 2)
    late = ("name_tagger_s", "county_pinyin_s") if tagger else ()  # loaded after ready where the code does so
    emit("start-up, step by step", {**marks, "total_s": total,
                                    "ready_s": round(total - sum(marks[k] for k in late), 2),
                                    "after_ready": list(late)})


if __name__ == "__main__":
    main()
