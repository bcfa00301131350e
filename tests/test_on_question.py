"""Does a supported answer answer the question? (chatbot/answer/verify/on_question.py)

Each off-question answer below is true to the report word for word, so the support check passes it;
each right answer beside it must not be called off the question."""

from __future__ import annotations

import pytest

from chatbot.answer.verify import verify, without_closing_commentary
from chatbot.answer.verify.on_question import off_question
from chatbot.question.query import expansions
from chatbot.types import Passage
from tests.test_verify import TARGETS  # 今年主要预期目标是：地区生产总值增长7.5%左右，…


def passage(section: str, text: str, year: int = 2023) -> Passage:
    return Passage(chunk_id=section[-6:], source="s", score=1, year=year, city="张家界", section=section, text=text)


# the targets sentence, up to its last clause (居民消费价格指数…: no word of a GDP question)
ALL_TARGETS = TARGETS.model_copy(update={"text": TARGETS.text.rstrip("。") + "，居民消费价格指数涨幅控制在3%以内。"})
BRANDS = passage(
    "二、2023年工作安排 › （一）加快构建现代化产业体系 › 着力发展现代农业",
    "深入实施“六大强农”行动，着力推进品牌强农，抓好张家界莓茶、慈利杜仲、桑植白茶、张家界大鲵、武陵源葛根“五大”"
    "区域公用品牌和张家界菊花芯柚、张家界白羽乌鸡、洞溪七姊妹辣椒、白石萝卜、张家界黑猪“五小”区域公用品牌建设、管理和营销。",
)
PLANS = passage(
    "二、2023年工作安排 › （二）着力提升城乡品质 › 加强规划管控",
    "结合“三区三线”划定成果，精准落实耕地及永久基本农田、生态保护红线、城镇开发边界优先序。"
    "全面完成市县国土空间总体规划、41个专项规划、城镇控制性详细规划和村庄规划编制任务。在产矿山全部达到绿色矿山标准。",
)
AIR = passage(
    "一、2022年工作回顾 › （五）有效防范化解各类风险 › 守牢生态环境保护底线",
    "环境空气质量综合指数全省排名第2位，国考断面水环境质量状况全国排名第21位。命案起数下降69%，侵害未成年人案件全破。",
    year=2022,
)
MEDICAL = passage("一、2022年工作回顾 › （四）努力办好民生实事", "启动城镇职工医保门诊共济改革。武陵源区在全国首创“医保快递”服务。")
FINANCE = passage(
    "二、2023年工作安排 › （三）持续深化改革开放 › 优化营商环境",
    "用好工业产业投资基金，建设“金融超市”，引导金融机构支持实体经济，切实解决企业融资难问题。做实“项目警官”“园区警务”，为项目建设护航。",
)
PARTNERS = passage(
    "二、2023年工作安排 › （三）持续深化改革开放 › 扩大对外开放",
    "完善湘鄂渝黔红色旅游区、张吉怀旅游联盟，强化与丽江、牡丹江、铜仁的旅游协作。着力加强与南京市在产业发展、红色文化等方面的对口合作。",
)
PESTS = passage(
    "二、2023年工作安排 › （二）着力提升城乡品质 › 加强生态保护",
    "全力加强松材线虫病防治，力争永定区、武陵源区以及慈利县与武陵源区接壤乡镇松材线虫病疫情年内清零，确保三年内全市松材线虫病疫情清零。",
)
JOBS = passage("二、2023年工作安排 › （四）保障和改善民生", "城镇新增就业1.2万人，安排就业补助资金3000万元。")


def judged(question: str, answer: str, passages: list[Passage]):
    result = verify(answer, passages)
    assert all(s.verified for s in result.sentences), [(s.text, s.reason) for s in result.sentences]  # supported
    return off_question(question, result.sentences, passages, lambda word: 1.0, expansions(question))


