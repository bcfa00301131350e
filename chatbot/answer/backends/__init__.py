"""Backends by name. LLM backends import their client libraries lazily."""

from __future__ import annotations

from collections.abc import Callable

from chatbot.answer.backends.base import Backend, Health
from chatbot.errors import InputError
from chatbot.settings import Settings


def _extractive() -> type[Backend]:
    from chatbot.answer.backends.extractive import ExtractiveBackend

    return ExtractiveBackend


def _openai() -> type[Backend]:
    from chatbot.answer.backends.openai import OpenAIBackend

    return OpenAIBackend


def _ollama() -> type[Backend]:
    from chatbot.answer.backends.ollama import OllamaBackend

    return OllamaBackend


def _replay() -> type[Backend]:
    from chatbot.answer.backends.replay import ReplayBackend

    return ReplayBackend


BACKENDS: dict[str, Callable[[], type[Backend]]] = {"extractive": _extractive, "openai": _openai, "ollama": _ollama}
# Developer tools, accepted by name (eval, CLI) but never offered to visitors or staff.
DEV_BACKENDS: dict[str, Callable[[], type[Backend]]] = {"replay": _replay}


def get_backend(name: str, settings: Settings, model: str | None = None) -> Backend:
    try:
        factory = BACKENDS[name] if name in BACKENDS else DEV_BACKENDS[name]
    except KeyError:
        raise InputError(f"Unknown backend '{name}'. Choose one of: {', '.join(BACKENDS)}.") from None
    return factory()(settings, model)


__all__ = ["BACKENDS", "DEV_BACKENDS", "Backend", "Health", "get_backend"]
