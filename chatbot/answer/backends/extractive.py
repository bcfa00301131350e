"""The offline default backend: no model server. It answers through chatbot.answer.extractive."""

from __future__ import annotations

from chatbot.answer.backends.base import Backend, Health


class ExtractiveBackend(Backend):
    name = "extractive"

    def health(self) -> Health:
        return Health(self.name, True, "offline, always available (sentences selected from the report)")
