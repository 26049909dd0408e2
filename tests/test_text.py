"""Normalisation, tokenisation, synonyms, stop words, chunking, compound split, signals."""

from __future__ import annotations

from pathlib import Path

from helpers import KNOWLEDGE, knowledge_of

from assistant.text.analyzer import Analyzer
from assistant.text.chunking import chunk_document, make_splitter
from assistant.text.normalize import normalize
from assistant.text.question_split import split_question
from assistant.text.signals import SignalDetector, has_amount, has_contact

KB = knowledge_of(KNOWLEDGE)
ANALYZER = Analyzer(KB.lexicon)
SIGNALS = SignalDetector(KB.lexicon.signals)


def test_normalize_fullwidth_traditional_controls_and_spaces():
    assert normalize("出獄後　醫保怎麼辦？ＡＢＣ１２３") == "出狱后 医保怎么办?abc123"
    assert normalize("  我\x00要\u200b问  \n\n 问题 ") == "我要问\n问题"


def test_domain_words_stay_whole():
    words = ANALYZER.words(normalize("刑满释放人员怎么办理安置帮教"))
    assert "安置帮教" in words and "刑满释放人员" in words
    assert "怎么" not in words  # stop word


def test_colloquial_forms_expand_to_formal_terms():
    assert "医疗保险" in ANALYZER.expand(normalize("出来了医保咋整"))
    assert "网约车" in ANALYZER.expand("出来能跑滴滴不")
    assert "服刑" in ANALYZER.expand("蹲号子的人")
    tokens = ANALYZER.tokens("驾照咋弄")
    assert "驾驶证" in tokens and "驾照" in tokens


def test_chunks_keep_heading_path_region_and_sources():
    doc = next(d for d in KB.documents if d.id == "national-legal-aid")
    chunks = chunk_document(doc)
    assert len(chunks) >= len(doc.sections)
    assert all(c.sources and c.region == "000000" and "[@" not in c.text for c in chunks)
    assert all(c.heading_path and c.heading_path[0] == doc.title for c in chunks)


def test_long_section_is_split_on_chinese_sentences_and_pieces_inherit_citations(mini_kb: Path):
    path = mini_kb / "docs" / "000000" / "national-medical.md"
    long = "。".join(f"第{i}句话讲医保怎么交" for i in range(60)) + "。[@sb23]"
    path.write_text(path.read_text(encoding="utf-8").replace("## 交不起", f"## 很长的一节\n\n{long}\n\n## 交不起"),
                    encoding="utf-8")
    doc = knowledge_of(mini_kb).documents[0]
    pieces = [c for c in chunk_document(doc, make_splitter(120, 0)) if c.heading_path[-1] == "很长的一节"]
    assert len(pieces) > 3
    assert all(p.text.endswith("。") and len(p.text) <= 120 for p in pieces)
    assert all(p.sources[0].article == "23" for p in pieces)


def test_clauses_separated_by_spaces_split_like_commas():
    assert split_question("孩子能当警察不 能入党不") == ["孩子能当警察不", "能入党不"]
    assert split_question("出去以后 医保咋整") == ["出去以后，医保咋整"]  # a clause that asks nothing stays


def test_compound_questions_split_into_parts():
    q = normalize("我只有一个月就要释放了，我出去后怎么就业？医保怎么处理？我的事会不会影响子女入党、就业？")
    parts = split_question(q)
    assert len(parts) == 3 and "就业" in parts[0] and "医保" in parts[1] and "入党" in parts[2]
    assert len(split_question("出去咋找工作，医保咋交")) == 2
    assert split_question("出狱后医保怎么办") == ["出狱后医保怎么办"]
    assert split_question("请问，出狱后医保怎么办？") == ["请问，出狱后医保怎么办？"]  # a lead-in is no part of its own
    assert len(split_question("医保咋整？还有就是低保能不能申请")) == 2


def test_a_turn_that_opens_a_new_subject_loses_its_lead_in():
    """"还有个事" / "换个事" / "另外问下" announce a new question; they are no words of it."""
    asked = "判的罚金我才交了一半，剩下的出去接着交吗"
    for lead_in in ("还有个事", "换个事", "另外问下", "问下"):
        assert split_question(f"{lead_in}，{asked}") == [asked], lead_in
    assert split_question("出去以后想换个事做") == ["出去以后想换个事做"]  # only at the start of a clause
    assert split_question("我想问下医保咋整") == ["我想问下医保咋整"]


def test_crisis_individual_and_domain_signals():
    assert SIGNALS.run("我真的不想活了").crisis
    assert SIGNALS.run("出去也是死了算了").crisis
    assert not SIGNALS.run("出狱后医保怎么办").crisis
    assert SIGNALS.run("我的减刑什么时候批").individual_case
    assert SIGNALS.run("我老婆的低保批了没有").individual_case
    assert not SIGNALS.run("减刑需要什么条件").individual_case
    assert SIGNALS.run("出狱后医保怎么办").domain_hits
    assert not SIGNALS.run("今天天气怎么样").domain_hits


