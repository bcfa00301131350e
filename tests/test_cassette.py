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


def test_the_edges_that_serve_visitors_never_record_them(built_store, tmp_path, monkeypatch):
    """CHATBOT_RECORD_TO is a developer's aid: the CLI records with it, but the web app and the HTTP
    API ignore it, since a cassette would hold every visitor's question verbatim."""
    import uvicorn

    import chatbot.api.app
    from chatbot.api.server import serve
    from chatbot.launch import open_chatbot
    from chatbot.settings import get_settings
    from chatbot.ui.resources import load_chatbot

    cassette = tmp_path / "visitors.jsonl"
    with FakeOpenAIServer(expected_api_key=KEY, reply=liar_reply("honest")) as server:
        for name, value in {"CHATBOT_DATA_DIR": str(built_store), "OPENAI_API_KEY": KEY,
                            "OPENAI_BASE_URL": server.base_url, "CHATBOT_RECORD_TO": str(cassette)}.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        load_chatbot.clear()
        served: list = []  # what the API's Chatbot answered, asked while `serve` holds it open
        monkeypatch.setattr(chatbot.api.app, "create_app",
                            lambda bot, settings=None: served.append((bot.settings.record_to, bot.ask(FIRST, backend="openai"))))
        monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
        try:
            assert serve("127.0.0.1", 0) == 0
            web = load_chatbot(str(built_store))
            assert web.settings.record_to is None
            for record_to, answer in (served[0], (None, web.ask(FIRST, backend="openai"))):
                assert record_to is None and not answer.fallback  # the model answered, unrecorded
            assert not cassette.exists()
            track(open_chatbot()).ask(FIRST, backend="openai")  # the CLI's and eval's way in records
            assert len(cassette.read_text(encoding="utf-8").splitlines()) == 1
        finally:
            load_chatbot.clear()
            get_settings.cache_clear()
