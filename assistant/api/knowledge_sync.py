"""Knowledge changes made through any node reach this one: a background thread follows the knowledge generation
in the database (`assistant.services.knowledge_changes`).

On PostgreSQL it LISTENs on the change channel, so a change committed by another node (or the CLI) is applied
within a fraction of a second; it also polls every `poll_seconds`, so a lost notification or a broken listening
connection delays a change by at most that long. Each change re-indexes only the changed county's FAQ partition
(or swaps a bureau's contact details, or reloads the referral rules). A node that was down loads the current
knowledge at start (the index is rebuilt when stale) and applies what came after the generation it loaded.
Only started when the database is PostgreSQL (a single SQLite node has nobody to hear from).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.engine import make_url

from assistant.runtime import Runtime
from assistant.services.knowledge_changes import CHANNEL, changes_since

log = logging.getLogger(__name__)
POLL_SECONDS = 2.0


def wants_sync(database_url: str) -> bool:
    """Several nodes can share only a server database; the follower runs for PostgreSQL."""
    return make_url(database_url).get_backend_name() == "postgresql"


def libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL as a libpq connection string (password and options kept)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class KnowledgeFollower:
    def __init__(self, runtime: Runtime, poll_seconds: float = POLL_SECONDS):
        self.runtime = runtime
        self.poll_seconds = poll_seconds
        self.applied = 0  # changes applied since start (for /health)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="knowledge-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def catch_up(self) -> int:
        """Apply every change above the runtime's generation; returns how many. Never raises (retried later)."""
        try:
            with self.runtime.database.session() as s:
                changes = changes_since(s, self.runtime.generation)
            if not changes:
                return 0
            done = self.runtime.apply_changes(changes)
        except Exception as exc:  # database down, a partition that failed to build: try again next round
            log.warning("知识更新暂未同步，稍后重试 (knowledge sync failed, retrying): %s", exc)
            return 0
        self.applied += len(changes)
        log.info("已同步知识更新至第 %d 代 (knowledge generation %d): %s", self.runtime.generation,
                 self.runtime.generation, ", ".join(done) or "no change here")
        return len(changes)

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(libpq_url(self.runtime.settings.database_url), autocommit=True,
                                     connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.catch_up()  # after LISTEN: nothing committed from here on goes unheard
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=self.poll_seconds, stop_after=1):
                            pass
                        self.catch_up()
            except Exception as exc:  # no listening connection: poll until one can be made again
                log.warning("无法监听知识更新通知，改为定时查询 (LISTEN failed, polling): %s", exc)
                self.catch_up()
                self._stop.wait(self.poll_seconds)
