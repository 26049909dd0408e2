"""Follow-up resolution and compound-question context, on plain text (no model needed)."""

from __future__ import annotations

import pytest
from helpers import KNOWLEDGE, knowledge_of

from assistant.dialogue.resolve import Context, core_of, next_context, resolve
from assistant.dialogue.slots import Vocabulary, expand_coordination, extract, inherit
from assistant.knowledge.models import SlotTables
from assistant.text.conditions import ConditionDetector, missing_conditions


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    """The real lexicon's slot words and conditions."""
    lexicon = knowledge_of(KNOWLEDGE).lexicon
    return Vocabulary.of(lexicon.slots, ConditionDetector(lexicon.conditions))


def converse(turns: list[str], vocab: Vocabulary) -> list[tuple[str, bool]]:
    """(resolved question, needs context) for each turn of one conversation."""
    ctx, out = Context(), []
    for turn in turns:
        res = resolve(turn, extract(turn, vocab), ctx)
        out.append((res.question, res.needs_context))
        if not res.needs_context:
            ctx = next_context(ctx, res.question, extract(res.question, vocab))
    return out


def test_a_new_person_takes_the_earlier_question(vocab):
    out = converse(["我娃以后能当兵不", "那我女儿呢？"], vocab)
    assert out[1] == ("我女儿以后能当兵不", False)


def test_a_new_activity_replaces_the_old_one_and_keeps_the_person(vocab):
    out = converse(["我娃以后能当兵不", "那我女儿呢？", "那考公务员呢"], vocab)
    assert out[2][0] == "我女儿以后能考公务员不"


def test_procedural_follow_ups_refer_to_the_earlier_subject(vocab):
    out = converse(["出去后医保咋整", "去哪里办？", "交不起钱怎么办"], vocab)
    assert out[1][0] == "医保去哪里办"
    assert out[2][0] == "医保交不起钱怎么办"


def test_a_new_condition_replaces_the_old_condition(vocab):
    out = converse(["醉驾出来多久能考驾照", "那撞了人跑了的呢"], vocab)
    assert "撞了人跑了" in out[1][0] and "醉驾" not in out[1][0] and "驾照" in out[1][0]


def test_a_complete_question_on_a_new_subject_drops_the_old_context(vocab):
    out = converse(["我娃以后能当兵不", "低保怎么申请"], vocab)
    assert out[1] == ("低保怎么申请", False)


def test_an_ellipsis_with_nothing_before_it_needs_context(vocab):
    assert converse(["那我儿子呢？"], vocab)[0][1] is True
    assert converse(["去哪里办？"], vocab)[0][1] is True
    assert converse(["那当兵呢？"], vocab)[0][1] is True  # whose? an ellipsis always refers back
    # a complete first question never needs context, even in words the slot tables do not know
    assert converse(["出去以后医保怎么办"], vocab)[0][1] is False
    assert converse(["出去了想进厂 哪里能打听到招工的信儿"], vocab)[0][1] is False
    assert converse(["今天天气怎么样"], vocab)[0][1] is False


def test_a_relative_asked_about_after_a_question_about_oneself(vocab):
    out = converse(["坐过牢能当兵不", "那我儿子呢"], vocab)
    assert out[1][0] == "我坐过牢，儿子能当兵吗"  # the asker's record, the relative's activity


def test_core_of_strips_lead_in_and_tail():
    assert core_of("那撞了人跑了的呢？") == "撞了人跑了"
    assert core_of("要是当医生呢") == "当医生"


def test_coordinated_things_become_one_question_each(vocab):
    assert expand_coordination("会不会影响子女入党、就业", vocab) == ["会不会影响子女入党", "会不会影响子女就业"]
    assert expand_coordination("出去后医保怎么办", vocab) == ["出去后医保怎么办"]


