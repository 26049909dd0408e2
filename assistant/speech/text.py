"""Answer text → text a speech synthesiser reads well (pure functions).

espeak-ng's Mandarin voice reads digits as cardinals ("2018年" as 两千零十八年), drops the point of a
decimal ("1.5" as 一五), reads "%" in English and speaks brackets and symbols or stumbles over them. So:
years and phone-like digit runs are read digit by digit, other numbers as Chinese numerals, "60%" as
百分之六十, ranges "3-5" as 三到五; brackets become pauses, symbols and citation keys go, line breaks
and list numbers become sentence ends. The result is cut at a sentence end to `max_chars`.

Its dictionary also misreads common polyphones of this domain (重新 as zhòng, 银行 as xíng, 以…为准 as
wèi, 不得 and 取得 as de, and 地 — 当地, 户籍地, 地方 — as the particle de). `PRONUNCIATION` replaces
those words by homophones it reads right (checked with `espeak-ng -v cmn-latn-pinyin -x`); the text
is only ever spoken, never shown.
"""

from __future__ import annotations

import re

MAX_SPEECH_CHARS = 1200
MORE_ON_SCREEN = "后面还有内容，请看屏幕。"

DIGITS = "零一二三四五六七八九"
PHONE_DIGITS = "零幺二三四五六七八九"  # the way a phone number is read aloud
_UNITS = ((100_000_000, "亿"), (10_000, "万"))
_SMALL_UNITS = ((1000, "千"), (100, "百"), (10, "十"))


def integer_words(n: int) -> str:
    """A non-negative integer as Chinese numerals: 10 → 十, 105 → 一百零五, 20000 → 两万 (两 before 万/亿)."""
    if n < 0:
        return "负" + integer_words(-n)
    if n == 0:
        return "零"
    out, pending_zero = "", False
    for value, unit in (*_UNITS, (1, "")):
        d, n = divmod(n, value)
        if d:
            words = _chunk(d)
            if out and (pending_zero or d < 1000):
                words = "零" + words
            out += words + unit
            pending_zero = False
        elif out:
            pending_zero = True
    if out.startswith("一十"):
        out = out[1:]
    if out.startswith("二") and len(out) > 1 and out[1] in "千万亿":
        out = "两" + out[1:]
    return out


def _chunk(n: int) -> str:
    """1..9999 with inner zeros: 1005 → 一千零五, 1050 → 一千零五十, 110 → 一百一十."""
    out, zero = "", False
    for value, unit in (*_SMALL_UNITS, (1, "")):
        d, n = divmod(n, value)
        if d:
            if zero and out:
                out += "零"
            out += DIGITS[d] + unit
            zero = False
        elif out:
            zero = True
    return out


def digit_words(digits: str, phone: bool = False) -> str:
    """Digit by digit: "2018" → 二零一八; phone numbers read 1 as 幺."""
    table = PHONE_DIGITS if phone else DIGITS
    return "".join(table[int(c)] for c in digits if c.isdigit())


def number_words(text: str) -> str:
    """A number as written in an answer ("25", "1.5", "0.5") → Chinese words."""
    whole, _, frac = text.partition(".")
    words = integer_words(int(whole)) if whole else "零"
    return words + ("点" + digit_words(frac) if frac else "")


PRONUNCIATION = {
    "重新": "虫新", "重复": "虫复", "重返": "虫返", "重办": "虫办", "重考": "虫考",
    "还款": "环款", "还清": "环清", "归还": "归环", "退还": "退环", "偿还": "偿环", "还钱": "环钱", "还贷": "环贷",
    "银行": "银航", "行业": "航业",
    "处罚": "储罚", "处理": "储理", "处分": "储分", "判处": "判储", "处置": "储置", "处于": "储于", "处以": "储以",
    "得到": "德到", "取得": "取德", "获得": "获德", "所得": "所德", "不得": "不德", "得以": "德以", "应得": "应德",
    "给予": "己予", "供给": "供己",
    "家长": "家掌", "长大": "掌大", "成长": "成掌", "所长": "所掌", "局长": "局掌", "科长": "科掌", "村长": "村掌",
    "组长": "组掌", "队长": "队掌", "院长": "院掌", "监狱长": "监狱掌",
    "作为": "作维", "认为": "认维", "成为": "成维", "行为": "行维", "为准": "维准", "为止": "维止", "视为": "视维",
    "称为": "称维", "以为": "以维", "改为": "改维", "分为": "分维", "为主": "维主", "变为": "变维",
    "首都": "首督",
    "请假": "请驾", "几乎": "机乎", "调解": "条解", "便宜": "骈宜", "出差": "出钗", "少年": "哨年", "会计": "快计",
    "了解": "瞭解",
}
_PRONUNCIATION = re.compile("|".join(sorted(map(re.escape, PRONUNCIATION), key=len, reverse=True)))
# 地 is the noun dì except after an adverb (认真地, 好好地): the voice reads it as the particle de
_PARTICLE_DI = re.compile(r"(?<!认真)(?<!主动)(?<!积极)(?<!及时)(?<!如实)(?<!自愿)(?<!依法)(?<!逐步)(?<!不断)"
                          r"(?<!真实)(?<!准确)(?<!合理)(?<!正确)(?<!慢慢)(?<!好好)(?<!早早)(?<!尽快)地")