def test_a_subject_the_lexicon_names_marks_the_domain_too():
    """法援 and 检察官 are no domain words, but the slot tables name them as subjects and activities."""
    from assistant.dialogue.slots import Vocabulary
    from assistant.text.conditions import ConditionDetector

    things = Vocabulary.of(KB.lexicon.slots, ConditionDetector(KB.lexicon.conditions)).things
    with_subjects = SignalDetector(KB.lexicon.signals, subjects=things)
    for question in ("法援多久有结果", "被检察院不起诉过还能当检察官不"):
        assert not SIGNALS.domain_hits(normalize(question))
        assert with_subjects.domain_hits(normalize(question))
    assert with_subjects.domain_hits("法援多久有结果") == ("法援",)
    assert not with_subjects.run("今天天气怎么样").domain_hits
    # words added from the calibration questions: situations described without the usual keywords
    assert SIGNALS.domain_hits("进厂面试的时候我坐过牢这事得主动跟人讲不")
    assert SIGNALS.domain_hits("干活的时候机器把手指头轧了这算工伤不")


def test_crisis_catches_indirect_intent_and_means_but_not_harmless_senses():
    intent = ("俺真是活腻了 出去也没人要", "想拿鞋带把自己勒死", "出去以后就去喝百草枯", "这几天一直在囤安眠药",
              "心里烦就用笔尖扎自己的手", "想从三楼窗户翻下去", "等刑满了就去水库跳了", "已经绝食两天了",
              "我不想熬下去了", "遗书早就写好了", "想吞电池", "出去就开煤气睡过去", "这日子我不打算再活了",
              "半夜想拿被单把自己挂上去", "出去就找段火车道躺着", "出去了非得弄死那个人 跟他同归于尽",
              "不如把这一切都结束掉", "活着还图个啥")
    harmless = ("判死缓的一般关多少年", "工伤死亡赔偿有多少", "出去打工老跳槽会不会影响社保", "上吊车操作证咋考",
                "累得要死 工资能要回来吗", "出去死活找不着活干", "跟老婆的事想做个了断 离婚咋办",
                "看见有人落水我跳河救人 算立功吗", "楼上跳广场舞太吵 能报警不", "吃了打过农药的菜会不会中毒",
                "三国里的张飞是怎么死的", "出去以后能把墙上挂的奖状带走吗", "他差点把我弄死 我能要赔偿吗")
    assert [q for q in intent if not SIGNALS.run(normalize(q)).crisis] == []
    assert [q for q in harmless if SIGNALS.run(normalize(q)).crisis] == []


def test_own_case_forms_are_flagged_but_general_ones_with_me_in_them_are_not():
    own = ("俺这案子有没有可能改判", "你看我符不符合条件假释", "我目前算不算失信被执行人", "我的户口销了没",
           "老家派谁来接我 叫什么名字", "俺那辆车现在啥情况 拍卖了没", "我卡上还有多少钱", "俺这个季度的分够不够报减刑")
    general = ("出狱那天谁来接我", "给我定的一人一策是干啥的", "我老婆的仲裁还剩五天就过期了 法律援助能帮吗",
               "我还要关五年 这几年家里申请低保算不算我", "出去前能先打听打听老家的帮扶政策吗")
    assert [q for q in own if not SIGNALS.run(normalize(q)).individual_case] == []
    assert [q for q in general if SIGNALS.run(normalize(q)).individual_case] == []


def test_questions_that_ask_for_a_figure_or_a_contact():
    for q in ("失业补助每个月能补贴多少", "困难补助一个娃大概多少", "住房补贴标准是每年多少",
              "出狱时存的报酬能带走多少", "贴息贷款利息有多少"):
        assert SIGNALS.run(normalize(q)).asks_amount, q
    # how many years, days or months is a duration, not a sum of money
    for q in ("养老保险要交多少年", "社区矫正每个月报到多少次", "失业金一个月能领多少天"):
        assert not SIGNALS.run(normalize(q)).asks_amount, q
    for q in ("司法所早上几点开门", "民政局在哪条街", "帮教办的热线多少", "乡里司法所怎么联系", "安置的地方具体在哪",
              "从车站咋过去"):
        assert SIGNALS.run(normalize(q)).asks_contact, q
    for q in ("低保申请去哪里办", "低保审核咋走", "出去了怎么找工作"):  # which office or how: the answer may say
        assert not SIGNALS.run(normalize(q)).asks_contact, q
    assert SIGNALS.run(normalize("俺的事你帮我打听打听")).individual_case


def test_a_blank_fill_in_field_states_no_contact_or_amount():
    blank = "各镇司法所电话和地址：【待填写：各镇司法所联系电话和地址】；县司法局：【待填写：县司法局电话】。"
    assert not has_contact(blank)
    assert not has_amount("标准：【待填写：本县低保标准（元/月）】。")
    assert has_contact("县司法局地址：人民路1号。")
    assert has_amount("一共发放救助资金28000元。")
