"""Remove personal data from a question before it is stored or shown to a bureau.

Pure functions. What is removed: 身份证号 (18 or 15 digits), phone numbers (mobile, landline,
with separators or +86), bank card numbers (13-19 digits, possibly grouped), other long digit runs
(inmate or case numbers), and names: after self-introductions (我叫…, 本人…), after kinship words
(我老婆叫…, 儿子…), "X某" forms, and person names jieba tags in context.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache

ID_TOKEN = "【身份证号】"
PHONE_TOKEN = "【电话】"
CARD_TOKEN = "【银行卡号】"
NUMBER_TOKEN = "【号码】"
NAME_TOKEN = "【姓名】"

_D = r"(?<![0-9A-Za-z])"
_E = r"(?![0-9A-Za-z])"
ID_RE = re.compile(_D + r"([1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx]|"
                   r"[1-9]\d{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3})" + _E)
MOBILE_RE = re.compile(_D + r"(?:\+?86[-\s]?)?1[3-9]\d(?:[-\s]?\d{4}){2}" + _E)
LANDLINE_RE = re.compile(_D + r"(?:\(?0\d{2,3}\)?[-\s]?)\d{7,8}" + _E)
CARD_RE = re.compile(_D + r"(?:\d[ -]?){12,18}\d" + _E)
LONG_NUMBER_RE = re.compile(r"\d{6,}")

# Common surnames (the 100 most frequent), for names that follow a cue or end in 某.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_HAN = r"[\u4e00-\u9fff]"
_KIN = (r"老婆|媳妇|妻子|爱人|老公|丈夫|儿子|女儿|闺女|孩子|娃|哥哥|姐姐|弟弟|妹妹|哥|姐|弟|妹|爸爸|妈妈|爸|妈|"
        r"父亲|母亲|老娘|老爹|朋友|同案|狱友|舅舅|叔叔|阿姨|表哥|表弟|堂哥|堂弟|律师|民警|警官|干部|管教")
# 我叫张三 / 我的名字叫张三 / 本人张三 / 我是张三，… (the name must start with a common surname)
SELF_RE = re.compile(rf"((?:我|俺)(?:的)?(?:名字)?(?:叫做|叫|名叫|是)|本人(?:叫)?|姓名(?:是|叫|:|：)?)\s*"
                     rf"([{SURNAMES}]{_HAN}{{1,2}})(?={_HAN}{{0,1}}[，,。.!！?？\s]|$|今年|刚|在|判|的|因|，)")
KIN_RE = re.compile(rf"((?:{_KIN})(?:叫做|叫|名叫|是)?)\s*([{SURNAMES}]{_HAN}{{1,2}})"
                    r"(?=[，,。.!！?？\s]|$|的|在|说|他|她|今年|现在)")
MOU_RE = re.compile(rf"[{SURNAMES}]某{{1,2}}")


@lru_cache(maxsize=1)
def _posseg():
    import logging

    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return jieba.posseg


COMMON_WORD_FREQ = 50  # jieba tags some common words nr (黄金周, 石家庄, 汤圆); real names are rare in its dictionary


def _names_by_tagger(text: str, keep: Collection[str]) -> list[str]:
    """Person names (jieba tag nr) of 2-3 characters starting with a common surname, except common
    dictionary words and the words in `keep` (place names such as 林西)."""
    import jieba

    freq = jieba.dt.FREQ
    return [w.word for w in _posseg().cut(text)
            if w.flag == "nr" and 2 <= len(w.word) <= 3 and w.word[0] in SURNAMES and w.word not in keep
            and (freq.get(w.word) or 0) < COMMON_WORD_FREQ]


def redact(text: str, keep: Collection[str] = ()) -> str:
    """The text with personal data replaced by bracketed placeholders. Words in `keep` (region names
    and aliases) are never taken for names."""
    text = ID_RE.sub(ID_TOKEN, text)
    text = MOBILE_RE.sub(PHONE_TOKEN, text)
    text = CARD_RE.sub(CARD_TOKEN, text)
    text = LANDLINE_RE.sub(PHONE_TOKEN, text)
    text = LONG_NUMBER_RE.sub(NUMBER_TOKEN, text)
    def name_or_place(m: re.Match) -> str:
        place = any(m.group(2).startswith(word) for word in keep if len(word) >= 2)
        return m.group(0) if place else m.group(1) + NAME_TOKEN

    text = SELF_RE.sub(name_or_place, text)
    text = KIN_RE.sub(name_or_place, text)
    text = MOU_RE.sub(NAME_TOKEN, text)
    for name in sorted(set(_names_by_tagger(text, keep)), key=len, reverse=True):
        text = text.replace(name, NAME_TOKEN)
    return text
