"""What the report cannot answer at all: advice, right-now facts, other cities; and members, people, results."""

from __future__ import annotations

import pytest

from chatbot.question.scope import english_name, other_cities, out_of_scope
from chatbot.types import Passage

DOCS = {"zjj.txt": {"city": "张家界", "city_en": "Zhangjiajie"}}


def passage(text: str) -> Passage:
    return Passage(chunk_id="c-1", text=text, score=1.0, source="zjj.txt", section="", page=2, start=0, end=len(text))


@pytest.mark.parametrize(
    "question, reason",
    [
        ("我该不该在张家界买房？", "opinion"),
        ("你觉得这份报告写得怎么样？", "opinion"),
        ("Should I invest in a homestay in Zhangjiajie?", "opinion"),
        ("张家界这周天气怎么样？", "real_time"),
        ("常德市去年拆了多少处违建？", "other_city"),
        ("长沙今年GDP目标是多少？", "other_city"),
        ("张家界今年GDP目标是多少？", None),
        ("哪些值得一提的民生实事办成了？", None),
    ],
)
def test_out_of_scope_reasons(question, reason):
    assert out_of_scope(question, DOCS, [passage("地区生产总值增长7.5%左右。")]) == reason


def test_another_city_is_named_in_the_refusal(shared_bot):
    answer = shared_bot.ask("常德市去年拆了多少处违建？")
    assert answer.refused and answer.answer == "这是张家界的政府工作报告，没有关于常德市的内容。"


@pytest.mark.parametrize(
    "question, cities",
    [
        ("What is Changde's GDP growth target for 2023?", ["常德市"]),
        ("How many tourists visited Xi'an last year?", ["西安市"]),  # pinyin with its apostrophe ...
        ("How many tourists visited XIAN last year?", ["西安市"]),  # ... or without, any case
        ("Does the report mention Hong Kong or Harbin?", ["哈尔滨市", "香港特别行政区"]),  # established English names
        ("What did Lüliang City build?", ["吕梁市"]),
        ("What is Zhangjiajie's GDP growth target for 2023?", []),  # the report's own city
        ("What is Zhang Jiajie's GDP growth target?", []),  # the own city in pinyin, spelled apart
        ("Ali from Jilin Province asked about Tianmen Mountain", []),  # a name, a province, a mountain
    ],
)
def test_english_questions_name_other_cities_in_pinyin(question, cities):
    assert sorted(other_cities(question, DOCS, [])) == sorted(cities)


def test_an_english_question_about_another_city_is_refused(shared_bot):
    answer = shared_bot.ask("What is Changde's GDP growth target for 2023?")
    # the English reader gets both cities in English: the metadata's city_en, the prefecture list's pinyin
    assert answer.refused and answer.answer == "This is the government work report of Zhangjiajie; it says nothing about Changde."


@pytest.mark.parametrize(
    ("city", "english"),
    [("常德市", "Changde"), ("常德", "Changde"), ("西安市", "Xi'an"), ("吕梁市", "Lüliang"), ("乌鲁木齐市", "Urumqi"), ("香港", "Hong Kong"), ("不是城市", "不是城市")],
)
def test_english_names_of_cities_follow_pinyin_spelling(city, english):
    assert english_name(city) == english


def test_a_city_the_passages_mention_is_not_another_report():
    # the report itself names partner cities; a question about them is answered from it
    mentioned = [passage("与南京市、长沙市开展对口合作。")]
    assert other_cities("张家界和南京有什么合作？", DOCS, mentioned) == []
    assert other_cities("湘西州今年旅游收入目标？", DOCS, mentioned) == ["湘西土家族苗族自治州"]
    assert other_cities("来宾朋友们好，张家界的旅游怎么样？", DOCS, mentioned) == []  # 来宾 is also a word


@pytest.mark.parametrize("question", ["这东西安全吗？", "平安庆典什么时候办？"])
def test_a_city_name_inside_another_word_is_no_city(question):
    # 西安 inside 东西安全, 安庆 inside 平安庆典: a city's name begins a word
    assert other_cities(question, DOCS, []) == []


@pytest.mark.parametrize(
    "question, refusal",
    [
        ("“五个一百”人才工程具体是哪五个一百？", "没有列出具体内容"),
        ("张家界市人民医院的院长是谁？", "没有提到相关人员的姓名"),
        ("张家界2023年GDP最后实际涨了多少？", "没有找到"),
        ("首个文旅项目点状用地改革试点项目具体位于何处？", "时间或地点"),
        ("市里一共打造了几个市级非遗街区？", "没有给出具体数字"),  # 一批 is no count
    ],
)
def test_refuses_details_the_report_does_not_give(shared_bot, question, refusal):
    answer = shared_bot.ask(question)
    assert answer.refused and refusal in answer.answer


def test_lists_and_results_the_report_does_give_are_answered(shared_bot):
    two = shared_bot.ask("哪两个村被命名为全国示范性老年友好型社区？")
    assert not two.refused and "洪家关村" in two.answer
    brands = shared_bot.ask("张家界“五大”区域公用品牌分别是哪些？")
    assert not brands.refused and "莓茶" in brands.answer
    done = shared_bot.ask("2022年拆违实际完成了多少？")
    assert not done.refused and "17384处" in done.answer


def test_question_shapes_that_look_like_the_refused_ones():
    from chatbot.question.rules import RULES
    from chatbot.question.vocabulary import ACTUAL_RESULT

    row = {rule.name: rule for rule in RULES}
    assert not row["members"].matches("城乡居民收入分别是多少？")  # two figures, not members
    assert row["members"].matches("六大新兴优势产业链分别是哪六条？")
    assert not row["place"].matches("今年主要在哪些方面发力？") and row["place"].matches("试点项目在哪里？")
    assert not row["person"].matches("新建的学校叫什么名字？") and row["person"].matches("市长叫什么名字？")
    assert not ACTUAL_RESULT.search("打通最后一公里的措施有哪些？") and ACTUAL_RESULT.search("GDP实际增长了多少？")
    assert other_cities("三明治和海口的说法", DOCS, []) == []


@pytest.mark.parametrize(
    "question, expected",
    [
        ("是谁把张家界定为全国首个“科普研学试点城市”的？", "中国科协"),  # an organisation answers "who did it"
        ("全市松材线虫病疫情计划几年内清零？", "三年内"),  # a count in Chinese numerals
        ("张家界食品安全满意度在湖南省排第几？", "全省第一"),  # an ordinal
        ("报告里说快速处置的那次疫情是什么时候的？", "10·6"),  # a date written as 10·6
        ("你觉得张家界空气好不好？在全省排第几？", "第2位"),  # an opinion opener before a factual question
    ],
)
def test_answers_facts_asked_in_shapes_that_look_refusable(shared_bot, question, expected):
    answer = shared_bot.ask(question)
    assert not answer.refused and expected in answer.answer
