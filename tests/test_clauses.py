"""The exact answer first: clause selection (chatbot.answer.clauses) and the offline answer built from it."""

from __future__ import annotations

from chatbot.answer.asked import what_is_asked as _asked
from chatbot.answer.clauses import Asked, Part, best_span, focus, split_clauses
from chatbot.question.rules import has_figure
from chatbot.segmentation import words

TARGETS = (
    "今年主要预期目标是：地区生产总值增长7.5%左右，旅游接待人次、旅游总收入分别增长40%左右，"
    "规模工业增加值增长8%左右，固定资产投资增长8%左右，社会消费品零售总额增长8.5%左右，"
    "地方一般公共预算收入增长5%以上，城乡居民人均可支配收入分别增长6.5%、7%左右，居民消费价格指数涨幅控制在3%以内。"
)
TOURISM = "旅游接待人次、旅游总收入分别增长40%左右"


def part_of(question: str, kind: str = "fact") -> Part:
    """Equal-weight coverage of the question's words, a word counting inside a longer one (the answerer weighs them by idf)."""
    asked = set(words(question)) - {"多少", "增长"}

    def coverage(text: str) -> float:
        return sum(1 for w in asked if w in text) / len(asked)

    return Part(coverage, kind)


def asking(*questions: str, needs=(), wants_list: bool = False, kind: str = "fact") -> Asked:
    return Asked([part_of(q, kind) for q in questions], needs=needs, wants_list=wants_list)


def clauses(sentence: str, **kwargs) -> list[str]:
    return [sentence[s:e] for s, e in split_clauses(sentence, **kwargs)]


def test_split_clauses_keeps_every_character_and_the_enumeration_comma() -> None:
    assert "".join(clauses(TARGETS)) == TARGETS
    assert clauses(TARGETS)[0] == "今年主要预期目标是："
    assert clauses(TARGETS)[2] == TOURISM + "，"
    assert TOURISM + "，" in clauses(TARGETS, items=True)  # names sharing one predicate ("分别") stay together


def test_a_comma_inside_quotation_marks_does_not_end_a_clause() -> None:
    sentence = "落实“一个区域公用品牌，一个院士专家团队”战略，提升农产品品质和附加值。"
    assert clauses(sentence) == ["落实“一个区域公用品牌，一个院士专家团队”战略，", "提升农产品品质和附加值。"]


def test_enumerated_facts_split_and_enumerated_names_do_not() -> None:
    facts = "建成乡镇标准化寄宿制学校13所、薄弱环节改善与能力提升学校16所。"
    assert clauses(facts, items=True) == ["建成乡镇标准化寄宿制学校13所、", "薄弱环节改善与能力提升学校16所。"]
    assert clauses(facts) == [facts]  # a list question keeps its enumeration whole
    for names in ("粮食栽播192.65万亩、产量64.5万吨。", "着力加强与南京市在产业发展、红色文化等方面的对口合作。",
                  "加快桑龙高速、炉慈高速、张官高速等项目建设进度。"):
        assert clauses(names, items=True) == [names]


def test_the_clause_that_answers_is_chosen_verbatim() -> None:
    span = best_span(TARGETS, asking("旅游接待人次和旅游总收入增长多少"))
    assert span == TOURISM and span in TARGETS
    assert best_span(TARGETS, asking("固定资产投资增长多少")) == "固定资产投资增长8%左右"
    facts = "建成乡镇标准化寄宿制学校13所、薄弱环节改善与能力提升学校16所。"
    assert best_span(facts, asking("薄弱环节改善的学校有几所")) == "薄弱环节改善与能力提升学校16所"


def test_the_sentence_stays_the_answer_when_no_clause_is_more_precise() -> None:
    # every clause is needed: the span would be the whole sentence
    sentence = "环境空气质量综合指数全省排名第2位，国考断面水环境质量状况全国排名第21位。"
    assert best_span(sentence, asking("空气质量和水环境质量排名第几")) == sentence
    # one clause only
    assert best_span("地区生产总值增长7.5%左右。", asking("地区生产总值增长多少")) == "地区生产总值增长7.5%左右。"
    # no clause holds the question's words
    assert best_span(TARGETS, asking("森林覆盖率是多少")) == TARGETS


