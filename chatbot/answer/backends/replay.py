"""The `replay` backend: answers only the prompts a cassette recorded (`chatbot.answer.backends.cassette`).

A development aid for re-scoring checker changes on the same model outputs; it is accepted by
name (eval, CLI) and never offered to visitors or staff.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from chatbot.answer.backends.base import Health, LLMBackend
from chatbot.answer.backends.cassette import load_cassette, prompt_key, prompt_messages
from chatbot.errors import BackendError, InputError


class CassetteChatModel(BaseChatModel):
    """A chat model that answers only the prompts it was recorded on."""

    tapes: dict[str, dict]
    backend_name: str = "replay"

    @property
    def _llm_type(self) -> str:
        return "cassette"

    def _tape(self, messages: list[BaseMessage]) -> dict:
        tape = self.tapes.get(prompt_key(prompt_messages(messages)))
        if tape is None:
            raise BackendError(self.backend_name, "This prompt was not recorded.", fix="Record it with CHATBOT_RECORD_TO first.")
        if tape.get("error"):
            raise BackendError(self.backend_name, f"(recorded failure) {tape['error']}")
        return tape

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text = "".join(self._tape(messages)["pieces"])
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for piece in self._tape(messages)["pieces"]:
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))


class ReplayBackend(LLMBackend):
    """`--backend replay`: the recorded answers of CHATBOT_REPLAY_FROM, for re-scoring checker changes."""

    name = "replay"
    recordable = False  # replaying into the same cassette would only copy it

    def default_model(self) -> str | None:
        return "cassette"

    def _path(self) -> Path:
        if self.settings.replay_from is None:
            raise BackendError(self.name, "No cassette to replay.", fix="Set CHATBOT_REPLAY_FROM to a file recorded with CHATBOT_RECORD_TO.")
        return self.settings.replay_from

    def _build_model(self) -> BaseChatModel:
        try:
            tapes = load_cassette(self._path())
        except InputError as exc:
            raise BackendError(self.name, str(exc)) from None
        return CassetteChatModel(tapes=tapes, backend_name=self.name)

    def _close_model(self, model: BaseChatModel) -> None:
        """Nothing to close: the cassette is read into memory once."""

    def translate(self, exc: BaseException, *, started: bool) -> BackendError:
        return BackendError(self.name, f"Unexpected failure ({type(exc).__name__}).")

    def health(self) -> Health:
        try:
            tapes = load_cassette(self._path())
        except (InputError, BackendError) as exc:
            return Health(self.name, False, str(exc), self.model)
        return Health(self.name, True, f"{len(tapes)} recorded prompts", self.model)
