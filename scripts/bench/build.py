"""Index build costs: a full build of the knowledge base, one edited document, one newly approved FAQ entry.

    .venv/bin/python scripts/bench/build.py
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from common import REPO, emit, runtime, timed


def main() -> None:
    from assistant.core.config import Settings
    from assistant.runtime import Runtime
    from assistant.services import faq as faq_service
    from assistant.storage.models import FaqRecord

    base = runtime()
    embedder = base.embedder
    _, _ = timed(lambda: embedder.model)
    work = Path(tempfile.mkdtemp(prefix="bangjiao-build-"))
    knowledge = work / "knowledge"
    shutil.copytree(REPO / "knowledge", knowledge)
    settings = Settings(data_dir=work / "data", knowledge_dir=knowledge)

    rt = Runtime(settings, embedder=embedder, progress=lambda m: None)
    full, index = timed(rt.build_index, "benchmark")
    counts = index.manifest.counts

    doc = knowledge / "docs" / "431382" / "lianyuan.md"
    doc.write_text(doc.read_text(encoding="utf-8").replace("过渡安置", "过渡性安置", 1), encoding="utf-8")
    edited = Runtime(settings, embedder=embedder, progress=lambda m: None)
    edit_time, _ = timed(edited.ensure_index)

    with edited.database.session() as s:
        s.add(FaqRecord(id="faq-bureau-431382-bench", region_code="431382", topics=["employment"], status="draft",
                        question="涟源护林员岗位招不招刑满释放人员？",
                        paraphrases=["涟源有没有护林员的活", "出来了能去看林子不", "护林员岗位涟源招人吗"],
                        answer="以乡镇公告为准。", sources=[faq_service.bureau_source("涟源市司法局", 0,
                                                                                 __import__("datetime").date.today())],
                        created_by="bench"))
    with edited.database.session() as s:
        entry = faq_service.approve(s, edited.kb, "faq-bureau-431382-bench", "bench")
    publish_time, _ = timed(edited.publish_faq, entry)
    emit("build", {"chunks": counts.get("chunk"), "faq": counts.get("faq"), "keys": counts.get("keys"),
                   "full_build_s": round(full, 1),
                   "edited_document_live_s": round(edit_time, 1),
                   "edited_document_how": "rebuild; unchanged keys reuse their vectors",
                   "approved_faq_live_s": round(publish_time, 2),
                   "approved_faq_how": "one FAQ partition re-encoded", "target": "approved FAQ live < 5 s"})
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