def test_parts_inherit_after_release_and_the_person_before_them(vocab):
    whole_after_release = True
    prev = extract("我娃以后能当兵不", vocab)
    part = "能考公务员吗"
    assert inherit(part, extract(part, vocab), whole_after_release, prev) == "出去后娃能考公务员吗"
    # a part that says who and when itself keeps its own words
    own = "我出去后怎么找工作"
    assert inherit(own, extract(own, vocab), whole_after_release, prev) == own


def test_conditions_found_in_colloquial_words(vocab):
    conditions = vocab.conditions
    assert "醉驾" in conditions.find("喝了酒开车被抓了")
    assert "肇事逃逸" in conditions.find("撞了人跑了")
    assert "未成年" in conditions.find("十几岁的时候犯的事")
    assert conditions.find("坐过牢能考驾照吗") == frozenset()
    assert missing_conditions((frozenset({"醉驾"}),), frozenset()) == {"醉驾"}
    assert missing_conditions((frozenset({"醉驾"}),), frozenset({"醉驾"})) == frozenset()
    assert "未成年" in conditions.find("俺今年十六岁快出去了")
    assert "未成年" not in conditions.find("我二十五岁进来的")
    assert "退休" not in conditions.find("养老保险断了好多年，以后还能领养老金吗")
    assert "醉驾" in conditions.find("跑货车的时候喝了两瓶啤酒被查了")


def test_conditions_listed_as_alternatives_are_one_requirement(vocab):
    conditions = vocab.conditions
    listed = conditions.alternatives("假释、缓刑、管制或剥夺政治权利期间，能迁户口吗？")
    assert listed == (frozenset({"假释", "社区矫正", "剥夺政治权利"}),)
    assert missing_conditions(listed, frozenset({"社区矫正"})) == frozenset()  # 判了缓刑想迁户口
    assert missing_conditions(listed, frozenset()) == {"假释", "社区矫正", "剥夺政治权利"}
    assert conditions.alternatives("假释或暂予监外执行期间，能出国吗？") == (frozenset({"假释", "社区矫正"}),)
    # named apart, both are required: a drunk-driving question without 营运 is not about commercial vehicles
    apart = conditions.alternatives("酒后开营运车会怎么处理驾驶证？")
    assert set(apart) == {frozenset({"醉驾"}), frozenset({"营运"})}
    assert missing_conditions(apart, frozenset({"醉驾"})) == {"营运"}


def test_short_procedural_follow_ups_in_colloquial_words(vocab):
    out = converse(["释放证明弄丢了 补办得找谁", "到哪补"], vocab)
    assert out[1] == ("释放证明丢了去哪里补", False)  # the subject with the state it was in; where, as named
    out = converse(["想领失业金", "咋审"], vocab)
    assert out[1][0] == "失业保险咋审"  # the subject as the lexicon names its group
    out = converse(["判了缓刑要去社矫", "这期间能出省不"], vocab)
    assert out[1][0] == "社区矫正这期间能出省不"
    out = converse(["丢了判决书", "批下来要多少天"], vocab)
    assert out[1][0] == "判决书批下来要多久"


def test_a_new_job_in_colloquial_words_replaces_the_old_one_named_as_the_lexicon_names_it(vocab):
    out = converse(["有前科能当会计不", "那开个体店呢"], vocab)
    assert out[1][0] == "有前科能开店不"
    out = converse(["有前科能当会计不", "当导游呢"], vocab)
    assert out[1][0] == "有前科能当导游不"


def test_every_job_with_its_own_faq_entry_can_be_switched_to(vocab):
    out = converse(["坐过牢能当老师不", "进事业单位呢", "那当村主任呢"], vocab)
    assert out[1][0] == "坐过牢能进事业单位不"
    assert out[2][0] == "坐过牢能当村干部不"


def test_having_taken_drugs_is_a_condition_in_any_tense(vocab):
    assert "吸毒" in extract("以前吸过毒 驾照还能考不", vocab).conditions
    out = converse(["醉驾出来多久能考驾照", "那沾过毒的呢"], vocab)
    assert "醉驾" not in out[1][0] and "沾过毒" in out[1][0]