@pytest.mark.parametrize(
    "question, answer, passages, kind",
    [
        # a follow-up answered with the list of the question before
        ("“五小”区域公用品牌有哪些？", "张家界大鲵、武陵源葛根[1]。", [BRANDS], "elsewhere"),
        # the passage's next sentence, with the question's own words put in front
        ("在产的矿山要达到什么要求？", "在产的矿山要达到耕地及永久基本农田、生态保护红线、城镇开发边界优先序[1]。", [PLANS], "elsewhere"),
        # another clause of the right sentence
        ("今年地区生产总值增长目标是多少？", "居民消费价格指数涨幅控制在3%以内[1]。", [ALL_TARGETS], "elsewhere"),
        # a name asked, a rank given
        ("全省环境空气质量综合指数排名第一的是哪个市？", "环境空气质量综合指数全省排名第2位[1]。", [AIR], "kind"),
        # the same, told "according to the table": its framing (表格, 信息) is no name
        ("全省环境空气质量综合指数排名第一的是哪个市？", "根据表格中的信息，环境空气质量综合指数全省排名第2位[1]。", [AIR], "kind"),
        # a number of people asked, an amount of money given (the rules table's kinds)
        ("今年城镇新增就业多少人？", "安排就业补助资金3000万元[1]。", [JOBS], "kind"),
        # a place asked, none named (全市 is no place; real Qwen answers, the first to an English question)
        ("2023年先在哪些地方清零？", "在全市松材线虫病疫情年内清零[1]。", [PESTS], "kind"),
        ("Which city does Zhangjiajie have a paired cooperation with in industry and red culture?",
         "Zhangjiajie在产业发展、红色文化等方面有对口合作[1]。", [PARTNERS], "kind"),
        ("张家界要和哪个城市加强对口合作？", "着力加强在产业发展、红色文化等方面的对口合作[1]。", [PARTNERS], "kind"),
        # the question asked back
        ("命案降了多少？侵害未成年人的案件破了没？", "命案起数下降69%，侵害未成年人的案件破了没[1]。", [AIR], "echo"),
        # nothing beyond the question's words
        ("环境空气质量综合指数", "环境空气质量综合指数[1]。", [AIR], "nothing_new"),
        # English: a number of people asked, the report quoted on money
        ("How many people will find new jobs in towns this year?", "安排就业补助资金3000万元[1]。", [JOBS], "kind"),
        # everyday words: the best sentence holds a little of the question (企业, 难), the answer's source none
        ("企业贷款难，政府怎么帮？", "做实“项目警官”“园区警务”，为项目建设护航[1]。", [FINANCE], "unaddressed"),
    ],
)
def test_a_supported_answer_about_something_else_is_off_the_question(question, answer, passages, kind):
    off = judged(question, answer, passages)
    assert off is not None and off.kind == kind, off


@pytest.mark.parametrize(
    "question, answer, passages",
    [
        ("“五小”区域公用品牌有哪些？", "张家界菊花芯柚、张家界白羽乌鸡、洞溪七姊妹辣椒、白石萝卜、张家界黑猪[1]。", [BRANDS]),
        ("“五大”区域公用品牌有哪些？", "张家界莓茶、慈利杜仲、桑植白茶、张家界大鲵、武陵源葛根[1]。", [BRANDS]),
        ("在产的矿山要达到什么要求？", "在产矿山全部达到绿色矿山标准[1]。", [PLANS]),
        ("今年固定资产投资是多少？", "固定资产投资增长8%左右[1]。", [ALL_TARGETS]),  # 8% stands twice in the sentence
        ("今年要全面完成多少个专项规划的编制任务？", "41个专项规划[1]。", [PLANS]),  # its topic far from the figure
        ("今年GDP增长目标是多少？", "7.5%左右[1]。", [TARGETS]),  # terse
        ("张家界环境空气质量在全省排第几？", "环境空气质量综合指数全省排名第2位[1]。", [AIR]),
        ("侵害未成年人的案件破了没？", "侵害未成年人案件全破[1]。", [AIR]),
        ("今年城镇新增就业多少人？", "城镇新增就业1.2万人[1]。", [JOBS]),
        # terse, and more than a few characters from the quoted label; beside no other label
        ("在全国首创“医保快递”服务的是哪个区？", "武陵源区[1]。", [MEDICAL]),
        # a place named: by jieba's tag or suffix, or as a member of a list of places (铜仁, a plain noun to jieba)
        ("2023年先在哪些地方清零？", "永定区、武陵源区[1]。", [PESTS]),
        ("Which city does Zhangjiajie have a paired cooperation with in industry and red culture?", "南京市[1]。", [PARTNERS]),
        ("张家界要和丽江、牡丹江加强旅游协作，还有哪个城市？", "还有铜仁[1]。", [PARTNERS]),
        ("What is the GDP growth target?", "7.5%左右[1]。", [TARGETS]),  # English: only the kind asked is judged
        ("How many people will find new jobs in towns this year?", "城镇新增就业1.2万人[1]。", [JOBS]),
        ("How many people will find new jobs in towns this year?", "About 12,000 people [1].", [JOBS]),  # English units
        ("企业贷款难，政府怎么帮？", "建设“金融超市”，切实解决企业融资难问题[1]。", [FINANCE]),
        # no passage sentence holds even a fifth of the question (借钱 is not 融资): not judged
        ("小企业找银行借钱难，政府有什么办法？", "做实“项目警官”“园区警务”，为项目建设护航[1]。", [FINANCE]),
    ],
)
def test_a_right_answer_is_not_off_the_question(question, answer, passages):
    assert judged(question, answer, passages) is None


