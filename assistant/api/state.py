"""What the running service holds: the runtime, the question log, readiness, the rate limiter."""

from __future__ import annotations

import logging
import threading
import time

from limits import parse

from assistant.api.conversation_store import ConversationStore
from assistant.api.knowledge_sync import KnowledgeFollower, wants_sync
from assistant.api.last_known_good import LastKnownGood
from assistant.api.shared_state import Limiter, RedisConversationStore, RedisPairings
from assistant.privacy.redact import load_tagger
from assistant.runtime import Runtime
from assistant.services.kiosks import SESSION_IDLE
from assistant.services.questions import QuestionLog
from assistant.speech.synth import Synthesizer
from assistant.storage.spool import Spool

log = logging.getLogger(__name__)
LOGIN_FAILURES_PER_USER = "5/15minutes"  # attempts since the last right password
LOGIN_FAILURES_PER_ADDRESS = "30/15minutes"  # wrong passwords
PIN_GUESSES_PER_KIOSK = "5/15minutes"  # officer PIN checks on one kiosk since its last right PIN
PAIRING_TRIES_PER_ADDRESS = "10/15minutes"  # officer-view pairing attempts from one address
PAIRING_SECONDS = 600
SPEECH_RATE = parse("30/minute")


class ServiceState:
    """Warms up in a background thread (index build/refresh, model load) so /health can report progress.

    With `BANGJIAO_REDIS_URL` set, rate limits, lockouts, the turns of kiosk sessions and pairing codes live in
    Redis and hold across service nodes; on PostgreSQL a follower applies knowledge changes made through other
    nodes (`api/knowledge_sync.py`). Without them (the embedded default) all of it stays in this process."""

    def __init__(self, runtime: Runtime, rate: str = "20/minute"):
        self.runtime = runtime
        self.qlog = QuestionLog(lambda: runtime.database, Spool(runtime.settings.spool_path),
                                runtime.regions.place_words(), background_replay=True)
        self.ready = threading.Event()
        self.error: str | None = None
        self.started = time.time()
        self.warmup_seconds: float | None = None
        self.last_known_good = LastKnownGood(SESSION_IDLE.total_seconds())  # kiosk checks, for database outages
        settings = runtime.settings
        redis_url, prefix = settings.redis_url, settings.redis_prefix
        # turns of each kiosk session
        self.conversations: ConversationStore | RedisConversationStore = (
            RedisConversationStore(redis_url, prefix, ttl=SESSION_IDLE.total_seconds()) if redis_url
            else ConversationStore(ttl=SESSION_IDLE.total_seconds()))
        self.speech = Synthesizer(settings.data_dir / "speech")  # read-aloud, cached per answer text
        self._limiter = Limiter(redis_url, prefix)
        self._shared_pairings = RedisPairings(redis_url, prefix) if redis_url else None
        self.follower = KnowledgeFollower(runtime) if runtime.use_database and wants_sync(settings.database_url) \
            else None
        self._rate = parse(rate)
        self._login_per_user = parse(LOGIN_FAILURES_PER_USER)
        self._login_per_address = parse(LOGIN_FAILURES_PER_ADDRESS)
        self._pin_per_kiosk = parse(PIN_GUESSES_PER_KIOSK)
        self._pairing_per_address = parse(PAIRING_TRIES_PER_ADDRESS)
        self._pairings: dict[str, tuple[str, float]] = {}  # short code -> (device code, expiry)
        self._pairings_lock = threading.Lock()

    def warm_up(self) -> None:
        try:
            self.runtime.ensure_index()
            self.runtime.embedder.enable_batching()
            # the model loads while the knowledge and jieba's dictionary are read: onnxruntime builds its
            # session outside the GIL (~0.7 s saved); a load error surfaces again at the first answer below
            loading = self.runtime.load_model_in_background()
            answerer = self.runtime.answerer
            loading.join()
            answerer.run("出狱后医保怎么办", "000000")  # loads the model and fills caches
            self.qlog.replay()
            if self.follower is not None:
                self.follower.start()
            self.warmup_seconds = round(time.time() - self.started, 1)
            self.ready.set()
        except Exception as exc:  # reported on /health; the process stays up to say why
            log.exception("warm-up failed")
            self.error = f"{type(exc).__name__}: {exc}"
            return
        self.warm_up_rest()

    def warm_up_rest(self) -> None:
        """After the service is ready: what only some requests need, loaded before they come (a request that
        comes first loads it itself). Not before ready: it would only delay the first answer (~3–6 s)."""
        try:
            load_tagger()  # the name tagger: for questions where a name could be (`redact.tagger_needed`)
            self.runtime.regions.search("xt")  # pinyin initials of every county, for the kiosk's county search
        except Exception:  # the requests that need them load them (and report any error) themselves
            log.exception("late warm-up failed")

    def start(self) -> None:
        threading.Thread(target=self.warm_up, name="warm-up", daemon=True).start()

    def stop(self) -> None:
        if self.follower is not None:
            self.follower.stop()
        self.qlog.settle(5)  # a spool replay under way finishes (cut short, it would only be redone next time)

    def allow(self, kiosk_id: int) -> bool:
        return self._limiter.hit(self._rate, "kiosk", str(kiosk_id))

    def allow_speech(self, kiosk_id: int) -> bool:
        """Read-aloud has its own budget (a press per answer, and again to hear it twice)."""
        return self._limiter.hit(SPEECH_RATE, "speech", str(kiosk_id))

    def login_attempt(self, username: str, address: str) -> bool:
        """Count one sign-in attempt for the user name *before* the password is checked (so parallel guesses at
        one account are counted too); False once the user name has used up its allowance or the client address
        has too many recent failures."""
        if not self._limiter.test(self._login_per_address, "login-address", address):
            return False
        return self._limiter.hit(self._login_per_user, "login-user", username.strip().lower())

    def login_failed(self, address: str) -> None:
        """A wrong password counts against the client address (right ones do not: a shared office signs in often)."""
        self._limiter.hit(self._login_per_address, "login-address", address)

    def login_succeeded(self, username: str) -> None:
        """A right password: the user name's allowance starts afresh."""
        self._limiter.clear(self._login_per_user, "login-user", username.strip().lower())

    def pin_attempt(self, kiosk_id: int) -> bool:
        """Count one officer PIN check on a kiosk before it is made; False (locked) once the kiosk has used up
        its allowance of checks since the last right PIN."""
        return self._limiter.hit(self._pin_per_kiosk, "pin-kiosk", str(kiosk_id))

    def pin_succeeded(self, kiosk_id: int) -> None:
        self._limiter.clear(self._pin_per_kiosk, "pin-kiosk", str(kiosk_id))

    def new_pairing(self, device_code: str) -> str:
        """A six-digit code, valid for PAIRING_SECONDS, that stands for a kiosk's device code on the officer's
        screen (held in memory only; a restart just means pairing again)."""
        import secrets

        if self._shared_pairings is not None:
            try:
                while True:
                    code = f"{secrets.randbelow(10**6):06d}"
                    if self._shared_pairings.add(code, device_code, PAIRING_SECONDS):
                        return code
            except self._shared_pairings.errors as exc:  # Redis down: this node's own codes until it is back
                log.warning("Redis 不可用，配对码只在本节点有效 (Redis unavailable, pairing on this node): %s", exc)
        now = time.time()
        with self._pairings_lock:
            self._pairings = {c: v for c, v in self._pairings.items() if v[1] > now}
            while True:
                code = f"{secrets.randbelow(10**6):06d}"
                if code not in self._pairings:
                    self._pairings[code] = (device_code, now + PAIRING_SECONDS)
                    return code

    def pairing_attempt(self, address: str) -> bool:
        return self._limiter.hit(self._pairing_per_address, "pairing-address", address)

    def pairing(self, code: str) -> str | None:
        """The device code a live pairing code stands for, or None."""
        if self._shared_pairings is not None and (shared := self._shared_pairings.get(code)) is not None:
            return shared
        with self._pairings_lock:
            found = self._pairings.get(code)
        return found[0] if found and found[1] > time.time() else None

    def pairing_used(self, code: str) -> None:
        if self._shared_pairings is not None:
            self._shared_pairings.remove(code)
        with self._pairings_lock:
            self._pairings.pop(code, None)