def test_a_new_condition_replaces_every_word_of_the_old_one(vocab):
    # "撞了人跑了" names two conditions (交通肇事, 肇事逃逸); neither may stay beside the new one
    out = converse(["撞了人跑了 以后还能考驾照不", "那飙车被判危险驾驶的呢"], vocab)
    assert extract(out[1][0], vocab).conditions == extract("飙车被判危险驾驶", vocab).conditions
    assert "驾照" in out[1][0]


def test_a_clause_holding_the_old_condition_gives_way_when_another_clause_asks_the_question(vocab):
    out = converse(["喝酒开车被判了 出来多久可以重新考驾照", "那撞了人跑掉的呢"], vocab)
    assert out[1][0] == "撞了人跑掉，出来多久可以重新考驾照"
    # a clause that is all there is keeps its other words
    out = converse(["醉驾吊了本，几年后能再考", "要是吸过毒的呢"], vocab)
    assert out[1][0] == "吸过毒吊了本，几年后能再考"


def test_a_condition_that_is_also_a_subject_replaces_the_old_condition_once(vocab):
    out = converse(["假释期间可以出省打工吗", "那缓刑社区矫正的呢"], vocab)
    assert out[1][0] == "缓刑社区矫正期间可以出省打工吗"
    out = converse(["假释期间能迁户口吗", "那剥夺政治权利期间的呢"], vocab)
    assert out[1][0] == "剥夺政治权利期间能迁户口吗"  # one 期间


def test_after_release_replaces_a_status_condition(vocab):
    out = converse(["假释的时候能出国吗", "那刑满释放以后呢"], vocab)
    assert out[1][0] == "刑满释放以后能出国吗"


def test_a_procedural_follow_up_refers_to_the_subject_before_an_activity_word(vocab):
    # 律师 here is who one cannot pay, not a job: the question is about 法律援助
    out = converse(["出来后打官司请不起律师 能申请法律援助吗", "到哪里申请", "要多长时间能批"], vocab)
    assert out[1][0] == "法律援助去哪里申请" and out[2][0] == "法律援助要多久能批"


def test_procedural_follow_ups_asking_where_or_whom(vocab):
    out = converse(["出去后家里困难 想申请低保", "上哪儿申请"], vocab)
    assert out[1] == ("低保去哪里申请", False)
    out = converse(["判决书丢了怎么补", "找谁补"], vocab)
    assert out[1] == ("判决书丢了找谁补", False)
    assert converse(["找谁补"], vocab)[0][1] is True


def test_a_person_and_an_activity_are_named_by_the_first_form_of_their_group(vocab):
    out = converse(["我判过刑，我家小子以后想去部队当兵", "那我家丫头呢", "考警校呢"], vocab)
    assert out[1][0] == "我判过刑，我家女儿以后想去部队当兵"
    assert out[2][0] == "我判过刑，我家女儿以后想去部队当警察"
    out = converse(["我有前科 我姑娘以后考公务员政审能过吗", "我本人呢"], vocab)
    assert "自己" in out[1][0] and "考公务员" in out[1][0] and "姑娘" not in out[1][0]


def test_the_slot_words_come_from_the_tables_passed_in():
    tables = SlotTables(people={"self": ("我",), "grandchild": ("孙子", "孙娃")},
                        activities={"pilot": ("当飞行员", "开飞机")}, subjects={"boat": ("船证", "船本")},
                        procedures={"where": ("去哪里", "上哪")})
    vocab = Vocabulary.of(tables, ConditionDetector({"醉驾": ("醉驾",)}))
    slots = extract("我孙娃以后能开飞机不", vocab)
    assert (slots.who, slots.who_name, slots.activity, slots.activity_name) == \
        ("grandchild", "孙子", "pilot", "当飞行员")
    assert extract("船本去哪办", vocab).subject_name == "船证"
    # 当兵 is not in these tables: nothing to put 开飞机 in place of, so the question is asked anew
    assert converse(["我孙娃以后能当兵不", "那开飞机呢"], vocab)[1][0] == "我坐过牢，孙子能当飞行员吗"
    assert converse(["醉驾了船本还能办不", "上哪办"], vocab)[1][0] == "船证去哪里办"