def test_the_span_grows_until_it_holds_what_the_question_asks() -> None:
    # the best clause names the topic; the figure asked for is two clauses on
    sentence = "全力加强松材线虫病防治，确保疫情清零，投入资金2000万元。"
    assert best_span(sentence, asking("松材线虫病防治投入多少")) == "全力加强松材线虫病防治"
    assert best_span(sentence, asking("松材线虫病防治投入多少", needs=[has_figure])) == sentence  # grown to all of it
    longer = sentence.rstrip("。") + "，同时开展全域森林防火宣传教育活动，提高群众防火意识。"
    grown = best_span(longer, asking("松材线虫病防治投入多少", needs=[has_figure]))
    assert grown.startswith("全力加强松材线虫病防治") and grown.endswith("投入资金2000万元")
    # a list asked for: the clause with the enumeration, not the one that repeats the question's words
    sentence = "紧紧咬定张石铁路、宜冲桥水库、抽水蓄能电站等重大项目，加强调度，力争早日开工建设，确保年内形成实物工作量。"
    listed = best_span(sentence, asking("哪些大工程在争取早日开工", wants_list=True))
    assert listed.startswith("紧紧咬定张石铁路") and "力争早日开工建设" in listed


def test_each_part_of_a_question_keeps_its_clause() -> None:
    sentence = "信访形势总体平稳，中央交办的信访积案584件，化解率达99.66%，退役军人信访稳定工作排名全省第一。"
    assert best_span(sentence, asking("中央交办的信访积案有多少件")) == "中央交办的信访积案584件"
    both = asking("中央交办的信访积案有多少件", "化解率是多少")
    assert best_span(sentence, both) == "中央交办的信访积案584件，化解率达99.66%"


def test_how_questions_get_the_statement_and_whether_questions_what_follows_the_topic() -> None:
    sentence = "全面加强旅游市场秩序综合整治和旅游市场信用监管体系建设，建立旅行社、酒店等行业服务质量评比机制，建立涉旅企业“红黑榜”制度。"
    assert best_span(sentence, asking("政府对坑人的旅行社、酒店怎么管", kind="open")) == sentence
    assert best_span(sentence, asking("坑人的旅行社、酒店会不会被曝光")) == "建立旅行社、酒店等行业服务质量评比机制"
    whether = best_span(sentence, asking("坑人的旅行社、酒店会不会被曝光", kind="whether"))
    assert whether == "建立旅行社、酒店等行业服务质量评比机制，建立涉旅企业“红黑榜”制度"


def test_further_sentences_that_answer_less_are_left_out() -> None:
    asked = asking("快递员工伤保险参保率是多少")
    chosen = [(1, "快递员群体工伤保险参保率达90%以上。"), (2, "全市常住人口医疗保险参保率达96.7%。")]
    assert focus(chosen, asked) == [(1, "快递员群体工伤保险参保率达90%以上。")]
    # a sentence answering another part of the question stays
    asked = asking("有没有请院士专家搞研究", "签了几个合作项目")
    chosen = [(1, "落实院士专家团队战略，提升农产品品质。"), (2, "签约特色农产品科研合作项目27个。")]
    assert [key for key, _ in focus(chosen, asked)] == [1, 2]


def test_the_question_is_read_into_parts_and_kinds() -> None:
    idf = lambda token: 1.0  # noqa: E731
    assert [p.kind for p in _asked("政府打算怎么弄？", idf, [], []).parts] == ["open"]
    assert [p.kind for p in _asked("欺负未成年人的案子都破了吗？", idf, [], []).parts] == ["whether"]
    two = _asked("去年命案降了多少？侵害未成年人的案子破了没？", idf, [], [])
    assert [p.kind for p in two.parts] == ["fact", "whether"]
    assert two.parts[0].coverage("命案起数下降69%") > two.parts[0].coverage("侵害未成年人现行案件全破")
    assert _asked("今年要加快修哪几条高速？", idf, [], []).wants_list
    # a follow-up: the reader's own words decide, the earlier question's only break ties
    follow = _asked("那旅游收入呢？（上文：今年GDP增长目标是多少？）", idf, [], [])
    assert follow.parts[0].coverage(TOURISM) > 2 * follow.parts[0].coverage("地区生产总值增长7.5%左右")


def test_the_offline_answer_gives_the_clause_and_cites_the_whole_sentence(shared_bot) -> None:
    answer = shared_bot.ask("今年GDP增长目标是多少？")
    assert not answer.refused and answer.backend == "extractive"
    assert answer.answer.startswith("地区生产总值增长7.5%左右[1]")
    assert len(answer.answer) < 30
    assert all(s.verified for s in answer.sentences)  # chatbot.answer.verify accepts the verbatim clause
    quote = answer.citations[0].quote
    assert "地区生产总值增长7.5%左右" in quote and "旅游总收入" in quote and len(quote) > 100


