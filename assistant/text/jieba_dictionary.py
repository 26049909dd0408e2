"""jieba's standard dictionary, read once per process and fast.

jieba keeps its prefix dictionary in a marshal cache file and reads it with `marshal.load(file)`, which reads
the file object piece by piece: about 1 s more than `marshal.loads` of the same bytes read at once (~0.4 s).
This reads jieba's own cache file in one go when it is there and otherwise lets jieba build it as usual."""

from __future__ import annotations

import logging
import marshal
import os
import tempfile
import threading

import jieba

jieba.setLogLevel(logging.WARNING)
log = logging.getLogger(__name__)
_lock = threading.Lock()


def cache_path(tokenizer: jieba.Tokenizer) -> str | None:
    """Where jieba keeps the default dictionary's cache (None for a tokenizer over another dictionary)."""
    if tokenizer.dictionary != jieba.DEFAULT_DICT:
        return None
    return tokenizer.cache_file or os.path.join(tokenizer.tmp_dir or tempfile.gettempdir(), "jieba.cache")


def read_cache(path: str) -> tuple[dict[str, int], int] | None:
    """jieba's (prefix dictionary, total frequency) from its cache file, or None when missing or unreadable."""
    try:
        with open(path, "rb") as f:
            freq, total = marshal.loads(f.read())
    except FileNotFoundError:
        return None
    except (OSError, ValueError, EOFError, TypeError) as exc:  # a broken cache: jieba rebuilds it
        log.warning("jieba cache %s unreadable, rebuilding: %s", path, exc)
        return None
    if not isinstance(freq, dict) or not isinstance(total, int):
        log.warning("jieba cache %s holds something else, rebuilding", path)
        return None
    return freq, total


def standard_tokenizer() -> jieba.Tokenizer:
    """jieba's process-wide tokenizer (`jieba.dt`, also the name tagger's) with its dictionary loaded."""
    dt = jieba.dt
    with _lock:
        path = None if dt.initialized else cache_path(dt)
        cached = read_cache(path) if path is not None else None
        if cached is not None:
            dt.FREQ, dt.total = cached
            dt.initialized = True
    dt.check_initialized()  # builds and caches the dictionary when it was not read above
    return dt
