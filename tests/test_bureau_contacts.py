"""A bureau's own contact details: validation, precedence over the files, and reaching the running service."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import KNOWLEDGE

from assistant.core.config import Settings
from assistant.knowledge.models import Bureau, Region
from assistant.runtime import Runtime
from assistant.services.bureau_contacts import clean_contact, merge_contacts, save_contact, saved_contacts
from assistant.services.errors import InvalidError


def test_contact_fields_are_cleaned_and_checked():
    out = clean_contact({"name": " 涟源市司法局 ", "phone": "0738 - 1234567 转 8", "address": "", "hours": None})
    assert out == {"name": "涟源市司法局", "phone": "0738 - 1234567 转 8", "address": None, "hours": None}
    for values, message in [({"phone": "请打电话"}, "电话"), ({"phone": "12"}, "电话"),
                            ({"address": "【待填写：地址】"}, "待填写"), ({"hours": "天" * 101}, "太长")]:
        with pytest.raises(InvalidError, match=message):
            clean_contact(values)


def test_saved_fields_lie_over_the_files_field_by_field():
    region = Region("431382", "涟源市", "county", "431300", bureau=Bureau(name="涟源市司法局", hours="工作日"))
    merged = merge_contacts({"431382": region, "150426": region}, {"431382": Bureau(phone="0738-1234567")})
    assert merged["431382"].bureau == Bureau(name="涟源市司法局", phone="0738-1234567", hours="工作日")
    assert merged["150426"] is region


def test_saved_contact_reaches_a_running_runtime_and_the_next_start(tmp_path: Path):
    settings = Settings(data_dir=tmp_path, knowledge_dir=KNOWLEDGE)
    runtime = Runtime(settings)
    assert runtime.regions["431382"].bureau.phone is None
    with runtime.database.session() as s:
        save_contact(s, "431382", {"name": "涟源市司法局", "phone": "0738-8888888"}, "bureau1")
        saved = saved_contacts(s)["431382"]
    runtime.publish_contact("431382", saved)
    assert runtime.regions["431382"].bureau.phone == "0738-8888888"
    assert runtime.regions.bureau_region("431382").bureau.name == "涟源市司法局"
    assert runtime.regions["150426"].bureau.phone is None
    with runtime.database.session() as s:
        save_contact(s, "431382", {"name": "涟源市司法局", "phone": ""}, "bureau1")  # cleared again
        runtime.publish_contact("431382", saved_contacts(s)["431382"])
    assert runtime.regions["431382"].bureau.phone is None
    restarted = Runtime(settings)
    assert restarted.regions["431382"].bureau.name == "涟源市司法局"


def test_a_contact_published_on_one_service_stays_off_another_with_its_own_database(tmp_path: Path):
    """Two services over the same knowledge files, each with its own database: what one publishes is its own
    (in the region tree, its search and its knowledge base), and the other's start does not see it."""
    ours = Runtime(Settings(data_dir=tmp_path / "ours", knowledge_dir=KNOWLEDGE))
    theirs = Runtime(Settings(data_dir=tmp_path / "theirs", knowledge_dir=KNOWLEDGE))
    for running in (ours, theirs):  # both started: their trees built, searched once (as a service warms up)
        assert running.regions["431382"].bureau.phone is None and running.regions.search("xt")
    with ours.database.session() as s:
        save_contact(s, "431382", {"name": "涟源市司法局", "phone": "0738-7777777"}, "bureau1")
        ours.publish_contact("431382", saved_contacts(s)["431382"])
    assert ours.regions["431382"].bureau.phone == "0738-7777777"
    assert ours.regions.search("涟源")[0][0].bureau.phone == "0738-7777777"
    assert ours.kb.regions["431382"].bureau.phone == "0738-7777777"
    for other in (theirs, Runtime(theirs.settings)):
        assert other.regions["431382"].bureau.phone is None
        assert other.regions.search("涟源")[0][0].bureau.phone is None
        assert other.kb.regions["431382"].bureau.phone is None
        assert other.knowledge_files.regions["431382"].bureau.phone is None


def test_fill_ins_take_the_bureau_s_saved_details_and_stay_blank_elsewhere(full_regions):
    """After a bureau saves its phone, FAQ and passage text no longer says 暂未公布 above the saved number."""
    import copy

    from assistant.answering.compose import render_fill_ins
    from assistant.knowledge.models import Bureau
    from assistant.services.bureau_contacts import with_contact

    tree = copy.deepcopy(full_regions)
    tree.replace(with_contact(tree["431382"], Bureau(None, "0738-7654321", "涟源市人民路8号", "周一至周五")))
    text = ("电话：【待填写：涟源市司法局安置帮教联系电话】 地址：【待填写：涟源市司法局地址】 "
            "时间：【待填写：涟源市司法局办公时间】 长沙：【待填写：长沙市司法局地址】")
    out = render_fill_ins(text, tree)
    assert "0738-7654321" in out and "涟源市人民路8号" in out and "时间：周一至周五" in out
    assert "涟源市司法局" not in out and "（长沙市司法局地址：暂未公布，请向监狱民警询问）" in out
    assert render_fill_ins(text) == render_fill_ins(text, full_regions)  # nothing saved: all still blank
    from assistant.sheets.content import FILL_IN_NOTE

    sheet = render_fill_ins(text, tree, FILL_IN_NOTE)  # printed FAQ sheets agree with the kiosk, with their note
    assert "0738-7654321" in sheet and "涟源市人民路8号" in sheet
    assert "（长沙市司法局地址：暂未公布，请向监狱民警或户籍地司法局询问）" in sheet


def test_a_saved_contact_lets_a_question_for_it_be_answered(full_regions):
    """The decision judges "does the item state a phone" on the text with the bureau's saved details."""
    import copy

    from assistant.answering.compose import fill_saved
    from assistant.services.bureau_contacts import with_contact
    from assistant.text.signals import has_contact

    text = "涟源：【待填写：涟源市司法局安置帮教联系电话】 长沙：【待填写：长沙市司法局地址】"
    assert not has_contact(fill_saved(text, full_regions))
    tree = copy.deepcopy(full_regions)
    tree.replace(with_contact(tree["431382"], Bureau(None, "0738-7654321", None, None)))
    filled = fill_saved(text, tree)
    assert has_contact(filled) and "【待填写：长沙市司法局地址】" in filled  # blank fields stay marked