def test_a_follow_up_is_answered_with_its_own_clause(shared_bot) -> None:
    first = shared_bot.ask("今年GDP增长目标是多少？")
    history = [{"role": "user", "content": "今年GDP增长目标是多少？"}, {"role": "assistant", "content": first.answer}]
    answer = shared_bot.ask("那旅游收入呢？", history)
    assert answer.answer.startswith(TOURISM + "[1]"), answer.answer
    assert len(answer.answer) < 30
    assert all(s.verified for s in answer.sentences)
    assert TOURISM in answer.citations[0].quote and len(answer.citations[0].quote) > 100


def test_a_list_question_keeps_its_list_whole(shared_bot) -> None:
    answer = shared_bot.ask("今年要加快修哪几条高速？")
    assert all(road in answer.answer for road in ("桑龙高速", "炉慈高速", "张官高速"))


def test_ascii_marks_inside_a_number_or_an_escape_do_not_split_a_clause():
    sentence = "安排资金1,130万元，支持科技创新。"
    found = clauses(sentence)
    assert len(found) == 2 and "1,130万元" in found[0]
    assert len(split_clauses("增长\x1b]0;pwned\x077.5%左右。")) == 1


def test_the_source_card_emphasises_the_answering_clause_inside_the_cited_sentence(shared_bot) -> None:
    from chatbot.ui.safe_html import answer_focus, passage_html

    first = shared_bot.ask("今年GDP增长目标是多少？")
    history = [{"role": "user", "content": "今年GDP增长目标是多少？"}, {"role": "assistant", "content": first.answer}]
    answer = shared_bot.ask("那旅游收入呢？", history)
    citation = answer.citations[0]
    focus = answer_focus(citation.quote, [s.text for s in answer.sentences if citation.n in s.citations])
    assert focus == TOURISM
    passage = next(p for p in answer.contexts if p.chunk_id == citation.chunk_id)
    card = passage_html(passage.text, citation.quote, focus)
    assert f">{TOURISM}</strong>" in card and "<mark" in card  # the sentence marked, the clause in bold inside it
    # an answer sentence from another sentence of the passage is not what this quote emphasises
    assert answer_focus("固定资产投资增长8%左右。", ["地区生产总值增长7.5%左右[1]。", "固定资产投资增长8%左右[1]。"]) == "固定资产投资增长8%左右"
    assert answer_focus("固定资产投资增长8%左右。", ["地区生产总值增长7.5%左右[1]。"]) == ""


def test_answer_length_is_measured_on_answers_given_without_markers() -> None:
    from chatbot.evaluation.metrics import answer_chars

    rows = [{"answer": "地区生产总值增长7.5%左右[1]。", "refused": False},  # 15 characters without [1], then 22
            {"answer": "旅游接待人次、旅游总收入分别增长40%左右[1]。", "refused": False},
            {"answer": "报告中没有找到与这个问题相关的内容。", "refused": True},
            {"answer": "", "refused": True, "error": "too long"}]
    assert answer_chars(rows) == {"n": 2, "p50": 18.5, "p90": 22}


def read(question: str, needs=(), unused=()) -> Asked:
    """The question as the answerer reads it, every word the report uses weighing the same; the `unused`
    words (and the answerer's probe for one) weigh as words no report sentence holds."""
    return _asked(question, lambda token: 2.0 if token in unused or token == "\x00" else 1.0, [],
                  [list(group) for group in needs])


def test_a_word_every_clause_holds_does_not_choose_the_clause() -> None:
    sentence = "持续开展非煤矿山专项整治，加快绿色矿山建设，实现在产矿山全部建成绿色矿山。"
    assert best_span(sentence, read("在产的矿山要达到什么要求？")) == "实现在产矿山全部建成绿色矿山"
    # only shared words: no clause stands out, the sentence stays the answer
    assert best_span("推进矿山整治，推进矿山复绿。", read("矿山怎么样了？有什么进展？")) == "推进矿山整治，推进矿山复绿。"


def test_a_quoted_name_in_the_question_weighs_as_one_thing() -> None:
    sentence = "着力打造“一件事一次办”升级版，实现水电气联动过户等302件事项“一次办”，办件量同比增长1.8倍。"
    assert best_span(sentence, read("“一件事一次办”的办件量同比增长了多少？")) == "办件量同比增长1.8倍"


