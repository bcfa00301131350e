"""The backend contract: a name, typed options, one streaming method, a health check."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from chatbot.settings import Settings


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
