"""The answer stage: one contract (`contract`), the offline answerer (`extractive`), the model
answerer (`llm`), and the deadline that bounds a whole answer (`deadline`)."""

from __future__ import annotations

from chatbot.answer.backends import get_backend
from chatbot.answer.contract import Answerer, AnswerRequest, Draft
from chatbot.settings import Settings


def get_answerer(name: str, settings: Settings, model: str | None = None) -> Answerer:
    """The answerer for a backend name (raises InputError for an unknown one)."""
    backend = get_backend(name, settings, model)
    if name == "extractive":
        from chatbot.answer.extractive import ExtractiveAnswerer

        return ExtractiveAnswerer(backend)
    from chatbot.answer.llm import LLMAnswerer

    return LLMAnswerer(backend)  # type: ignore[arg-type]


__all__ = ["AnswerRequest", "Answerer", "Draft", "get_answerer"]
