"""Remove personal data from a question before it is stored or shown to a bureau.

Pure functions. What is removed: 身份证号 (18 or 15 digits), phone numbers (mobile, landline,
with separators such as - . · or spaces, +86, or written in Chinese digits 一三八…), bank card numbers
(13-19 digits, possibly grouped), e-mail addresses, WeChat and QQ ids, inmate and case numbers (A-1029,
犯人编号…, other long digit runs), street addresses down to the house (石门村3组18号, 5栋2单元301室),
and names: after self-introductions (我叫…, 本人…) and kinship words (我老婆叫…, 儿子…) — with any
surname or none (巴特尔, 乌云其其格) —, compound surnames (欧阳娜娜), frequent Mongolian name parts,
"X某" forms, and person names jieba tags in context. tests/test_redact.py tries 100+ variants.
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
EMAIL_TOKEN = "【邮箱】"
ACCOUNT_TOKEN = "【账号】"
ADDRESS_TOKEN = "【地址】"

_D = r"(?<![0-9A-Za-z])"
_E = r"(?![0-9A-Za-z])"
ID_RE = re.compile(_D + r"([1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx]|"
                   r"[1-9]\d{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3})" + _E)
_SEP = r"[-\s.·_—/]"
MOBILE_RE = re.compile(_D + r"(?:\+?86" + _SEP + r"?)?1[3-9]\d(?:" + _SEP + r"{0,2}\d{4}){2}" + _E)
LANDLINE_RE = re.compile(_D + r"(?:[(（]?0\d{2,3}[)）]?" + _SEP + r"?)\d{7,8}" + _E)
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+\s?(?:@|＠|艾特)\s?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# 微信号 abc_123 / 微信：wxid_xxx / QQ 12345
ACCOUNT_RE = re.compile(r"((?:微信|vx|wx|v信|威信|qq|扣扣)(?:号|号码|账号)?\s*(?:是|为|:|：)?\s*)"
                        r"([A-Za-z0-9][-_A-Za-z0-9]{4,29})(?![-_A-Za-z0-9])", re.IGNORECASE)
# 犯人编号A-1029 / 我的编号是 F1029 / 监号 3-105 / letters and digits: A-1029, AB1029
INMATE_CUE_RE = re.compile(r"((?:犯人|罪犯|服刑人员|囚犯|在押人员|监|狱|人员|我的|案件|案)?(?:编号|号码|监号|号)"
                           r"\s*(?:是|为|:|：)?\s*)([A-Za-z0-9][-A-Za-z0-9]{1,19})(?![-A-Za-z0-9])")
CODE_RE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{1,3}[-_]?\d{3,}(?:-\d+)?(?![A-Za-z0-9])")
# digits spoken or typed in Chinese: 一三八一二三四五六七八 (7 or more in a row)
_CN_DIGITS = "〇零一二三四五六七八九幺两"
CN_NUMBER_RE = re.compile(rf"[{_CN_DIGITS}](?:[{_CN_DIGITS}\s-]?[{_CN_DIGITS}]){{6,}}")
# house-level addresses: a place then numbered parts (石门村3组18号), or two numbered parts (5栋2单元301室)
_NUM = r"[0-9０-９一二三四五六七八九十百零〇]+"
_UNIT = r"(?:组|号|栋|幢|单元|室|楼|层|弄|巷|队|排|户|门)"
ADDRESS_RE = re.compile(rf"(?:[\u4e00-\u9fff]{{1,8}}(?:村|社区|小区|花园|新村|公寓|大院|路|街|道|巷|弄|屯|庄|队)"
                        rf"(?:{_NUM}{_UNIT})+|(?:第?{_NUM}{_UNIT}){{2,}})")
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
# Compound surnames that are not ordinary words (南宫, 东方, 长孙 … are places or words and left out).
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "皇甫", "尉迟", "公孙", "慕容", "令狐", "夏侯", "宇文", "端木",
                     "独孤", "司徒", "轩辕", "钟离", "呼延", "澹台", "申屠")
COMPOUND_RE = re.compile(rf"(?:{'|'.join(COMPOUND_SURNAMES)}){_HAN}{{1,2}}")
# Frequent parts of Mongolian given names (赤峰, 翁牛特旗): a name is one long part or two parts in a row.
MONGOLIAN_PARTS = ("巴特尔", "巴图", "巴雅尔", "乌云", "其其格", "其木格", "斯琴", "图雅", "苏日娜", "娜仁", "萨仁",
                   "格日勒", "宝音", "朝鲁", "那顺", "孟和", "满都拉", "阿拉坦", "敖特根", "德力格尔", "吉日嘎拉",
                   "乌日娜", "高娃", "额尔敦", "布和", "呼和", "达来", "特木尔", "哈斯", "额日和", "巴根", "乌兰")
_MONGOL = "|".join(sorted(MONGOLIAN_PARTS, key=len, reverse=True))
MONGOLIAN_RE = re.compile(rf"(?:{_MONGOL})(?:{_MONGOL})+|巴特尔|其其格|其木格|苏日娜|格日勒|德力格尔|吉日嘎拉|"
                          rf"乌日娜|额尔敦|特木尔|额日和|阿拉坦|敖特根|满都拉")
# A strong cue (我叫…, 名叫…, 我儿子叫…) is followed by a name whatever its surname: 2-5 characters.
_STOP = r"(?=[，,。.!！?？;；、\s]|$|今年|现在|在|的|是|想|问|要|能|有|和|跟|从|因|判|出|刚|已|说|他|她)"
CUE_NAME_RE = re.compile(rf"((?:我|俺)(?:的)?(?:名字)?(?:叫做|叫|名叫)|名叫|本人叫|姓名(?:是|叫|:|：)|"
                         rf"(?:{_KIN})(?:叫做|叫|名叫|的名字是))\s*({_HAN}{{2,5}}?){_STOP}")


@lru_cache(maxsize=1)
def _posseg():
    import jieba.posseg

    from assistant.text.jieba_dictionary import standard_tokenizer

    standard_tokenizer()
    return jieba.posseg


def _word_freq() -> dict[str, int]:
    """jieba's dictionary frequencies (the dictionary the tagger uses; read once per process), without loading
    the tagger's own models (`jieba.posseg`, seconds): a question that cannot hold a name never needs them."""
    from assistant.text.jieba_dictionary import standard_tokenizer

    return standard_tokenizer().FREQ


