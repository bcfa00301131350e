"""A canary API key, set the usual way (OPENAI_API_KEY), never shows up anywhere a user or a log sees.

The fake server below is hostile: every error body echoes the bearer token it received in full.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest

from chatbot import cli
from chatbot.core import Chatbot
from chatbot.settings import Settings, get_settings
from tests.conftest import ROOT
from tests.fakes.llm_servers import FakeOllamaServer, FakeOpenAIServer

CANARY_KEY = "sk-CANARY-9f8e7d6c5b4a"
QUESTION = "今年GDP增长目标是多少？"


class EchoingOpenAIServer(FakeOpenAIServer):
    """Answers `echo_status` (when set) with an error whose message repeats the whole bearer token."""

    echo_status: int | None = None

    def _handle(self, h, req, bad_json):  # noqa: ANN001 - the fake's own signature
        if self.echo_status is None:
            return super()._handle(h, req, bad_json)
        auth = req.authorization or ""
        message = f"Incorrect API key provided: {auth.split(' ', 1)[-1]} (you sent '{auth}')."
        self._send_error(h, self.echo_status, message, "invalid_request_error", "invalid_api_key")


def assert_clean(text: str, where: str) -> None:
    assert CANARY_KEY not in text, f"the API key leaked into {where}"
    assert CANARY_KEY[3:] not in text, f"the API key (without its prefix) leaked into {where}"


@pytest.fixture
def echo_server():
    with EchoingOpenAIServer(expected_api_key=CANARY_KEY, reply="地区生产总值增长7.5%左右[1]。") as server:
        yield server


@pytest.fixture
def key_env(monkeypatch, echo_server):
    monkeypatch.setenv("OPENAI_API_KEY", CANARY_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", echo_server.base_url)
    monkeypatch.setenv("CHATBOT_READ_TIMEOUT", "5")
    monkeypatch.setenv("CHATBOT_CONNECT_TIMEOUT", "1")
    get_settings.cache_clear()
    return echo_server


@pytest.fixture
def key_bot(key_env, shared_bot):
    """A bot whose settings come from the environment, over the session store (read only)."""
    settings = Settings().model_copy(update={"data_dir": shared_bot.settings.data_dir})
    assert settings.openai_api_key is not None and settings.openai_api_key.get_secret_value() == CANARY_KEY
    bot = Chatbot(settings, embedder=shared_bot.embedder, retriever=shared_bot.retriever)
    yield bot
    bot.close()


def test_settings_never_show_the_key(key_env):
    settings = Settings()
    assert settings.openai_api_key.get_secret_value() == CANARY_KEY  # the key is read ...
    for where, text in {
        "repr(Settings())": repr(settings),
        "str(Settings())": str(settings),
        "model_dump_json()": settings.model_dump_json(),
        "model_dump(mode=json)": json.dumps(settings.model_dump(mode="json")),
        "str(model_dump())": str(settings.model_dump()),
        "repr(openai_api_key)": repr(settings.openai_api_key),
    }.items():
        assert_clean(text, where)  # ... and shown nowhere


def test_the_chat_model_repr_never_shows_the_key(key_bot):
    model = key_bot.backend("openai").chat_model()
    assert_clean(repr(model), "repr(ChatOpenAI)")
    assert_clean(str(model.model_dump()), "ChatOpenAI.model_dump()")


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 429, 500])
def test_error_bodies_echoing_the_key_never_reach_answer_warnings_or_logs(key_bot, key_env, caplog, status):
    server = key_env
    server.echo_status = status
    caplog.set_level(logging.DEBUG)
    answer = key_bot.ask(QUESTION, backend="openai")
    assert answer.fallback and "7.5%" in answer.answer
    assert server.authorizations[-1] == f"Bearer {CANARY_KEY}"  # the key was sent, and echoed back
    assert_clean(json.dumps(answer.to_json_dict(), ensure_ascii=False), "the answer JSON")
    assert_clean("\n".join(answer.warnings), "the warnings")
    assert_clean(caplog.text, "the DEBUG log")
    assert_clean("\n".join(repr(r.args) + repr(r.msg) for r in caplog.records), "log record arguments")
    # the server's body is never shown (visitors read these warnings), only its status
    assert not any("Incorrect API key" in w for w in answer.warnings), answer.warnings
    assert any(f"HTTP {status}" in w for w in answer.warnings), answer.warnings


def test_a_succeeding_request_logs_no_key(key_bot, caplog):
    caplog.set_level(logging.DEBUG)
    answer = key_bot.ask(QUESTION, backend="openai")
    assert not answer.fallback and answer.backend == "openai"
    assert any(r.levelno == logging.DEBUG for r in caplog.records)  # DEBUG logging was really on
    assert_clean(caplog.text, "the DEBUG log")
    assert_clean("\n".join(repr(r.args) + repr(r.msg) for r in caplog.records), "log record arguments")
    assert_clean(json.dumps(answer.to_json_dict(), ensure_ascii=False), "the answer JSON")


def test_health_check_never_shows_the_key(key_bot, key_env, caplog):
    caplog.set_level(logging.DEBUG)
    server = key_env
    for status in (None, 400, 401, 500):
        server.echo_status = status
        health = key_bot.backend("openai").health()
        assert_clean(f"{health}", f"the health check (HTTP {status})")
    assert_clean(caplog.text, "the DEBUG log of the health checks")


def test_cli_backends_never_shows_the_key(key_env, monkeypatch, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    with FakeOllamaServer(mode="unauthorized") as ollama:
        monkeypatch.setenv("OLLAMA_HOST", ollama.url)
        get_settings.cache_clear()
        for status in (None, 400, 401):
            key_env.echo_status = status
            assert cli.main(["backends"]) == 0
            out, err = capsys.readouterr()
            assert "openai" in out and "ollama" in out
            assert_clean(out + err, f"`python -m chatbot backends` (HTTP {status})")
    assert_clean(caplog.text, "the DEBUG log of `backends`")


def test_cli_ask_json_and_backends_subprocesses(key_env, store_copy):
    """The real CLI, verbose, on a 401 whose body echoes the key: stdout JSON and stderr stay clean."""
    key_env.echo_status = 401
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "OLLAMA_HOST": "http://127.0.0.1:9"}
    runs = [
        [sys.executable, "-m", "chatbot", "-v", "ask", QUESTION, "--json", "--backend", "openai"],
        [sys.executable, "-m", "chatbot", "-v", "backends"],
    ]
    procs = [subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for argv in runs]
    results = [(p, *p.communicate(timeout=180)) for p in procs]
    assert any(r.authorization == f"Bearer {CANARY_KEY}" for r in key_env.requests)  # the key was really used
    for proc, out, err in results:
        out_s, err_s = out.decode("utf-8"), err.decode("utf-8")
        assert proc.returncode == 0, (proc.args, err_s)
        assert "Traceback" not in err_s
        assert_clean(out_s, f"stdout of {proc.args[3:]}")
        assert_clean(err_s, f"stderr of {proc.args[3:]}")
    answer = json.loads(results[0][1].decode("utf-8"))
    assert answer["fallback"] and any("credentials" in w for w in answer["warnings"])
