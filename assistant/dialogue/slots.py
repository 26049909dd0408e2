"""The slots a question about life after release fills: who, when, what activity, which condition.

Pure functions over normalised text; the vocabulary comes from the lexicon (conditions) and the small
tables below, which name the people and activities inmates ask about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.text.conditions import ConditionDetector

# who the question is about; the first form of each group is how a resolved question names them
PEOPLE: dict[str, tuple[str, ...]] = {
    "self": ("我本人", "我自己", "自个儿", "自个", "自己", "本人", "俺", "我"),
    "son": ("儿子", "小子", "男娃"),
    "daughter": ("女儿", "闺女", "丫头", "姑娘", "女娃"),
    "child": ("孩子", "小孩", "子女", "娃娃", "娃", "伢子", "崽", "下一代", "后代"),
    "spouse": ("老婆", "媳妇", "爱人", "妻子", "老公", "丈夫", "对象", "配偶"),
    "parents": ("父母", "爸妈", "老人", "爹妈", "老爹", "老娘", "爸", "妈"),
    "sibling": ("兄弟", "姐妹", "哥哥", "弟弟", "姐姐", "妹妹", "亲戚", "家里人", "家人"),
}

# activities and jobs people ask about (the first form names the group in a resolved question)
ACTIVITIES: dict[str, tuple[str, ...]] = {
    "army": ("当兵", "参军", "入伍", "服兵役", "考军校"),
    "party": ("入党", "党员"),
    "civil_servant": ("考公务员", "公务员", "考公", "吃公家饭", "体制内"),
    "police": ("当警察", "警察", "公安", "考警校", "辅警", "协警"),
    "judge": ("当法官", "法官", "检察官", "当检察官"),
    "lawyer": ("当律师", "律师"),
    "teacher": ("当老师", "老师", "教师"),
    "doctor": ("当医生", "医生", "大夫", "医师", "护士"),
    "driver": ("跑滴滴", "滴滴", "网约车", "开出租", "出租车", "跑出租", "开大车", "开货车", "跑运输", "开大货车"),
    "licence": ("考驾照", "驾照", "驾驶证", "开车"),
    "school": ("上大学", "考大学", "上学", "读书", "考学", "高考"),
    "security": ("当保安", "保安"),
    "accountant": ("当会计", "会计"),
    "company": ("开公司", "当法人", "当老板", "开店", "开个店", "开个体店", "开个体", "个体店", "做生意", "个体户",
                "个体工商户", "营业执照"),
    "tour_guide": ("当导游", "导游"),
    "public_institution": ("进事业单位", "事业单位", "事业编"),
    "village_cadre": ("当村干部", "村干部", "当村主任", "当村支书", "当村官", "村委会", "村委", "村主任", "村支书",
                      "村官"),
    "job": ("找工作", "就业", "找活", "上班", "打工"),
    "abroad": ("出国", "护照", "出境"),
}

# topics named without an activity (the topic keys of topics.yaml are not needed here: these are the
# words a procedural follow-up — 去哪里办？要带什么？ — refers back to)
SUBJECTS: tuple[str, ...] = (
    "医保", "医疗保险", "养老保险", "养老", "养老金", "社保", "低保", "临时救助", "特困", "法律援助", "户口", "身份证",
    "释放证明", "犯罪记录", "无犯罪记录证明", "封存", "安置帮教", "帮教", "社区矫正", "假释", "减刑", "失业登记",
    "失业保险", "失业金", "创业贷款", "技能培训", "公租房", "居住证", "罚金", "驾驶证", "驾照", "护照",
    "社矫", "判决书", "裁定书", "退休金", "结婚", "离婚", "抚养费", "探视", "会见", "赔偿", "罚款",
)

_PROCEDURAL = re.compile(
    r"^(那|那么|那要|还有|然后|再)?(去|到)?(哪里|哪儿|哪|什么地方|啥地方|谁|哪个部门)"
    r"(办|申请|交|报|找|问|登记|弄|补|开|领|查|续|拿)"
    r"|(怎么|咋|如何)(审|批|查|领|补|续|开证明)|(批|审|办)(下来|好)|(能|可以)?领(钱|多少)"
    r"|^(这|那)?(期间|段时间|几年)"
    r"|要?(带|准备)(什么|啥|哪些)|要?(多久|多长时间|几天|多少天)|(交|付|拿)不起|没钱(交|付)?"
    r"|^(怎么|咋|如何)(办|申请|弄|整|交|报名|登记)|^(要|需要)(什么|啥|哪些)(材料|手续|证件)"
    r"|^(能|可以)?(补办|代办|网上办)"
)
_ELLIPSIS = re.compile(r"^(那|那么|要是|如果|假如|换成|还有)|呢[？?]?$")
_PEOPLE_RE = {who: re.compile("|".join(sorted(forms, key=len, reverse=True))) for who, forms in PEOPLE.items()}
_ACTIVITY_RE = {act: re.compile("|".join(sorted(forms, key=len, reverse=True))) for act, forms in ACTIVITIES.items()}
_SUBJECT_RE = re.compile("|".join(sorted(SUBJECTS, key=len, reverse=True)))
_TIME_RE = re.compile(r"(出去|出来|出狱|释放|刑满|放出来|回去|回家)(以?后|了)?")


@dataclass(frozen=True)
class Slots:
    """What one question (or part) names. Empty fields: not named."""

    who: str | None = None
    who_word: str | None = None
    activity: str | None = None
    activity_word: str | None = None
    subject: str | None = None
    conditions: frozenset[str] = frozenset()
    condition_words: tuple[str, ...] = ()
    after_release: bool = False
    procedural: bool = False
    elliptical: bool = False

    @property
    def has_content(self) -> bool:
        """Names something a policy can be about (an activity, a subject or a condition)."""
        return bool(self.activity or self.subject or self.conditions)


def _who(text: str) -> tuple[str | None, str | None]:
    """Who the question is about: a family member named anywhere wins over the asker (我娃 is the child)."""
    others = {k: v for k, v in _PEOPLE_RE.items() if k != "self"}
    who, word = _first(others, text)
    if who:
        return who, word
    return _first({"self": _PEOPLE_RE["self"]}, text)


def _first(patterns: dict[str, re.Pattern[str]], text: str) -> tuple[str | None, str | None]:
    """The group whose form appears earliest in the text (and the form as written)."""
    best: tuple[int, str, str] | None = None
    for key, pattern in patterns.items():
        m = pattern.search(text)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), key, m.group(0))
    return (best[1], best[2]) if best else (None, None)


def extract(text: str, conditions: ConditionDetector) -> Slots:
    """The slots of one normalised question."""
    core = text.strip(" ，,。？?！!")
    who, who_word = _who(core)
    activity, activity_word = _first(_ACTIVITY_RE, core)
    subject = m.group(0) if (m := _SUBJECT_RE.search(core)) else None
    found = conditions.find(core)
    words = tuple(conditions.matches(core)) if found else ()
    procedural = bool(_PROCEDURAL.search(core))
    elliptical = bool(_ELLIPSIS.search(core)) and len(core) <= 14
    return Slots(who, who_word, activity, activity_word, subject, found, words, bool(_TIME_RE.search(core)),
                 procedural, elliptical)


_ALTERNATIVES = sorted({f for forms in ACTIVITIES.values() for f in forms} | set(SUBJECTS), key=len, reverse=True)
_ALT = "|".join(_ALTERNATIVES)
_COORDINATED = re.compile(f"({_ALT})(、|和|跟|以及|及|还有|或者|或)({_ALT})")


def expand_coordination(text: str) -> list[str]:
    """A part naming two things ("会不会影响子女入党、就业") becomes one question for each thing."""
    m = _COORDINATED.search(text)
    if not m or m.group(1) == m.group(3):
        return [text]
    head, tail = text[:m.start()], text[m.end():]
    return [f"{head}{m.group(1)}{tail}", f"{head}{m.group(3)}{tail}"]


def inherit(text: str, slots: Slots, after_release: bool, previous: Slots | None) -> str:
    """A part of a compound question with what the question established before it: after release (anywhere
    in the question) and who (the part before it), when the part does not say so itself."""
    out = text
    if previous and previous.who not in (None, "self") and not slots.who and previous.who_word:
        out = f"{previous.who_word}{out}"
    if after_release and not slots.after_release:
        out = f"出去后{out}"
    return out