def load_tagger() -> None:
    """Load the name tagger now (its dictionary and models take seconds), e.g. while a server warms up."""
    list(_posseg().cut("王建国"))


COMMON_WORD_FREQ = 50  # jieba tags some common words nr (黄金周, 石家庄, 汤圆); real names are rare in its dictionary


def _possible_name(word: str, keep: Collection[str], freq: dict[str, int]) -> bool:
    """Whether a word the tagger calls a person name (nr) is kept as one: 2-3 characters starting with a common
    surname, not a place name in `keep`, not a common dictionary word."""
    return (2 <= len(word) <= 3 and word[0] in SURNAMES and word not in keep
            and (freq.get(word) or 0) < COMMON_WORD_FREQ)


def tagger_needed(text: str, keep: Collection[str] = ()) -> bool:
    """Whether the tagger could find a name in `text` at all: some 2-3 character stretch starting with a common
    surname passes `_possible_name`. The tagger's words are stretches of the text, so when none does, its result
    is empty whatever it tags, and the costly tagging pass is skipped without changing the output."""
    freq = _word_freq()
    return any(_possible_name(text[i:i + n], keep, freq)
               for i, ch in enumerate(text) if ch in SURNAMES for n in (2, 3) if i + n <= len(text))


def _names_by_tagger(text: str, keep: Collection[str]) -> list[str]:
    """Person names (jieba tag nr) of 2-3 characters starting with a common surname, except common
    dictionary words and the words in `keep` (place names such as 林西)."""
    if not tagger_needed(text, keep):
        return []
    freq = _word_freq()
    return [w.word for w in _posseg().cut(text) if w.flag == "nr" and _possible_name(w.word, keep, freq)]


_BEFORE_ADDRESS = re.compile(r"^.*(?:住在|家在|住|在|于|到|是|家)")


def _address(m: re.Match) -> str:
    """The address replaced, the words before it that the place pattern took along (我家住在…) kept."""
    lead = _BEFORE_ADDRESS.match(m.group(0))
    if lead and len(lead.group(0)) < len(m.group(0)) - 2:
        return lead.group(0) + ADDRESS_TOKEN
    return ADDRESS_TOKEN


def redact(text: str, keep: Collection[str] = ()) -> str:
    """The text with personal data replaced by bracketed placeholders. Words in `keep` (region names
    and aliases) are never taken for names."""
    text = EMAIL_RE.sub(EMAIL_TOKEN, text)
    text = ACCOUNT_RE.sub(lambda m: m.group(1) + ACCOUNT_TOKEN, text)
    text = ID_RE.sub(ID_TOKEN, text)
    text = MOBILE_RE.sub(PHONE_TOKEN, text)
    text = CARD_RE.sub(CARD_TOKEN, text)
    text = LANDLINE_RE.sub(PHONE_TOKEN, text)
    text = INMATE_CUE_RE.sub(lambda m: m.group(1) + NUMBER_TOKEN, text)
    text = CODE_RE.sub(NUMBER_TOKEN, text)
    text = LONG_NUMBER_RE.sub(NUMBER_TOKEN, text)
    text = CN_NUMBER_RE.sub(lambda m: PHONE_TOKEN if len(re.sub(r"[\s-]", "", m.group(0))) == 11 else NUMBER_TOKEN,
                            text)
    text = ADDRESS_RE.sub(_address, text)

    def name_or_place(m: re.Match) -> str:
        place = any(m.group(2).startswith(word) for word in keep if len(word) >= 2)
        return m.group(0) if place else m.group(1) + NAME_TOKEN

    text = SELF_RE.sub(name_or_place, text)
    text = KIN_RE.sub(name_or_place, text)
    text = CUE_NAME_RE.sub(name_or_place, text)
    text = COMPOUND_RE.sub(NAME_TOKEN, text)
    text = MONGOLIAN_RE.sub(NAME_TOKEN, text)
    text = MOU_RE.sub(NAME_TOKEN, text)
    for name in sorted(set(_names_by_tagger(text, keep)), key=len, reverse=True):
        text = text.replace(name, NAME_TOKEN)
    return text