def test_a_new_activity_keeps_the_follow_ups_own_words_from_its_name_on(vocab):
    out = converse(["出来以后能跑滴滴吗，我有前科", "那开公司当法人呢"], vocab)
    assert out[1][0] == "出来以后能开公司当法人吗，我有前科"
    out = converse(["我坐过牢，儿子能当兵吗", "那我姑娘考公务员呢"], vocab)
    assert out[1][0] == "我坐过牢，女儿能考公务员吗"


def test_the_earlier_person_is_named_as_the_lexicon_names_them(vocab):
    out = converse(["我坐过牢，我家伢子能当警察不", "法官呢"], vocab)
    assert out[1][0] == "我坐过牢，我家孩子能当法官不"


def test_what_a_procedural_follow_up_asks_is_worded_by_the_lexicon_without_changing_its_meaning(vocab):
    out = converse(["出去后医保咋整", "上哪儿交", "要带啥", "看病钱付不起咋办"], vocab)
    assert [o[0] for o in out[1:]] == ["医保去哪里交", "医保要带什么材料", "医保看病钱付不起咋办"]  # bills, not premium


def test_a_complete_question_that_starts_with_na_is_a_new_topic(vocab):
    assert converse(["醉驾判了，出来几年能重新考驾照", "那低保怎么申请"], vocab)[1] == ("那低保怎么申请", False)
    assert converse(["我想出去后结婚，有影响吗", "那离婚了孩子归谁"], vocab)[1][0] == "那离婚了孩子归谁"
    # … but one that only names a thing, or ends open with 呢, refers back
    assert converse(["有前科能当会计不", "那开公司行不行"], vocab)[1][0] == "有前科能开公司不"
    assert converse(["我坐过牢，我老公的工作会受影响吗", "那我儿子当兵呢"], vocab)[1][0] == "我坐过牢，儿子能当兵吗"


def test_a_long_question_without_a_subject_is_never_taken_for_a_follow_up(vocab):
    assert converse(["出狱时身上没钱回不了家咋办"], vocab)[0] == ("出狱时身上没钱回不了家咋办", False)
    out = converse(["出去后医保咋整", "出狱时身上没钱回不了家咋办"], vocab)
    assert out[1][0] == "出狱时身上没钱回不了家咋办"


def test_a_condition_in_words_the_lexicon_does_not_know_replaces_the_old_one(vocab):
    assert converse(["我是累犯，能假释吗", "那初犯呢"], vocab)[1][0] == "初犯，能假释吗"
    out = converse(["未成年时犯的事，找工作要说吗", "要是满了十八岁才犯的呢"], vocab)
    assert out[1][0] == "满了十八岁才犯，找工作要说吗"
    assert converse(["我是累犯，能假释吗", "那以后呢"], vocab)[1][0] == "我是累犯，能假释吗，以后"  # not a condition


def test_a_negated_condition_is_not_named(vocab):
    assert not extract("没喝酒，是偷东西判的", vocab).conditions
    out = converse(["醉驾判过，还能跑网约车吗", "那没喝酒，是偷东西判的呢"], vocab)
    assert out[1][0] == "没喝酒，是偷东西判，还能跑网约车吗"


def test_a_denied_condition_defines_no_item():
    """"判过交通肇事罪（没有逃逸）" is about not fleeing: the hit-and-run condition must not define it, or only
    questions about fleeing could get it."""
    detector = ConditionDetector(knowledge_of(KNOWLEDGE).lexicon.conditions)
    assert detector.find("判过交通肇事罪（没有逃逸），多久能重新考驾照？") == frozenset({"交通肇事"})
    assert detector.find("肇事逃逸了，以后还能考驾照吗？") >= frozenset({"肇事逃逸"})
    assert detector.named("没喝酒，撞了人") == (frozenset({"交通肇事"}), ("撞了人",))