def test_a_paraphrase_that_cannot_be_located_is_left_to_the_support_check():
    assert off_question("今年GDP增长目标是多少？", verify("经济增速目标大约七个半百分点[1]。", [TARGETS]).sentences,
                        [TARGETS], lambda word: 1.0, []) is None


def test_closing_commentary_is_dropped_and_a_flagged_claim_is_not():
    commentary = verify("地区生产总值增长7.5%左右[1]。因此，这一安排充分体现了稳中求进的总基调，前景十分可期。", [TARGETS])
    assert [s.reason for s in commentary.sentences] == [None, "uncited"]
    kept = without_closing_commentary(commentary, [TARGETS])
    assert kept.answer == "地区生产总值增长7.5%左右[1]。" and kept.verified and kept.warnings == []

    invented = verify("地区生产总值增长7.5%左右[1]。该项目总投资达到55亿元。", [TARGETS])
    assert invented.sentences[-1].reason == "figure"
    assert without_closing_commentary(invented, [TARGETS]) is invented  # a wrong figure stays, flagged

    between = verify("这一安排充分体现了稳中求进的总基调，前景十分可期。地区生产总值增长7.5%左右[1]。", [TARGETS])
    assert without_closing_commentary(between, [TARGETS]) is between  # only what follows the last cited sentence


@pytest.mark.parametrize(
    "question, answer, passages, reason",
    [
        ("全省环境空气质量综合指数排名第一的是哪个市？", "环境空气质量综合指数全省排名第2位[1]。", [AIR], "no_name"),
        ("今年城镇新增就业多少人？", "安排就业补助资金3000万元[1]。", [JOBS], "no_figure"),  # the people row's message
        ("环境空气质量综合指数", "环境空气质量综合指数[1]。", [AIR], "not_covered"),
    ],
)
def test_a_verdict_names_the_refusal_message_for_what_is_missing(question, answer, passages, reason):
    off = judged(question, answer, passages)
    assert off is not None and off.reason == reason, off


def test_the_offline_answer_refuses_when_it_lacks_the_kind_of_thing_asked(shared_bot):
    from chatbot.answer import AnswerRequest, Draft
    from chatbot.question.rules import refusal_message

    question, answer = "全省环境空气质量综合指数排名第一的是哪个市？", "环境空气质量综合指数全省排名第2位[1]。"
    draft = shared_bot._offline_on_question(Draft(answer), verify(answer, [AIR]), AnswerRequest(question, [AIR]))
    assert draft.refused and draft.reason == "no_name" and draft.text == refusal_message("no_name", False)


def test_the_offline_answer_keeps_a_right_answer_and_one_quoted_elsewhere(shared_bot):
    """Only echo, nothing new and a missing kind refuse offline: "elsewhere" refused an answerable
    tune item (a follow-up whose own words are few), so the offline answer keeps its best sentence."""
    from chatbot.answer import AnswerRequest, Draft

    for question, answer, passages in [
        ("今年城镇新增就业多少人？", "城镇新增就业1.2万人[1]。", [JOBS]),
        ("今年地区生产总值增长目标是多少？", "居民消费价格指数涨幅控制在3%以内[1]。", [ALL_TARGETS]),  # elsewhere
    ]:
        draft = Draft(answer)
        assert shared_bot._offline_on_question(draft, verify(answer, passages), AnswerRequest(question, passages)) is draft


def test_a_question_the_offline_answer_only_shares_words_with_is_refused_end_to_end(shared_bot):
    answer = shared_bot.ask("全省环境空气质量综合指数排名第一的是哪个市？")
    assert answer.refused and answer.answer == "报告提到了相关内容，但没有给出所问的具体名称。"
    kept = shared_bot.ask("环境空气质量综合指数在全省排第几？")
    assert not kept.refused and "第2位" in kept.answer


SERVICE = Passage(
    chunk_id="svc", source="s", score=1, year=2023, city="张家界", section="二、2023年工作安排 › 提供一流旅游服务",
    text="提供一流旅游服务。加强景区无障碍设施、红十字救护站建设。",
)
OFFLINE_SERVICE = "加强景区无障碍设施、红十字救护站建设[1]。"


