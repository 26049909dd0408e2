"""The text shown to the asker: quoted from the knowledge base, never generated."""

from __future__ import annotations

import re

from assistant.answering.models import SourceRef
from assistant.index.items import Item
from assistant.knowledge.models import FILL_IN_RE, Region
from assistant.knowledge.regions import RegionTree

TOPIC_LIST = (
    "出狱后的就业、医保、养老、法律援助、职业限制、驾驶证、户口证件、"
    "低保救助、犯罪记录、安置帮教、社区矫正、假释"
)


CONTACT_FIELDS = {"安置帮教联系电话": "phone", "联系电话": "phone", "电话": "phone", "地址": "address",
                  "办公时间": "hours"}


def saved_contact(label: str, regions: RegionTree | None) -> str | None:
    """The bureau's own saved phone, address or office hours for a fill-in such as "涟源市司法局地址"."""
    if regions is None or "司法局" not in label:
        return None
    bureau, _, field = label.rpartition("司法局")
    attribute = CONTACT_FIELDS.get(field)
    if attribute is None:
        return None
    for region in regions.all():
        if f"{bureau}司法局" in (region.bureau.name, f"{region.name}司法局"):
            return getattr(region.bureau, attribute)
    return None


ASK_OFFICER = "暂未公布，请向监狱民警询问"  # what the kiosk says for a field the bureau has not filled in


def render_fill_ins(text: str, regions: RegionTree | None = None, missing: str = ASK_OFFICER) -> str:
    """Turn bureau fill-in fields into the bureau's saved contact detail, or, while the bureau has not filled
    one in, a plain note naming the field (`missing`: the kiosk's; printed sheets pass their own)."""
    def fill(m: re.Match[str]) -> str:
        name = m.group(1).strip()
        saved = saved_contact(name, regions)
        return saved if saved else f"（{name + '：' if name else ''}{missing}）"
    return FILL_IN_RE.sub(fill, text)


def fill_saved(text: str, regions: RegionTree | None = None) -> str:
    """Fill in only the fields the bureau has saved; blank ones stay marked (to judge what a text states)."""
    return FILL_IN_RE.sub(lambda m: saved_contact(m.group(1), regions) or m.group(0), text)


def source_refs(item: Item, regions: RegionTree) -> list[SourceRef]:
    region = regions[item.region].name if item.region in regions else item.region
    return [SourceRef(s.title, s.citation, region) for s in item.sources]


def faq_answer(item: Item, regions: RegionTree | None = None) -> str:
    return render_fill_ins(item.text, regions)


def passage_answer(items: list[Item], regions: RegionTree | None = None) -> str:
    """Quote the matching passages as plain text (their heading path is not shown: the sources say where)."""
    return "\n\n".join(render_fill_ins(item.text, regions) for item in items)


def bureau_phrase(region: Region) -> str:
    """Who takes up a follow-up: the bureau, or for 户籍不详 (national) the prison's officers."""
    if region.level == "national":
        return "监狱民警"
    return region.bureau.name or f"{region.name}司法局"


def flagged_message(bureau: Region, individual: bool) -> str:
    who = bureau_phrase(bureau)
    if individual:
        return (f"这是关于你本人或家人具体情况的问题，需要工作人员查看材料后才能回答。"
                f"我已经把问题记下来，会转给{who}，答复会通过监狱转交给你。")
    return (f"这个问题我现在还答不准，不能乱说。我已经把问题记下来，会转给{who}，"
            f"他们答复后会通过监狱转交给你。")


def no_local_note(home: Region, wider: list[Region]) -> str:
    """Said plainly when a county has no local information yet: the answer rests on `wider` rules only
    (the regions above it that have content, national last)."""
    if home.level == "national":
        return "由于户籍地不详，以下只按国家的规定回答；具体办理以户籍地司法局的答复为准。"
    names = "、".join("国家" if r.level == "national" else r.name for r in reversed(wider)) or "国家"
    return (f"说明：{home.name}的本地政策资料暂未收录，以下按{names}的规定回答；"
            f"各地具体办法以{home.name}当地司法局等部门的答复为准。")


def out_of_scope_message() -> str:
    return f"这个问题不在帮教问答能回答的范围里。你可以问{TOPIC_LIST}等方面的问题。"


def clarify_message() -> str:
    return "你是问哪方面的？请点一下下面的方面，或者把问题说完整，比如“我孩子能当兵吗”。"


def suggestion_message() -> str:
    return "这个问题我没有十分把握。你是想问下面哪一个？请点一下；都不是的话，点“都不是”，我把问题转给司法局。"


def crisis_message() -> str:
    return ("听到你这么说，我们很关心你。请马上告诉身边的民警，或者找心理咨询老师说一说，"
            "他们会帮助你。你不是一个人，家人和帮教的同志都在等你回家。")


def join_parts(parts: list[tuple[str, str]]) -> str:
    """One text for a compound question: each part under its own question."""
    if len(parts) == 1:
        return parts[0][1]
    return "\n\n".join(f"{i}. 问：{q}\n{a}" for i, (q, a) in enumerate(parts, 1))
