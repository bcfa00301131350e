"""Record and replay (chatbot/answer/backends/cassette.py, replay.py): a model's answers recorded once over the
real streamed protocol come back, through the `replay` backend, identical and with the server gone;
an unrecorded prompt is a backend failure (the offline fallback), never an invented answer."""

from __future__ import annotations

import json

from chatbot.core import Chatbot
from chatbot.settings import Settings
from tests.conftest import track
from tests.fakes.llm_servers import FakeOpenAIServer, liar_reply

KEY = "sk-cassette-0123456789"
FIRST = "今年GDP增长目标是多少？"
FOLLOWUP = "那旅游收入呢？"


def test_a_recorded_conversation_replays_identically_without_the_server(built_store, tmp_path):
    cassette = tmp_path / "qwen.jsonl"
    history = [{"role": "user", "content": FIRST}, {"role": "assistant", "content": "7.5%左右[1]。"}]
    with FakeOpenAIServer(expected_api_key=KEY, reply=liar_reply("honest")) as server:
        live = track(Chatbot(Settings(data_dir=built_store, openai_api_key=KEY, openai_base_url=server.base_url, record_to=cassette)))
        answers = [live.ask(FIRST, backend="openai"), live.ask(FOLLOWUP, history, backend="openai")]
        calls = len(server.requests)
    lines = [json.loads(line) for line in cassette.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == calls == 3  # two answers and the follow-up's rewrite
    assert all(line["pieces"] and line["error"] is None and line["messages"] for line in lines)

    replay = track(Chatbot(Settings(data_dir=built_store, replay_from=cassette)))
    again = [replay.ask(FIRST, backend="replay"), replay.ask(FOLLOWUP, history, backend="replay")]
    for before, after in zip(answers, again):
        assert after.backend == "replay" and not after.fallback
        assert after.answer == before.answer and after.standalone_question == before.standalone_question
        assert [s.verified for s in after.sentences] == [s.verified for s in before.sentences]
    assert len(cassette.read_text(encoding="utf-8").splitlines()) == 3  # replaying records nothing


def test_an_unrecorded_prompt_falls_back_and_says_so(built_store, tmp_path):
    cassette = tmp_path / "empty.jsonl"
    cassette.write_text("", encoding="utf-8")
    bot = track(Chatbot(Settings(data_dir=built_store, replay_from=cassette)))
    answer = bot.ask(FIRST, backend="replay")
    assert answer.fallback and answer.fallback_reason == "backend_error"
    assert any("not recorded" in w for w in answer.warnings)
    assert "7.5%" in answer.answer  # the offline answer


def test_a_recorded_failure_replays_as_that_failure(built_store, tmp_path):
    cassette = tmp_path / "failing.jsonl"
    with FakeOpenAIServer(expected_api_key=KEY, mode="server_error") as server:
        live = track(Chatbot(Settings(data_dir=built_store, openai_api_key=KEY, openai_base_url=server.base_url, record_to=cassette)))
        assert live.ask(FIRST, backend="openai").fallback_reason == "backend_error"
    assert json.loads(cassette.read_text(encoding="utf-8").splitlines()[0])["error"]
    answer = track(Chatbot(Settings(data_dir=built_store, replay_from=cassette))).ask(FIRST, backend="replay")
    assert answer.fallback_reason == "backend_error" and any("recorded failure" in w for w in answer.warnings)


def test_a_broken_or_missing_cassette_is_one_clear_line(built_store, tmp_path):
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n", encoding="utf-8")
    for path, words in ((broken, "broken line 1"), (tmp_path / "absent.jsonl", "Cannot read")):
        bot = track(Chatbot(Settings(data_dir=built_store, replay_from=path)))
        health = bot.backend("replay").health()
        assert not health.reachable and words in health.detail and "\n" not in health.detail
        answer = bot.ask(FIRST, backend="replay")
        assert answer.fallback and any(words in w for w in answer.warnings)