def test_a_short_question_naming_only_a_condition_is_about_the_earlier_subject(vocab):
    assert converse(["释放证明书有什么用", "丢了怎么办"], vocab)[1] == ("释放证明丢了怎么办", False)
    assert converse(["丢了怎么办"], vocab)[0][1] is True
    assert converse(["出来后想申请公租房", "要什么条件"], vocab)[1][0] == "公租房要什么条件"


def test_an_activity_with_a_bare_can_i_is_asked_for_the_earlier_person(vocab):
    assert converse(["判过刑，本人还能当兵吗", "公务员能考不"], vocab)[1][0] == "判过刑，本人还能考公务员吗"
    assert converse(["我娃以后能当兵不", "当警察行吗"], vocab)[1][0] == "我孩子以后能当警察不"
    assert converse(["公务员能考不"], vocab)[0] == ("公务员能考不", False)  # a first question stands alone
    # an activity with a question of its own is not bare
    assert converse(["我娃以后能当兵不", "考驾照要什么条件"], vocab)[1][0] == "考驾照要什么条件"


def test_the_asker_turning_to_themself_with_na_keeps_the_record_context(vocab):
    out = converse(["我坐过牢，女儿以后能考警校吗", "那我自己能当辅警吗"], vocab)
    assert out[1][0] == "我本人有犯罪记录，自己还能当警察吗"


def test_procedural_follow_ups_asking_which_office_what_to_bring_and_the_cost(vocab):
    out = converse(["出狱后想办临时救助", "上哪个门去办", "身上要揣啥东西", "收费不"], vocab)
    assert out[1][0] == "临时救助去哪里去办"
    assert out[2][0].startswith("临时救助") and "要带什么材料" in out[2][0]
    assert out[3][0].startswith("临时救助") and "多少钱" in out[3][0]
    out = converse(["驾照过期好几年了", "上哪换"], vocab)
    assert out[1][0] == "驾驶证过期去哪里换"  # the subject named by its group's first form


def test_a_procedure_named_by_the_lexicon_does_not_repeat_the_words_it_ends_with(vocab):
    out = converse(["想申请法律援助", "得准备啥材料"], vocab)
    assert out[1][0] == "法律援助得要带什么材料"


def test_free_lawyer_is_legal_aid_not_the_lawyer_job_and_teaching_is_the_teacher_job(vocab):
    out = converse(["想找政府派个免费律师", "去哪申请"], vocab)
    assert out[1][0].startswith("法律援助")
    out = converse(["有案底能当导游不", "那教书呢"], vocab)
    assert out[1][0] == "有案底能当老师不"


def test_a_child_defines_an_item_but_is_the_people_slot_in_a_conversation(vocab):
    conditions = ConditionDetector(knowledge_of(KNOWLEDGE).lexicon.conditions)
    assert "子女" in conditions.find("我坐过牢 孩子能当兵吗")  # an entry about a child answers only such questions
    assert "子女" not in conditions.find("我坐过牢 自己能当兵吗")
    assert vocab.conditions.find("我坐过牢 孩子能当兵吗") == frozenset()  # who is asked about: the people slot
    assert "醉驾" in vocab.conditions.find("醉驾的孩子能当兵吗")  # other conditions stay
    out = converse(["我坐过牢，我老公的工作会受影响吗", "那我儿子当兵呢"], vocab)
    assert out[1][0] == "我坐过牢，儿子能当兵吗"


def test_a_new_person_named_first_then_what_they_want(vocab):
    out = converse(["我坐过牢 我儿子能考公务员吗", "我闺女呢 她想当警察"], vocab)
    assert out[1][0] == "我坐过牢 我女儿能当警察吗"  # the daughter and the job of this turn, the record of the first
    assert converse(["我外甥呢 他想当兵"], vocab)[0][1] is True  # first turn: whose record? never answered blind
