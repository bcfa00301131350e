"""The offline default backend: no model server; see chatbot.extractive."""

from __future__ import annotations

from collections.abc import Iterator

from chatbot.backends.base import Backend, Health


class ExtractiveBackend(Backend):
    name = "extractive"
    is_llm = False

    def default_model(self) -> str | None:
        return None

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:  # pragma: no cover - not an LLM
        raise NotImplementedError("the extractive backend answers through chatbot.extractive.extract")

    def health(self) -> Health:
        return Health(self.name, True, "offline, always available (sentences selected from the report)")
