"""Read-aloud: text prepared for espeak-ng (pure) and offline synthesis with the cache."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave

import pytest

from assistant.services.errors import UnavailableError
from assistant.speech.synth import VOICE, Synthesizer
from assistant.speech.text import MORE_ON_SCREEN, PRONUNCIATION, integer_words, prepare_for_speech

ANSWER = ("醉酒驾驶机动车的，吊销驾驶证，5年内不得重新取得；从驾驶证被吊销时起算，满5年后可以重新申请。"
          "具体以当地公安机关交通管理部门的规定为准。")


@pytest.mark.parametrize(("n", "words"), [(0, "零"), (5, "五"), (10, "十"), (15, "十五"), (20, "二十"),
                                          (105, "一百零五"), (110, "一百一十"), (1005, "一千零五"),
                                          (2000, "两千"), (10000, "一万"), (20000, "两万"), (100005, "十万零五"),
                                          (12345678, "一千二百三十四万五千六百七十八"), (200000000, "两亿")])
def test_integer_words(n, words):
    assert integer_words(n) == words


@pytest.mark.parametrize(("text", "spoken"), [
    ("5年内不得重新申请", "五年内不德虫新申请"),
    ("《中华人民共和国社会保险法》（2018年修正）第25条", "中华人民共和国社会保险法，二零一八年修正，第二十五条"),
    ("补贴60%，约1.5万元，3-5个工作日", "补贴百分之六十，约一点五万元，三到五个工作日"),
    ("电话：0738-1234567", "电话：零七三八，幺二三四五六七"),
    ("以户籍地的规定为准", "以户籍弟的规定维准"),
    ("认真地填写", "认真地填写"),
    ("到银行还款", "到银航环款"),
])
def test_numbers_symbols_and_polyphones_read_sensibly(text, spoken):
    assert prepare_for_speech(text) == spoken


def test_list_numbers_headers_links_and_citation_keys_become_pauses_or_go():
    text = "1. 问：医保怎么办\n【涟源】到乡镇（街道）服务站办理[@sb25]，见 https://example.org/a\n\n2. 问：低保\n申请……"
    spoken = prepare_for_speech(text)
    assert spoken.startswith("第一，问：医保怎么办。涟源，到乡镇，街道，服务站办理")
    assert "第二，问：低保。申请" in spoken
    for gone in ("http", "@", "【", "（", "[", "…", "\n", "1", "2"):
        assert gone not in spoken


def test_long_text_is_cut_at_a_sentence_end():
    text = "出狱后到户籍地办理参保手续。" * 200
    spoken = prepare_for_speech(text, max_chars=300)
    assert len(spoken) <= 300 and spoken.endswith("。" + MORE_ON_SCREEN)
    assert prepare_for_speech("。（）【】") == ""


@pytest.mark.slow  # runs espeak-ng
def test_pronunciation_replacements_are_read_as_intended():
    """Every replacement changes what the voice says (the original word is misread; its dictionary is what
    is checked here, so espeak-ng must be installed)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.fail("espeak-ng is missing: ./scripts/setup.sh installs it")
    def phonemes(text: str) -> str:
        return subprocess.run([exe, "-q", "-x", "-v", VOICE, text], capture_output=True, text=True,
                              check=True).stdout.strip()
    misread = [w for w, r in PRONUNCIATION.items() if phonemes(w) == phonemes(r)]
    assert misread == [], "these replacements change nothing: drop them"


@pytest.fixture
def synth(tmp_path):
    s = Synthesizer(tmp_path / "speech")
    if not s.available():
        pytest.fail("espeak-ng is missing: ./scripts/setup.sh installs it")
    return s


def duration(wav: bytes) -> float:
    with wave.open(io.BytesIO(wav)) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        return w.getnframes() / w.getframerate()


@pytest.mark.slow  # runs espeak-ng
def test_synthesis_gives_a_wav_as_long_as_the_text_needs_and_caches_it(synth):
    first = synth.speak(ANSWER)
    # ≈ 2–5 characters a second: audible speech, not silence and not a stuck stream
    assert not first.cached and 2 <= len(first.text) / duration(first.wav) <= 5
    again = synth.speak(ANSWER)
    assert again.cached and again.wav == first.wav
    assert len(list(synth.cache_dir.glob("*.wav"))) == 1 and not list(synth.cache_dir.glob("*.part"))


@pytest.mark.slow  # runs espeak-ng
def test_the_pinyin_voice_speaks_chinese_not_letters():
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.fail("espeak-ng is missing: ./scripts/setup.sh installs it")
    pinyin = subprocess.run([exe, "-q", "-x", "-v", VOICE, "出狱"], capture_output=True, text=True).stdout
    english = subprocess.run([exe, "-q", "-x", "-v", "cmn", "出狱"], capture_output=True, text=True).stdout
    assert "(en)" not in pinyin and "(en)" in english


@pytest.mark.slow  # runs espeak-ng
def test_cache_is_bounded(tmp_path, synth):
    small = Synthesizer(tmp_path / "small", max_cached=2)
    for text in ("医保", "低保", "养老"):
        small.speak(text)
    assert len(list(small.cache_dir.glob("*.wav"))) == 2


def test_missing_espeak_is_a_clear_unavailable_error(tmp_path):
    s = Synthesizer(tmp_path / "speech", binary="espeak-ng-not-installed")
    assert not s.available()
    with pytest.raises(UnavailableError, match="espeak-ng"):
        s.speak(ANSWER)
    with pytest.raises(UnavailableError, match="没有可以朗读"):
        s.speak("【】")
    assert not list((tmp_path / "speech").glob("*"))
