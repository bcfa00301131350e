"""The backend contract: a name, typed options, one streaming method, a health check."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict

from chatbot.errors import BackendError
from chatbot.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


@dataclass
class Health:
    name: str
    reachable: bool
    detail: str
    model: str | None = None


class Backend(ABC):
    """An answer generator. LLM backends stream text for a list of chat messages."""

    name: ClassVar[str]
    is_llm: ClassVar[bool] = True

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")

    def __init__(self, settings: Settings, model: str | None = None) -> None:
        self.settings = settings
        self.model = model or settings.model or self.default_model()

    def default_model(self) -> str | None:
        return None

    @abstractmethod
    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """Yield pieces of the answer; raise a BackendError subclass on failure."""

    @abstractmethod
    def health(self) -> Health: ...

    def close(self) -> None:
        """Release network clients (a long-running app never needs to)."""


class LLMBackend(Backend):
    """A backend behind a LangChain chat model: built once, translated errors, closable."""

    _model: BaseChatModel | None = None

    def chat_model(self) -> BaseChatModel:
        """One chat model per backend, so its connection pool is reused."""
        if self._model is None:
            self._model = self._build_model()
        return self._model

    @abstractmethod
    def _build_model(self) -> BaseChatModel: ...

    @abstractmethod
    def _close_model(self, model: BaseChatModel) -> None: ...

    @abstractmethod
    def translate(self, exc: BaseException, *, started: bool) -> BackendError:
        """The client's exception as a BackendError naming this backend and what to fix."""

    def close(self) -> None:
        model, self._model = self._model, None
        if model is not None:
            self._close_model(model)

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        from chatbot.chain import stream_messages

        yield from stream_messages(self, messages)
