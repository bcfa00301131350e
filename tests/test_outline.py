"""Questions about how the report is organised are answered from its stored heading tree."""

from __future__ import annotations

import pytest

from chatbot.answer.outline import SEPARATOR, outline_answer
from chatbot.types import Passage


def _headings(bot, part_marker: str) -> list[str]:
    """The second-level headings under the top-level part whose title contains `part_marker`, from the store."""
    source = next(iter(bot.retriever.documents))
    seen: list[str] = []
    for chunk in bot.retriever.document_chunks(source):
        path = chunk.section.split(SEPARATOR)
        if part_marker in path[0] and len(path) >= 2 and path[1] not in seen:
            seen.append(path[1])
    return seen


@pytest.mark.parametrize(
    "question, part_marker",
    [("今年的工作安排分为哪几个方面？", "工作安排"), ("报告回顾了哪些方面的工作？", "工作回顾"),
     ("What are the main parts of the 2023 plan?", "工作安排")],
)
def test_structure_questions_list_the_headings_each_cited_where_it_starts(shared_bot, question, part_marker):
    expected = _headings(shared_bot, part_marker)
    assert len(expected) >= 2
    answer = shared_bot.ask(question)
    assert not answer.refused
    assert [h for h in expected if h in answer.answer] == expected
    cited = {c.n: c for c in answer.citations}
    for n, heading in enumerate(expected, start=1):
        assert f"{heading}[{n}]" in answer.answer
        path = cited[n].section.split(SEPARATOR)
        assert part_marker in path[0] and path[1] == heading  # cited to the chunk where the heading starts
    assert all(s.verified for s in answer.sentences)


def test_ordinary_questions_are_not_caught(shared_bot):
    for question in ("今年GDP增长目标是多少？", "2023年主要在哪些方面发力？", "城里的老房子今年会大拆大建吗？"):
        assert outline_answer(question, shared_bot.retriever.documents, shared_bot.retriever.document_chunks) is None
    answer = shared_bot.ask("今年GDP增长目标是多少？")
    assert "分为以下几个方面" not in answer.answer and "7.5%" in answer.answer


def test_any_report_with_numbered_headings_gets_its_own_outline():
    def chunk(i: int, section: str) -> Passage:
        return Passage(chunk_id=f"c{i}", text=f"正文{i}。", score=0.0, source="r.txt", section=section, index=i)

    chunks = [chunk(0, "一、2030年工作回顾 › （一）甲"), chunk(1, "二、2031年工作计划 › （一）修路 › 细目"),
              chunk(2, "二、2031年工作计划 › （一）修路"), chunk(3, "二、2031年工作计划 › （二）办学")]
    documents = {"r.txt": {"year": 2031}}
    outline = outline_answer("2031年的工作计划分为哪几个方面？", documents, lambda source: chunks)
    assert outline is not None and outline.part == "二、2031年工作计划"
    assert [p.chunk_id for p in outline.passages] == ["c1", "c3"]
    assert outline.text.endswith("（一）修路[1]；（二）办学[2]。")
    # one heading only, or a year the report does not plan: no outline answer
    assert outline_answer("2030年的工作回顾分为哪几个方面？", documents, lambda source: chunks) is None
    assert outline_answer("2029年的工作计划分为哪几个方面？", documents, lambda source: chunks) is None


def test_the_outline_answers_for_a_model_backend_without_calling_the_model(shared_bot):
    from chatbot.core import Chatbot
    from chatbot.settings import Settings
    from tests.conftest import track
    from tests.fakes.llm_servers import FakeOpenAIServer

    with FakeOpenAIServer() as server:
        server.reply = lambda request: "模型编造的答案[1]。"
        bot = track(Chatbot(Settings(data_dir=shared_bot.settings.data_dir, openai_base_url=server.base_url, openai_api_key="k"),
                            embedder=shared_bot.embedder, retriever=shared_bot.retriever))
        answer = bot.ask("今年的工作安排分为哪几个方面？", backend="openai")
        assert not answer.refused and not answer.fallback
        assert "（一）加快构建现代化产业体系[1]" in answer.answer and "模型编造" not in answer.answer
        assert not [r for r in server.requests if "chat/completions" in r.path]
