"""Pinyin initials of place names (湘潭 → xt) for the kiosk's county search, kept in a small file.

pypinyin needs about a second to load its phrase tables and go through the country's ~3,300 names; the initials
never change for a name, so a service keeps them in its cache folder and computes only names it has not seen."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterable
from pathlib import Path

from assistant.storage.files import write_private

log = logging.getLogger(__name__)
FILE = "pinyin-initials.json"


def initials(text: str) -> str:
    """Lower-case first letters of the pinyin of `text`'s characters (pypinyin reads polyphones by phrase)."""
    from pypinyin import Style, lazy_pinyin

    return "".join(p[0] for p in lazy_pinyin(text, style=Style.FIRST_LETTER) if p).lower()


def initials_of(texts: Iterable[str], cache_dir: Path | None = None) -> dict[str, str]:
    """Initials of every text, read from `cache_dir` where known there; new ones are computed and the file
    rewritten (atomically, owner-only). A cache that cannot be read or written is ignored."""
    known: dict[str, str] = {}
    path = Path(cache_dir) / FILE if cache_dir is not None else None
    if path is not None:
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                known = {k: v for k, v in loaded.items() if isinstance(k, str) and isinstance(v, str)}
    out: dict[str, str] = {}
    missing = False
    for text in texts:
        if text not in known:
            known[text] = initials(text)
            missing = True
        out[text] = known[text]
    if path is not None and missing:
        try:
            _write(path, known)
        except OSError as exc:
            log.warning("pinyin cache not written (%s): %s", path, exc)
    return out


def _write(path: Path, table: dict[str, str]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private(path, json.dumps(table, ensure_ascii=False, sort_keys=True).encode("utf-8"))