_URL = re.compile(r"https?://\S+|www\.\S+")
_CITATION_KEY = re.compile(r"\[@[^\]]*\]")
_LIST_NUMBER = re.compile(r"(?m)^\s*(\d{1,2})[.、．)）]\s*")
_BULLET = re.compile(r"(?m)^\s*[-*•·#>]+\s*")
_PHONE = re.compile(r"(?<![\d.])(?:\d{3,4}-)?\d{7,8}(?![\d.])|(?<![\d.])1\d{10}(?![\d.])")
_LONG_DIGITS = re.compile(r"(?<![\d.])\d{5,}(?![\d.])")
_YEAR = re.compile(r"(?<![\d.])(\d{4})(?=\s*年)")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*[%％]")
_RANGE = re.compile(r"(\d+(?:\.\d+)?)\s*[-~～—–至]\s*(\d+(?:\.\d+)?)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_OPEN = "（([《〈「『【〔［{"
_CLOSE = "）)]》〉」』】〕］}"
_DROP = re.compile(r"[*#_^|\\<>=+`~＊＃]")
_PUNCT_RUN = re.compile(r"([，。；：！？、,.;:!?]\s*)+")
_SENTENCE_END = "。！？；"


def prepare_for_speech(text: str, max_chars: int = MAX_SPEECH_CHARS) -> str:
    """The answer as the synthesiser should read it; empty if nothing speakable is left."""
    t = _URL.sub("", text)
    t = _CITATION_KEY.sub("", t)
    t = _LIST_NUMBER.sub(lambda m: f"第{integer_words(int(m.group(1)))}，", t)
    t = _BULLET.sub("", t)
    t = _PHONE.sub(lambda m: "，" + "，".join(digit_words(g, phone=True) for g in m.group(0).split("-")) + "，", t)
    t = _LONG_DIGITS.sub(lambda m: digit_words(m.group(0)), t)
    t = _YEAR.sub(lambda m: digit_words(m.group(1)), t)
    t = _PERCENT.sub(lambda m: "百分之" + number_words(m.group(1)), t)
    t = _RANGE.sub(lambda m: f"{number_words(m.group(1))}到{number_words(m.group(2))}", t)
    t = _NUMBER.sub(lambda m: number_words(m.group(0)), t)
    t = t.replace("/", "或").replace("／", "或").replace("&", "和")
    for ch in _OPEN + _CLOSE:
        t = t.replace(ch, "，")
    t = _PRONUNCIATION.sub(lambda m: PRONUNCIATION[m.group(0)], t)
    t = _PARTICLE_DI.sub("弟", t)
    t = _DROP.sub("", t).replace("…", "。").replace("⋯", "。")
    t = re.sub(r"\s*\n\s*", "。", t)
    t = re.sub(r"[ \t\u3000]+", " ", t)
    t = _PUNCT_RUN.sub(lambda m: _strongest(m.group(0)), t)
    t = t.lstrip(" ，,、；;：:。！？").rstrip(" ，,、；;：:")
    if not re.search(r"\w", t):
        return ""
    return _cut(t, max_chars)


def _strongest(run: str) -> str:
    """A run of punctuation marks (often left by removed brackets) becomes the strongest one in it."""
    for mark in "。！？；：":
        if mark in run:
            return mark
    return "，"


def _cut(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    room = max_chars - len(MORE_ON_SCREEN)
    head = text[:room]
    end = max(head.rfind(c) for c in _SENTENCE_END)
    head = head[:end + 1] if end > room // 2 else head.rstrip("，、") + "。"
    return head + MORE_ON_SCREEN
