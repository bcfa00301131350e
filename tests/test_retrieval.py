"""Retrieval on the real report: citizens' questions, dates, result fields."""

from __future__ import annotations

from pathlib import Path

from chatbot.evaluation.metrics import evidence_rank
from chatbot.evaluation.qaset import load_qa
from chatbot.question.query import condense, resolve_relative_years
from chatbot.types import Message

QA = Path(__file__).parent / "data" / "qa.jsonl"


def test_citizen_questions_find_their_passage(shared_bot):
    items = [i for i in load_qa(QA).items if "colloquial" in i.tags and i.answerable and i.evidence]
    assert len(items) >= 30
    found = [i.id for i in items if evidence_rank([p.text for p in shared_bot.retrieve(condense(i.question, i.history), 5)], i.evidence, 5)]
    assert len(found) >= 30, f"only {len(found)} of {len(items)} found"
    assert len(found) / len(items) >= 0.85


def test_relative_years_resolve_against_the_report_year():
    assert resolve_relative_years("今年GDP目标", 2023) == "2023年GDP目标"
    assert resolve_relative_years("去年拆了多少违建", 2023) == "2022年拆了多少违建"
    assert resolve_relative_years("What is the target this year?", 2023) == "What is the target 2023?"
    assert resolve_relative_years("今年GDP目标", None) == "今年GDP目标"  # no report year known: left as asked


def test_results_carry_their_provenance(shared_bot):
    passages = shared_bot.retrieve("送快递的小哥有没有工伤保障？", 5)
    top = passages[0]
    assert "快递员群体工伤保险参保率达90%以上" in top.text
    assert top.chunk_id.startswith("c-") and top.source.endswith(".txt")
    assert top.section.endswith("社会保障水平大幅提高") and top.page == 2
    assert 0 <= top.start < top.end
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


def test_followup_keeps_its_subject(shared_bot):
    history = [Message(role="user", content="今年GDP增长目标是多少？"), Message(role="assistant", content="地区生产总值增长7.5%左右。")]
    standalone = condense("那固定资产投资呢？", history)
    assert "固定资产投资" in standalone and "目标" in standalone
    answer = shared_bot.ask("那固定资产投资呢？", [m.model_dump() for m in history])
    assert "固定资产投资增长8%左右" in answer.answer
    assert answer.standalone_question == resolve_relative_years(standalone, 2023) == "2023年固定资产投资增长目标是多少？"


def test_english_words_are_translated_only_into_words_the_index_holds():
    from chatbot.retrieve.bilingual import english_expansions

    known = {"耕地", "干旱"}.__contains__
    assert english_expansions("How much arable land was protected from the drought?", known) == ["耕地", "干旱"]
    assert english_expansions("2023年GDP增长多少？", lambda word: True) == []  # a Chinese question with an acronym


def test_an_english_question_finds_its_passage_through_bm25_alone(shared_bot):
    # no lexicon entry covers "extreme heat" or "summer"; without CC-CEDICT, BM25 matches nothing in it
    passages = shared_bot.retriever.search("How did the city respond to the extreme heat last summer?", 3, mode="bm25")
    assert passages and "极端干旱天气" in passages[0].text


def test_the_reports_own_city_name_is_not_a_search_word():
    from chatbot.retrieve.retriever import build_query, subject_pattern

    subjects = subject_pattern({"zjj.txt": {"city": "张家界", "city_en": "Zhangjiajie"}})
    query = build_query("张家界市的耕地保住了多少亩？", 2023, subjects=subjects)
    assert "耕地" in query.tokens
    assert not [t for t in query.tokens if "张" in t or "界" in t]
    assert query.text == "张家界市的耕地保住了多少亩？"  # the embedder still reads the whole question
    assert subject_pattern({"x.txt": {}}) is None


def test_passages_carry_the_everyday_phrases_of_their_report_terms():
    from chatbot.question.query import DocumentExpander
    from chatbot.segmentation import tokenize

    expand = DocumentExpander({"种庄稼的地": ["耕地"], "大龄工人": ["超龄从业人员"]})
    added = expand(tokenize("牢牢守住154.78万亩耕地保护底线目标"))
    assert set(tokenize("种庄稼的地")) <= set(added)
    assert not set(tokenize("大龄工人")) & set(added)  # its report term is not in this passage
    assert expand(tokenize("推进文旅项目点状用地")) == []


def test_a_followup_the_rules_leave_alone_leans_on_the_previous_question(shared_bot):
    history = [Message(role="user", content="2022年市里自己拿了多少钱搞科技？"), Message(role="assistant", content="安排市级资金1130万元。")]
    alone = shared_bot.search("从中央和省里争取到多少？", [], 5)
    followed = shared_bot.search("从中央和省里争取到多少？", history, 5)

    def score(passages):
        return next(p.score for p in passages if "科技专项资金5995.5万元" in p.text)

    # the previous question's words (科技) pull the science-funding passage up, close to the best match
    assert score(followed) > score(alone) + 0.15
    assert any("科技专项资金5995.5万元" in p.text for p in followed[:2])
    # a question naming its own topic is not pulled back to the previous one
    assert "快递员" in shared_bot.search("送快递的小哥有没有工伤保障？", history, 1)[0].text


def test_english_lexicon_phrases_match_whole_words():
    from chatbot.question.query import expansions

    assert "莓茶" not in expansions("Will teachers get a raise?")  # "tea" is not in "teacher"
    assert "地区生产总值" in expansions("2023年gdp增长多少？")  # an ASCII word right after Han characters
    assert "无障碍" in expansions("Is the new station accessible?")  # a stem entry (accessib*)


def test_expansions_and_a_reports_glossary_are_stored_at_ingest(tmp_path):
    from chatbot.segmentation import tokenize
    from chatbot.settings import Settings
    from ingest.loaders import load
    from ingest.pipeline import prepare_chunks

    report = tmp_path / "r.txt"
    report.write_text("牢牢守住154.78万亩耕地保护底线目标。快递员群体工伤保险参保率达90%以上。\n", encoding="utf-8")
    plain = " ".join(c.meta["terms"] for c in prepare_chunks(load(report), Settings(data_dir=tmp_path / "d"))).split()
    assert set(tokenize("快递小哥")) <= set(plain)  # the everyday lexicon's phrase for 快递员, stored with the chunk
    assert "粮田" not in plain
    (tmp_path / "r.terms.tsv").write_text("# this report's own words\n粮田\t耕地\n", encoding="utf-8")
    glossary = " ".join(c.meta["terms"] for c in prepare_chunks(load(report), Settings(data_dir=tmp_path / "d"))).split()
    assert "粮田" in glossary and set(plain) <= set(glossary)


def test_the_dense_search_asks_for_more_than_the_store_holds_and_gets_every_chunk(shared_bot, monkeypatch):
    """No count() before the query (it cost a round trip growing with the store): Chroma caps
    n_results itself, without a warning (warnings are errors here) and without losing a chunk."""
    from chatbot.retrieve import retriever as module

    stored = len(shared_bot.retriever)
    monkeypatch.setattr(module, "CANDIDATES", stored + 20)
    passages = shared_bot.retriever.search("旅游收入增长多少？", stored + 20, mode="dense")
    assert len(passages) == stored and len({p.chunk_id for p in passages}) == stored