def test_a_question_about_one_member_of_a_long_enumeration_gets_that_member() -> None:
    sentence = "加快桑龙高速、炉慈高速、张官高速、500千伏输变电工程、七星山国际旅游度假区基础设施等项目建设进度。"
    assert best_span(sentence, read("要加快建设的输变电工程是多少千伏的？")) == "500千伏输变电工程"
    # a list question keeps the enumeration whole
    assert "桑龙高速、炉慈高速、张官高速" in best_span(sentence, read("要加快修哪几条高速？"))


def test_a_member_is_never_cut_from_what_changes_its_meaning() -> None:
    # a negation before the list: the member alone would read as allowed
    negated = "不得向企业收取履约保证金、质量保证金、管理服务费等费用，减轻企业负担。"
    assert "不得" in best_span(negated, read("管理服务费是什么规定？"))
    # a figure in the last item counts every item: "市级科技专项资金5995.5万元" would read as the city's alone
    shared = "争取中央财政资金、省级财政资金、市级科技专项资金5995.5万元，增长241.9%。"
    assert best_span(shared, read("市级科技专项资金是多少？")).startswith("争取中央财政资金")
    # two items are modifiers of one thing, not members
    pair = "着力加强与南京市在产业发展、红色文化等方面的对口合作。"
    assert "南京市" in best_span(pair, read("哪个城市在红色文化上跟我们合作？"))
    # a figure that would lose what it counts
    assert best_span("粮食栽播192.65万亩、产量64.5万吨、增收8.1亿元、带动农户3.2万户。", read("粮食产量多少？")).startswith("粮食")


def test_a_list_question_is_answered_by_the_enumeration_not_its_lead_in() -> None:
    sentence = "开展平台营销，加强与抖音、快手、携程等互联网平台合作，大力开展网络话题和短视频营销。"
    assert best_span(sentence, read("平台营销打算和哪几个互联网平台合作啊？")) == "加强与抖音、快手、携程等互联网平台合作"
    # "有什么打算" asks what is being done; when the sentence lists it, the list answers
    plans = "对标一流标准，大力发展生态旅游，建设户外运动乐园、帐篷营地、房车营地、骑行道等，增强游客运动体验感。"
    assert best_span(plans, read("喜欢开房车的游客，张家界有什么打算？")) == "建设户外运动乐园、帐篷营地、房车营地、骑行道等"
    # a how question over a sentence without a list keeps the statement
    how = "强化“海绵城市”理念，疏通排水系统，减少地面雨水径流和积水。"
    assert best_span(how, read("一下大雨城里就积水，政府打算怎么弄？")) == how


def test_a_further_sentence_holding_less_is_dropped_even_when_the_best_is_unsure() -> None:
    asked = read("游客被宰了去投诉，多久会有人来处理？")
    chosen = [(1, "确保涉旅投诉30分钟内现场处置。"), (2, "积极开展农保理赔，有效降低灾害损失。")]
    assert asked.parts[0].coverage(chosen[0][1]) < 0.45  # unsure: most of the question is not in it
    assert [key for key, _ in focus(chosen, asked)] == [1]
    # one holding as much as the unsure best stays: it may be the answer
    chosen = [(1, "确保涉旅投诉30分钟内现场处置。"), (2, "涉旅投诉由12345热线转办处理。")]
    assert [key for key, _ in focus(chosen, asked)] == [1, 2]


def test_a_part_named_nowhere_in_the_sentence_leaves_the_clause_to_the_other_parts() -> None:
    sentence = "全年评价入库科技型中小企业304家，张家界飞帆众创空间备案为国家级众创空间。"
    asked = read("哪家众创空间被备案为国家级众创空间？叫什么名字？")
    assert len(asked.parts) == 2
    assert best_span(sentence, asked) == "张家界飞帆众创空间备案为国家级众创空间"
    # no part named in it: no clause can be told to answer, the sentence stays
    assert best_span(sentence, read("市长叫什么名字？")) == sentence


def test_a_word_the_report_never_uses_does_not_hide_the_clause_that_answers() -> None:
    sentence = "一年来，政府自身建设得到新加强，出台《关于切实加强领导班子建设的规定》，坚决落实中央八项规定精神。"
    question = "关于加强领导班子建设的那个规定，全称叫什么？"
    assert best_span(sentence, read(question, unused={"全称", "叫"})) == "出台《关于切实加强领导班子建设的规定》"
    assert best_span(sentence, read(question)) == sentence  # "全称" taken for a report word: named nowhere here
