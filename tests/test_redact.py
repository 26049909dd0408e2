"""Personal data is removed from realistic questions before anything is stored."""

from __future__ import annotations

import pytest

from assistant.privacy.redact import redact

CASES = [
    ("我叫张伟，身份证号430123198506151234，出去后医保怎么办",
     ["张伟", "430123198506151234"], "出去后医保怎么办"),
    ("我老婆叫李秀英，电话13812345678，她的低保批了没有", ["李秀英", "13812345678"], "低保批了没有"),
    ("俺是王建国 今年四十了 判了五年 出来能干啥", ["王建国"], "判了五年"),
    ("养老金能不能打到我的卡上 6222 0212 3456 7890 123", ["6222 0212 3456 7890 123"], "养老金"),
    ("有事打 0738-4321234 找司法所", ["0738-4321234"], "找司法所"),
    ("我儿子刘洋想当兵 会不会受影响", ["刘洋"], "想当兵"),
    ("涟源的张某说可以过渡安置", ["张某"], "过渡安置"),
    ("我的罪犯编号是4301234567，减刑什么时候批", ["4301234567"], "减刑什么时候批"),
    ("手机+86 139-1234-5678 身份证43012319850615123X", ["139-1234-5678", "43012319850615123X"], "手机"),
    ("本人陈小明，涟源人", ["陈小明"], "涟源人"),
]


@pytest.mark.parametrize(("text", "secrets", "kept"), CASES)
def test_personal_data_is_removed_and_the_question_kept(text: str, secrets: list[str], kept: str):
    out = redact(text)
    for secret in secrets:
        assert secret not in out
    assert kept in out
    assert "【" in out


@pytest.mark.parametrize("text", ["出狱后怎么办理身份证", "醉驾五年内不能考驾照吗", "我是涟源的，想问医保",
                                  "低保标准是多少", "刑法第133条之一说的是什么"])
def test_questions_without_personal_data_are_unchanged(text: str):
    assert redact(text) == text


def test_place_names_and_common_words_are_not_taken_for_names(full_regions):
    keep = full_regions.place_words()
    for text in ("林西出来的人能办低保吗", "我是林西的，想问医保", "石家庄打工的工钱", "黄金周能探视吗", "汤圆"):
        assert redact(text, keep) == text
    assert redact("林西县的张伟说可以", keep) == "林西县的【姓名】说可以"


def test_database_errors_never_carry_question_text(tmp_path):
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from assistant.storage.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as c:
        c.execute(text("create table t (a text unique)"))
        c.execute(text("insert into t values (:a)"), {"a": "我的减刑什么时候批"})
    with pytest.raises(IntegrityError) as caught, engine.begin() as c:
        c.execute(text("insert into t values (:a)"), {"a": "我的减刑什么时候批"})
    assert "减刑" not in str(caught.value) and "hidden" in str(caught.value)
    engine.dispose()
