"""The operator's list of what visitors and API clients may choose."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chatbot.client_choices import BackendChoice, find_choice, parse_choices
from chatbot.settings import Settings


def test_offline_answer_is_always_offered_first():
    assert parse_choices("openai:gpt-4o-mini") == [BackendChoice("extractive"), BackendChoice("openai", "gpt-4o-mini")]
    assert parse_choices("") == [BackendChoice("extractive")]


def test_ollama_tags_keep_their_colons_and_repeats_collapse():
    choices = parse_choices("ollama:qwen2.5:7b, extractive, ollama:qwen2.5:7b")
    assert [c.label for c in choices] == ["extractive", "ollama:qwen2.5:7b"]


@pytest.mark.parametrize("bad", ["gemini", "extractive:x", "http://evil.example/v1"])
def test_unknown_choices_are_a_settings_error(bad, monkeypatch):
    monkeypatch.setenv("CHATBOT_PUBLIC_BACKENDS", bad)
    with pytest.raises(ValidationError, match="CHATBOT_PUBLIC_BACKENDS|extractive backend takes no model"):
        Settings()


def test_a_client_names_a_choice_by_label_or_by_an_unambiguous_backend():
    choices = parse_choices("openai:gpt-4o-mini,ollama:a,ollama:b")
    assert find_choice("openai", choices) == BackendChoice("openai", "gpt-4o-mini")
    assert find_choice("openai:gpt-4o-mini", choices) == BackendChoice("openai", "gpt-4o-mini")
    assert find_choice("ollama", choices) is None  # two ollama models: the client must say which
    assert find_choice("openai:gpt-5", choices) is None


def test_settings_expose_the_parsed_list(monkeypatch):
    monkeypatch.setenv("CHATBOT_PUBLIC_BACKENDS", "openai")
    assert [c.label for c in Settings().public_choices] == ["extractive", "openai"]
