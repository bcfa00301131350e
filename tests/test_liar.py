"""The liar suite: a fake OpenAI-compatible server (real wire protocol, streamed) answers from
the passages it is sent, honestly or with exactly one lie; every lie must be flagged with the
right reason (or the answer replaced by the extractive one), the honest answer never."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from chatbot.core import Chatbot
from chatbot.settings import Settings
from tests.conftest import ROOT, track
from tests.fakes.llm_servers import LIES, FakeOpenAIServer, _passages_and_question, liar_reply

KEY = "sk-liar-0123456789"
GDP = "今年GDP增长目标是多少？"
# lie -> (question, the reasons that name it)
CASES = {
    "invented_official": (GDP, {"name"}),
    "invented_project": (GDP, {"place", "organisation"}),
    "unsupported_claim": (GDP, {"unsupported"}),
    "added_judgement": (GDP, {"judgement"}),
    "invented_figure": (GDP, {"figure"}),
    "moved_figure": (GDP, {"figure"}),
    "wrong_year": (GDP, {"year"}),
    "miscounted": ("旅游市场要开展哪些专项整治行动？", {"figure"}),
    "wrong_citation": (GDP, {"unsupported", "figure", "year"}),
    "unanswerable": ("张家界现任市长叫什么名字？", {"name"}),
    "off_question": (GDP, set()),  # supported: only the answers-the-question check can catch it
}


@pytest.fixture
def liar():
    with FakeOpenAIServer(expected_api_key=KEY) as server:
        yield server


def ask(built_store, server: FakeOpenAIServer, question: str):
    settings = Settings(data_dir=built_store, openai_api_key=KEY, openai_base_url=server.base_url, read_timeout=5.0)
    bot = track(Chatbot(settings))
    answer = bot.ask(question, backend="openai")
    assert not server.errors, server.errors
    assert server.requests and server.requests[-1].json.get("stream") is True  # the streamed protocol
    return answer


def test_every_lie_kind_has_a_case():
    assert set(CASES) == set(LIES)


@pytest.mark.parametrize("markers", [True, False], ids=["cited", "uncited"])
def test_the_honest_answer_carries_no_flag(built_store, liar, markers):
    liar.reply = liar_reply("honest", markers=markers)
    answer = ask(built_store, liar, GDP)
    assert not answer.fallback and not answer.refused and "7.5%" in answer.answer
    assert answer.sentences and all(s.verified and s.reason is None for s in answer.sentences)
    assert answer.warnings == []
    assert "[1]" in answer.answer  # written by the model, or attached by the checker
    if not markers:
        assert answer.sentences[0].added_citations == answer.sentences[0].citations != []


@pytest.mark.parametrize("lie", LIES)
def test_each_lie_is_flagged_with_its_reason(built_store, liar, lie):
    question, reasons = CASES[lie]
    liar.reply = liar_reply(lie)
    answer = ask(built_store, liar, question)
    if answer.fallback:  # the core replaced a mostly unsupported answer by the extractive one
        assert lie != "added_judgement", answer.answer  # its honest sentence is most of it: kept, one flag
        assert all(s.verified for s in answer.sentences)
        return
    assert lie != "off_question", answer.answer
    flagged = [s for s in answer.sentences if not s.verified]
    assert flagged, (lie, answer.answer)
    assert any(s.reason in reasons for s in flagged), [(s.text, s.reason) for s in flagged]
    assert answer.warnings  # the user is told, in one line per kind of problem
    assert len(answer.warnings) == len(set(answer.warnings))


def _cli_ask(built_store, liar) -> dict:
    env = {
        "CHATBOT_DATA_DIR": str(built_store), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "OPENAI_BASE_URL": liar.base_url, "OPENAI_API_KEY": KEY,
    }
    result = subprocess.run(
        [sys.executable, "-m", "chatbot", "ask", GDP, "--json", "--backend", "openai", "--model", "qwen"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert liar.requests[-1].json["model"] == "qwen"
    return json.loads(result.stdout)


def test_the_cli_json_marks_the_lying_sentence(built_store, liar):
    """A lie beside a supported sentence: the answer stays, the lying sentence is marked."""
    liar.reply = liar_reply("invented_project")
    data = _cli_ask(built_store, liar)
    assert not data["fallback"]
    lying = [s for s in data["sentences"] if "云梦新区" in s["text"]]
    assert lying and lying[0]["verified"] is False and lying[0]["reason"] in ("place", "organisation")
    assert [s for s in data["sentences"] if s["verified"] and "7.5%" in s["text"]]
    assert any("云梦新区" in w or "国际会展中心" in w for w in data["warnings"])


def test_the_cli_json_replaces_an_answer_that_is_mostly_a_lie(built_store, liar):
    """The whole answer hangs on an invented official: the checked offline answer replaces it, and says why."""
    liar.reply = liar_reply("invented_official")
    data = _cli_ask(built_store, liar)
    assert data["fallback"] and "刘建明" not in data["answer"] and "7.5%" in data["answer"]
    assert any("刘建明" in w for w in data["warnings"]) and any("not supported" in w for w in data["warnings"])


# --- answers the wrong thing: true passage words, wrong subject ------------------------------------
FIVE_BIG = "“五大”区域公用品牌有哪些？"
FIVE_SMALL = "那“五小”呢？"
_LISTS = re.compile(r"抓好(?P<big>[^“]+)“五大”区域公用品牌和(?P<small>[^“]+)“五小”")


def _list_reply(which: str):
    """Answers the list `which` ("big" or "small") of the report's sentence on the brands, cited; any
    other request (the follow-up's rewrite) gets its question back."""
    def reply(request) -> str:
        passages, question = _passages_and_question(request)
        for n, text in passages:
            m = _LISTS.search(text)
            if m:
                return f"{m.group(which)}[{n}]。"
        return question.splitlines()[-1] if question else "?"

    return reply


def test_the_off_question_lie_falls_back_with_its_reason(built_store, liar):
    liar.reply = liar_reply("off_question")
    answer = ask(built_store, liar, GDP)
    assert answer.fallback and answer.fallback_reason == "off_question", answer.answer
    assert "7.5%" in answer.answer and all(s.verified for s in answer.sentences)
    assert any("something other than what was asked" in w for w in answer.warnings)


@pytest.mark.parametrize(("which", "off"), [("big", True), ("small", False)], ids=["wrong-list", "right-list"])
def test_a_followup_answered_with_the_list_of_the_question_before(built_store, liar, which, off):
    """After "“五大”…有哪些？", "那“五小”呢？" answered with the 五大 list: every word is in the report and
    cited right, yet it answers the question before. The 五小 list itself carries no flag."""
    liar.reply = _list_reply(which)
    history = [{"role": "user", "content": FIVE_BIG}, {"role": "assistant", "content": "张家界莓茶、慈利杜仲……[1]。"}]
    settings = Settings(data_dir=built_store, openai_api_key=KEY, openai_base_url=liar.base_url, read_timeout=5.0)
    answer = track(Chatbot(settings)).ask(FIVE_SMALL, history, backend="openai")
    assert not liar.errors, liar.errors
    if off:
        assert answer.fallback and answer.fallback_reason == "off_question", answer.answer
        assert "七姊妹辣椒" in answer.answer  # the offline answer quotes the whole sentence, 五小 list included
    else:
        assert not answer.fallback and answer.warnings == [], (answer.answer, answer.warnings)
        assert "七姊妹辣椒" in answer.answer and all(s.verified for s in answer.sentences)


def test_closing_commentary_is_dropped_not_flagged(built_store, liar):
    """A right, cited answer with a closing sentence of the model's own (cites nothing, no passage holds
    it): the reader gets the supported answer without it and without a false alarm."""
    honest = liar_reply("honest")
    liar.reply = lambda request: honest(request) + "因此，这一安排充分体现了稳中求进的总基调，前景十分可期。"
    answer = ask(built_store, liar, GDP)
    assert not answer.fallback and answer.warnings == [] and "7.5%" in answer.answer
    assert "前景十分可期" not in answer.answer and all(s.verified for s in answer.sentences)
