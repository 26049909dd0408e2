"""Offline Mandarin speech with Debian's espeak-ng, cached per text in the data directory.

The voice is `cmn-latn-pinyin`: the `cmn` and `zh` voices switch to English for every Chinese word and
spell it out as letters. Robotic but intelligible; no model is downloaded, the voice comes with the
Debian package. The speed (150 words a minute, about 3 characters a second) is below espeak's default
175 so that the listeners who most need it can follow.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from assistant.services.errors import UnavailableError
from assistant.speech.text import MAX_SPEECH_CHARS, prepare_for_speech

VOICE = "cmn-latn-pinyin"
SPEED = 150
TIMEOUT = 30.0  # seconds for one synthesis; the longest allowed text takes well under one
MAX_CACHED = 500  # files; the oldest go first
UNAVAILABLE = "朗读暂时不能用：这台电脑上没有装中文语音（espeak-ng）。请请民警或旁边的人帮你读一下。"


@dataclass(frozen=True)
class Speech:
    wav: bytes
    text: str  # what was spoken (after preparation)
    cached: bool


class Synthesizer:
    """`speak(answer_text)` → WAV bytes; raises UnavailableError when espeak-ng is missing or fails."""

    def __init__(self, cache_dir: Path, binary: str = "espeak-ng", voice: str = VOICE, speed: int = SPEED,
                 max_chars: int = MAX_SPEECH_CHARS, max_cached: int = MAX_CACHED):
        self.cache_dir, self.binary, self.voice, self.speed = cache_dir, binary, voice, speed
        self.max_chars, self.max_cached = max_chars, max_cached
        self._lock = threading.Lock()

    def available(self) -> bool:
        return shutil.which(self.binary) is not None

    def cache_key(self, spoken: str) -> str:
        return hashlib.sha256(f"{self.voice}|{self.speed}|{spoken}".encode()).hexdigest()

    def speak(self, text: str) -> Speech:
        spoken = prepare_for_speech(text, self.max_chars)
        if not spoken:
            raise UnavailableError("这段回答里没有可以朗读的文字")
        path = self.cache_dir / f"{self.cache_key(spoken)}.wav"
        try:
            return Speech(path.read_bytes(), spoken, cached=True)
        except FileNotFoundError:
            pass
        with self._lock:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.cache_dir, suffix=".part")
        os.close(fd)
        try:
            wav = self._synthesise(spoken, Path(tmp))
            os.replace(tmp, path)  # atomic: a reader never sees half a file
        finally:
            Path(tmp).unlink(missing_ok=True)
        self._prune()
        return Speech(wav, spoken, cached=False)

    def _synthesise(self, spoken: str, out: Path) -> bytes:
        """espeak-ng writes a proper WAV header only to a file (to a pipe it leaves the sizes unset)."""
        exe = shutil.which(self.binary)
        if exe is None:
            raise UnavailableError(UNAVAILABLE)
        try:
            done = subprocess.run([exe, "-v", self.voice, "-s", str(self.speed), "-w", str(out)],
                                  input=spoken.encode(), capture_output=True, timeout=TIMEOUT, check=False)
            wav = out.read_bytes()
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise UnavailableError(f"朗读出了问题（{type(exc).__name__}），请请民警帮你读一下。") from exc
        if done.returncode != 0 or wav[:4] != b"RIFF" or len(wav) <= 44:
            raise UnavailableError("朗读出了问题（中文语音没有出声），请请民警帮你读一下。")
        return wav

    def _prune(self) -> None:
        """Keep at most `max_cached` files, the oldest go first."""
        with self._lock:
            files = sorted(self.cache_dir.glob("*.wav"), key=lambda p: p.stat().st_mtime)
            for old in files[:max(0, len(files) - self.max_cached)]:
                old.unlink(missing_ok=True)
