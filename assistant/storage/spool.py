"""A local append-only file that keeps log records when the database cannot take them."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path


class Spool:
    """JSON lines, fsync'ed on every append; `replay` hands each record to a writer and keeps failures."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, record: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def pending(self) -> list[dict]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a line torn by a crash mid-write: the rest is still replayed
        return out

    def replay(self, write: Callable[[dict], None]) -> int:
        """Write every pending record; records whose write fails stay in the spool. Returns how many left it."""
        with self._lock:
            records = self.pending()
            if not records:
                return 0
            failed = []
            for record in records:
                try:
                    write(record)
                except Exception:  # keep it for the next replay, whatever went wrong
                    failed.append(record)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in failed), encoding="utf-8")
            os.replace(tmp, self.path)
            return len(records) - len(failed)
