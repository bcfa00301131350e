"""The backend contract: a name, typed options, a chat model, translated errors, a health check.

A backend is transport only: how to reach a model and what its failures mean. It knows
no prompts; `chatbot.answer.llm` builds those and calls `LLMBackend.run`.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from chatbot.errors import BackendError
from chatbot.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

logger = logging.getLogger(__name__)


@dataclass
class Health:
    name: str
    reachable: bool
    detail: str
    model: str | None = None


class Backend(ABC):
    """Something that can answer: the offline answerer or a model behind a server."""

    name: ClassVar[str]

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")

    def __init__(self, settings: Settings, model: str | None = None) -> None:
        self.settings = settings
        self.model = model or settings.model or self.default_model()

    def default_model(self) -> str | None:
        return None

    @abstractmethod
    def health(self) -> Health: ...

    def close(self) -> None:
        """Release network clients (a long-running app never needs to)."""


class LLMBackend(Backend):
    """A backend behind a LangChain chat model: built once, translated errors, closable."""

    _model: BaseChatModel | None = None
    recordable: ClassVar[bool] = True  # CHATBOT_RECORD_TO records this backend's exchanges

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
        """The client's exception as a BackendError naming this backend and what to fix.

        The message is shown to visitors: no host, port, path or response body in it.
        Those details go to the log."""

    def run(self, runnable: Any, inputs: Any) -> Iterator[str]:
        """Stream a LangChain runnable's text pieces; any failure becomes this backend's BackendError.

        With CHATBOT_RECORD_TO set, the exchange (exact prompt, pieces or error) is appended to that
        cassette once the stream ends (chatbot.answer.backends.cassette)."""
        started = False
        pieces: list[str] = []
        error: str | None = None
        finished = False  # a stream the caller closed early is not a take worth keeping
        clock = time.perf_counter()
        first: float | None = None
        stream = runnable.stream(inputs)
        try:
            for piece in stream:
                if piece:
                    started = True
                    if first is None:
                        first = time.perf_counter() - clock
                    pieces.append(piece)
                    yield piece
            finished = True
        except BackendError as exc:
            error = str(exc)
            raise
        except Exception as exc:  # noqa: BLE001 - each backend translates its client's errors
            translated = self.translate(exc, started=started)
            error = str(translated)
            raise translated from exc
        finally:
            if self.settings.record_to is not None and self.recordable and (finished or error):
                self._record(runnable, inputs, pieces, error, time.perf_counter() - clock, first)
            # Close LangChain's nested generators now: left to the garbage collector, a broken
            # connection surfaces later as an "exception ignored" in whatever code runs then.
            try:
                stream.close()
            except Exception:  # noqa: BLE001 - the connection is already gone
                logger.debug("closing the stream of %s failed", self.name, exc_info=True)

    def _record(self, runnable: Any, inputs: Any, pieces: list[str], error: str | None, seconds: float, ttft: float | None) -> None:
        """One exchange into the cassette."""
        from chatbot.answer.backends.cassette import record, rendered_prompt

        messages = rendered_prompt(runnable, inputs)
        if messages is None:
            return
        try:
            record(self.settings.record_to, backend=self.name, model=self.model, messages=messages,  # type: ignore[arg-type]
                   pieces=pieces, error=error, seconds=seconds, ttft=ttft)
        except OSError as exc:
            logger.warning("cannot record to the cassette: %s", exc)

    def close(self) -> None:
        model, self._model = self._model, None
        if model is not None:
            self._close_model(model)
