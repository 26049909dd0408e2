"""Personal data typed at a kiosk never reaches a bureau (issue 15): 100+ variants of names (any surname, compound
surnames, Mongolian names), phones (separators, Chinese digits), addresses, e-mail, WeChat/QQ ids, inmate numbers
and ID numbers, each checked absent from the redacted text, the database and every bureau surface."""

from __future__ import annotations

import time

import pytest
from helpers import KNOWLEDGE, PORTAL_PASSWORD, portal_sign_in
from sqlalchemy import select

from assistant.answering.models import Answer
from assistant.api.main import create_app
from assistant.core.config import Settings
from assistant.privacy.redact import redact
from assistant.runtime import Runtime
from assistant.services import users
from assistant.services.questions import AskContext
from assistant.storage.models import FollowUp, Question

NAMES = ["欧阳娜娜", "巴特尔", "乌云其其格", "张伟", "李秀英", "王建国", "司马光明", "上官婉清", "宝音朝鲁",
         "斯琴高娃", "苏日娜", "刘洋", "陈小明", "德力格尔", "其木格", "诸葛明辉"]
NAME_TEMPLATES = ["我叫{}，出去以后医保怎么办", "我老婆叫{}，她的低保批了没有", "我儿子叫{}，想当兵会不会受影响"]
NO_CUE_NAMES = ["欧阳娜娜", "巴特尔", "乌云其其格", "司马光明", "宝音朝鲁", "斯琴高娃"]
PHONES = ["13812345678", "138-1234-5678", "138.1234.5678", "138 1234 5678", "+86 139 1234 5678",
          "一三八一二三四五六七八", "幺三九 一二三四 五六七八", "0738-4321234", "0476.8123456",
          "(0476)8123456", "159·1234·5678",
          "18912345678"]
PHONE_TEMPLATES = ["有事打{}找我家里人", "我家里电话{}，帮我问问低保"]
ADDRESSES = ["石门村3组18号", "幸福小区5栋2单元301室", "红旗路25号", "东风村二组十五号", "光明村5组12号",
             "建设路128号4单元", "阳光花园7幢302室", "王家庄8队3号", "新华街12号3栋", "向阳社区2栋1单元"]
ADDRESS_TEMPLATES = ["我家住在{}，回去以后低保去哪办", "户口在{}，出来后怎么落户"]
EMAILS = ["abc.def@qq.com", "zhang_wei1985@163.com", "li-ming@sina.cn", "wangxiaoming@126.com", "bt2024@foxmail.com",
          "user.name+1@gmail.com"]
ACCOUNTS = [("微信号", "wxid_abc123"), ("加我微信：", "zhangwei_1985"), ("微信是", "Lm-88888"), ("vx ", "bateer2020"),
            ("QQ号", "87654"), ("扣扣", "1234567")]
INMATE_NUMBERS = ["A-1029", "F-1", "B2048", "4301234567", "AB-33021", "3-105", "X1029-2"]
INMATE_TEMPLATES = ["我的犯人编号{}，减刑什么时候批", "监号{}，我的假释能批吗"]
IDS = ["430123198506151234", "43012319850615123X", "150426199001011234"]


def variants() -> list[tuple[str, str]]:
    """(question, the personal datum it carries)."""
    out = [(t.format(n), n) for n in NAMES for t in NAME_TEMPLATES]
    out += [(f"{n}想问出狱以后低保怎么申请", n) for n in NO_CUE_NAMES]
    out += [(t.format(p), p) for p in PHONES for t in PHONE_TEMPLATES]
    out += [(t.format(a), a) for a in ADDRESSES for t in ADDRESS_TEMPLATES]
    out += [(f"我的邮箱是{e}，答复能发过来吗", e) for e in EMAILS]
    out += [(f"{cue}{a}，司法局能加我吗", a) for cue, a in ACCOUNTS]
    out += [(t.format(i), i) for i in INMATE_NUMBERS for t in INMATE_TEMPLATES]
    out += [(f"身份证号{i}丢了，出去怎么补办", i) for i in IDS]
    return out


VARIANTS = variants()


def test_the_corpus_has_at_least_100_variants():
    assert len(VARIANTS) >= 100 and len(set(VARIANTS)) == len(VARIANTS)


@pytest.mark.parametrize(("text", "secret"), VARIANTS)
def test_each_variant_is_redacted_and_the_question_kept(text: str, secret: str):
    out = redact(text)
    assert secret not in out, out
    assert "【" in out
    tail = text.split("，")[-1] if "，" in text else text[-6:]
    if secret not in tail:
        assert tail[-4:] in out, out  # the question itself survives


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    runtime = Runtime(Settings(data_dir=tmp_path_factory.mktemp("corpus"), knowledge_dir=KNOWLEDGE))
    return create_app(runtime=runtime)


@pytest.mark.slow  # every variant through the kiosk, the portal and exports
def test_no_variant_reaches_any_bureau_surface_or_the_database(app):
    state = app.state.service
    runtime = state.runtime
    for text, _ in VARIANTS:
        answer = Answer(text, "涟源市", "flagged", "回答", [], None, [], region_code="431382",
                        topic="social_assistance")
        state.qlog.record(answer, AskContext(prison="雁北监狱", kiosk="教育室1号", inmate_number="A-1029"))
    name = f"corpus{time.time_ns() % 10**9}"
    with runtime.database.session() as s:
        users.add_user(s, name, PORTAL_PASSWORD, users.BUREAU, region_code="431382")
        stored = list(s.scalars(select(Question.text))) + list(s.scalars(select(FollowUp.text)))
        ids = list(s.scalars(select(FollowUp.id)))
    bureau = portal_sign_in(app, name)
    surfaces = {"database": "\n".join(stored),
                "queue": bureau.get("/portal/bureau/queue", params={"state": "all"}).text,
                "stats": bureau.get("/portal/bureau/stats").text}
    for kind in ("questions", "followups"):
        r = bureau.get("/portal/exports/download", params={"kind": kind, "format": "csv"})
        surfaces[f"export {kind}"] = r.content.decode("utf-8-sig")
    surfaces["details"] = "\n".join(bureau.get(f"/portal/bureau/followups/{i}").text for i in ids)
    assert "低保" in surfaces["queue"] and len(ids) >= 10
    leaked = [(secret, where) for _, secret in VARIANTS for where, text in surfaces.items() if secret in text]
    assert leaked == []
