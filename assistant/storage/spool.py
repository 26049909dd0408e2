"""A local append-only file that keeps log records when the database cannot take them."""

from __future__ import annotations

import fcntl
import json
import os
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from assistant.storage.files import open_private, private_dir


class Spool:
    """JSON lines, fsync'ed on every append; `replay` hands each record to a writer and keeps failures.

    Appends and replays hold a lock on the spool file itself (threads and processes alike: the server and
    `assistant ask` share one spool), so a replay never drops a record appended while it ran.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    @contextmanager
    def _locked(self) -> Iterator[IO[str]]:
        """The spool file opened for appending and exclusively locked (re-opened if a replay swapped it)."""
        if not self.path.parent.is_dir():
            private_dir(self.path.parent)
        with self._lock:
            while True:
                handle = open_private(self.path, "a", encoding="utf-8")
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX)
                    if self._still_current(handle):
                        yield handle
                        return
                finally:
                    handle.close()

    def _still_current(self, handle) -> bool:
        """Whether the locked handle is still the file at `path` (a replay may have replaced it meanwhile)."""
        try:
            here, there = os.fstat(handle.fileno()), os.stat(self.path)
        except FileNotFoundError:
            return False
        return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)

    def append(self, record: dict) -> None:
        """Add one record durably; raises OSError (e.g. ENOSPC) when it cannot be written."""
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._locked() as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def has_pending(self) -> bool:
        """Whether the spool may hold records (one stat(); an empty file left by a replay holds none)."""
        try:
            info = self.path.stat()
        except OSError:
            return False
        return info.st_size > 0 and stat.S_ISREG(info.st_mode)

    def pending(self) -> list[dict]:
        if not self.path.is_file():  # missing, or a device such as /dev/full that must not be read
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a line torn by a crash mid-write: the rest is still replayed
        return out

    def replay(self, write: Callable[[dict], object]) -> int:
        """Write every pending record; records whose write fails stay in the spool. Returns how many left it.

        If the spool cannot be rewritten (disk full) it is left as it was: records already written are
        written again on the next replay, which the writer must treat as a no-op (idempotent by client_id).
        """
        if not self.path.is_file():
            return 0
        with self._locked():
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
            with open_private(tmp, "w", encoding="utf-8") as out:
                out.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in failed))
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
            return len(records) - len(failed)
