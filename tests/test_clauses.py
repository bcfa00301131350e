"""The exact answer first: clause selection (chatbot.answer.clauses) and the offline answer built from it."""

from __future__ import annotations

from chatbot.answer.clauses import best_span, focus, split_clauses
from chatbot.segmentation import tokenize

TARGETS = (
    "今年主要预期目标是：地区生产总值增长7.5%左右，旅游接待人次、旅游总收入分别增长40%左右，"
    "规模工业增加值增长8%左右，固定资产投资增长8%左右，社会消费品零售总额增长8.5%左右，"
    "地方一般公共预算收入增长5%以上，城乡居民人均可支配收入分别增长6.5%、7%左右，居民消费价格指数涨幅控制在3%以内。"
)


def coverage_of(question: str):
    """Equal-weight coverage of the question's words (the answerer weighs them by idf)."""
    asked = {t for t in tokenize(question) if not t.startswith("§")}

    def coverage(text: str) -> float:
        return len(asked & set(tokenize(text))) / len(asked)

    return coverage


def test_split_clauses_keeps_every_character_and_the_enumeration_comma() -> None:
    spans = split_clauses(TARGETS)
    assert "".join(TARGETS[s:e] for s, e in spans) == TARGETS
    assert TARGETS[spans[0][0] : spans[0][1]] == "今年主要预期目标是："
    assert TARGETS[spans[2][0] : spans[2][1]] == "旅游接待人次、旅游总收入分别增长40%左右，"


def test_the_clause_that_answers_is_chosen_verbatim() -> None:
    span = best_span(TARGETS, coverage_of("旅游接待人次和旅游总收入增长多少"))
    assert span == "旅游接待人次、旅游总收入分别增长40%左右"
    assert span in TARGETS
    assert best_span(TARGETS, coverage_of("固定资产投资增长多少")) == "固定资产投资增长8%左右"


def test_the_sentence_stays_the_answer_when_no_clause_is_more_precise() -> None:
    # every clause is needed: the span would be the whole sentence
    sentence = "环境空气质量综合指数全省排名第2位，国考断面水环境质量状况全国排名第21位。"
    assert best_span(sentence, coverage_of("空气质量和水环境质量排名第几")) == sentence
    # one clause only
    assert best_span("地区生产总值增长7.5%左右。", coverage_of("地区生产总值增长多少")) == "地区生产总值增长7.5%左右。"
    # the best clause has no figure: the figure asked for is elsewhere in the sentence
    sentence = "全力加强松材线虫病防治，确保三年内疫情清零，投入资金2000万元。"
    assert best_span(sentence, coverage_of("松材线虫病防治")) == sentence


def test_only_questions_asking_for_a_figure_are_focused() -> None:
    chosen = [(1, TARGETS)]
    cover = coverage_of("固定资产投资增长多少")
    assert focus(chosen, cover, asks_figure=False) == chosen
    assert focus(chosen, cover, asks_figure=True) == [(1, "固定资产投资增长8%左右")]


def test_the_offline_answer_gives_the_clause_and_cites_the_whole_sentence(shared_bot) -> None:
    answer = shared_bot.ask("今年GDP增长目标是多少？")
    assert not answer.refused and answer.backend == "extractive"
    assert answer.answer.startswith("地区生产总值增长7.5%左右[1]")
    assert len(answer.answer) < 30
    assert all(s.verified for s in answer.sentences)  # chatbot.answer.verify accepts the verbatim clause
    quote = answer.citations[0].quote
    assert "地区生产总值增长7.5%左右" in quote and "旅游总收入" in quote and len(quote) > 100


def test_ascii_marks_inside_a_number_or_an_escape_do_not_split_a_clause():
    from chatbot.answer.clauses import split_clauses

    sentence = "安排资金1,130万元，支持科技创新。"
    clauses = [sentence[s:e] for s, e in split_clauses(sentence)]
    assert len(clauses) == 2 and "1,130万元" in clauses[0]
    assert len(split_clauses("增长\x1b]0;pwned\x077.5%左右。")) == 1
