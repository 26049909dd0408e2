"""What the running service holds: the runtime, the question log, readiness, the rate limiter."""

from __future__ import annotations

import logging
import threading
import time

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from assistant.api.conversation_store import ConversationStore
from assistant.api.last_known_good import LastKnownGood
from assistant.privacy.redact import redact
from assistant.runtime import Runtime
from assistant.services.kiosks import SESSION_IDLE
from assistant.services.questions import QuestionLog
from assistant.speech.synth import Synthesizer
from assistant.storage.spool import Spool

log = logging.getLogger(__name__)
LOGIN_FAILURES_PER_USER = "5/15minutes"
LOGIN_FAILURES_PER_ADDRESS = "30/15minutes"
SPEECH_RATE = parse("30/minute")


class ServiceState:
    """Warms up in a background thread (index build/refresh, model load) so /health can report progress."""

    def __init__(self, runtime: Runtime, rate: str = "20/minute"):
        self.runtime = runtime
        self.qlog = QuestionLog(lambda: runtime.database, Spool(runtime.settings.spool_path),
                                runtime.regions.place_words())
        self.ready = threading.Event()
        self.error: str | None = None
        self.started = time.time()
        self.warmup_seconds: float | None = None
        self.last_known_good = LastKnownGood(SESSION_IDLE.total_seconds())  # kiosk checks, for database outages
        self.conversations = ConversationStore(ttl=SESSION_IDLE.total_seconds())  # turns of each kiosk session
        self.speech = Synthesizer(runtime.settings.data_dir / "speech")  # read-aloud, cached per answer text
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._rate = parse(rate)
        self._login_per_user = parse(LOGIN_FAILURES_PER_USER)
        self._login_per_address = parse(LOGIN_FAILURES_PER_ADDRESS)

    def warm_up(self) -> None:
        try:
            self.runtime.ensure_index()
            self.runtime.embedder.enable_batching()
            answerer = self.runtime.answerer
            answerer.run("出狱后医保怎么办", "000000")  # loads the model and fills caches
            redact("我叫张三")  # loads the name tagger
            self.qlog.replay()
            self.warmup_seconds = round(time.time() - self.started, 1)
            self.ready.set()
        except Exception as exc:  # reported on /health; the process stays up to say why
            log.exception("warm-up failed")
            self.error = f"{type(exc).__name__}: {exc}"

    def start(self) -> None:
        threading.Thread(target=self.warm_up, name="warm-up", daemon=True).start()

    def allow(self, kiosk_id: int) -> bool:
        return self._limiter.hit(self._rate, "kiosk", str(kiosk_id))

    def allow_speech(self, kiosk_id: int) -> bool:
        """Read-aloud has its own budget (a press per answer, and again to hear it twice)."""
        return self._limiter.hit(SPEECH_RATE, "speech", str(kiosk_id))

    def login_allowed(self, username: str, address: str) -> bool:
        """False while a user name or a client address has too many recent failed sign-ins."""
        return (self._limiter.test(self._login_per_user, "login-user", username.strip().lower())
                and self._limiter.test(self._login_per_address, "login-address", address))

    def login_failed(self, username: str, address: str) -> None:
        self._limiter.hit(self._login_per_user, "login-user", username.strip().lower())
        self._limiter.hit(self._login_per_address, "login-address", address)