@pytest.mark.parametrize(
    "question, answer, disagrees",
    [
        ("坐轮椅的游客去景区方便吗？", "提供一流旅游服务[1]。", True),  # a real Qwen answer on tune
        ("坐轮椅的游客去景区方便吗？", "景区要加强无障碍设施建设[1]。", False),
        # the question's own words prove nothing: 景区 is shared, but it is the question's
        ("坐轮椅的游客去景区方便吗？", "景区提供一流旅游服务[1]。", True),
        # an English question holds no Chinese words: the answer's whole content is compared
        ("Is it easy for wheelchair users to visit the scenic areas?", "提供一流旅游服务[1]。", True),
        ("Is it easy for wheelchair users to visit the scenic areas?", "加强景区无障碍设施[1]。", False),
    ],
)
def test_an_answer_sharing_nothing_with_the_offline_answer_disagrees(question, answer, disagrees):
    from chatbot.answer.verify.on_question import shares_nothing_with

    sentences = verify(answer, [SERVICE]).sentences
    assert all(s.verified for s in sentences)
    assert shares_nothing_with(question, sentences, OFFLINE_SERVICE) is disagrees


NIGHT = Passage(
    chunk_id="night", source="s", score=1, year=2023, city="张家界", section="",
    text="加快培育发展“夜经济”，打造大庸古城、七十二奇楼、文化旅游创意产业园、九院十街、溪布街等文化和旅游消费集聚区，丰富夜间旅游产品。",
)
OFFLINE_NIGHT = "打造大庸古城、七十二奇楼、文化旅游创意产业园、九院十街、溪布街等文化和旅游消费集聚区[1]。"
ROADS = Passage(
    chunk_id="roads", source="s", score=1, year=2023, city="张家界", section="",
    text="加快桑龙高速、炉慈高速、张官高速、500千伏输变电工程、七星山国际旅游度假区基础设施等项目建设进度。",
)
OFFLINE_ROADS = "加快桑龙高速、炉慈高速、张官高速、500千伏输变电工程、七星山国际旅游度假区基础设施等项目建设进度[1]。"


@pytest.mark.parametrize(
    ("question", "answer", "passage", "reference", "left_out"),
    [
        # a real Qwen answer on tune: the tail of the enumeration, read as the whole list
        ("晚上在张家界有哪些地方可以逛？", "晚上可以逛九院十街、溪布街等文化和旅游消费集聚区[1]。", NIGHT, OFFLINE_NIGHT,
         ["七十二奇楼", "文化旅游创意产业园"]),
        ("晚上在张家界有哪些地方可以逛？", OFFLINE_NIGHT, NIGHT, OFFLINE_NIGHT, []),  # the whole list
        # not asked for a list: one member answers
        ("九院十街是什么？", "九院十街是文化和旅游消费集聚区[1]。", NIGHT, OFFLINE_NIGHT, []),
        # the members asked for are all there: the highways, not the power line beside them
        ("今年要加快修哪几条高速？", "加快桑龙高速、炉慈高速、张官高速建设[1]。", ROADS, OFFLINE_ROADS, []),
        # one member named says nothing of the kind asked: every other member is left out
        ("今年要加快修哪几条高速？", "加快炉慈高速建设[1]。", ROADS, OFFLINE_ROADS, ["张官高速", "500千伏输变电工程"]),
        # an answer naming none of the members is for the other checks (shares_nothing_with, off_question)
        ("晚上在张家界有哪些地方可以逛？", "丰富夜间旅游产品[1]。", NIGHT, OFFLINE_NIGHT, []),
    ],
)
def test_a_list_answer_naming_only_some_of_the_members_leaves_the_others_out(question, answer, passage, reference, left_out):
    from chatbot.answer.verify.on_question import partial_list

    sentences = verify(answer, [passage]).sentences
    assert all(s.verified for s in sentences)
    assert partial_list(question, sentences, reference) == left_out


def test_two_lists_joined_in_one_clause_are_compared_apart():
    """"…武陵源葛根“五大”区域公用品牌和张家界菊花芯柚、…": an answer naming all the 五大 leaves none out."""
    from chatbot.answer.verify.on_question import partial_list

    brands = Passage(
        chunk_id="brands", source="s", score=1, year=2023, city="张家界", section="",
        text="抓好张家界莓茶、慈利杜仲、桑植白茶、张家界大鲵、武陵源葛根“五大”区域公用品牌和张家界菊花芯柚、"
             "张家界白羽乌鸡、洞溪七姊妹辣椒、白石萝卜、张家界黑猪“五小”区域公用品牌建设。",
    )
    reference = brands.text.rstrip("。") + "[1]。"
    five = verify("“五大”区域公用品牌是张家界莓茶、慈利杜仲、桑植白茶、张家界大鲵、武陵源葛根[1]。", [brands]).sentences
    assert partial_list("“五大”区域公用品牌分别是哪五个？", five, reference) == []
    two = verify("“五大”区域公用品牌有慈利杜仲、张家界大鲵等[1]。", [brands]).sentences
    assert partial_list("“五大”区域公用品牌分别是哪五个？", two, reference) == ["桑植白茶"]
