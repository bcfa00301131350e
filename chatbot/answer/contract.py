"""The answer stage's one contract, shared by the offline answerer and every model.

An `Answerer` receives an `AnswerRequest` (the standalone question, the retrieved
passages, the conversation, and what the search knows about the question) and yields
the answer's text as it is produced, then exactly one `Draft`: the whole text and
whether the answerer itself declined. It does nothing else. Fallback, verification,
refusal recognition and the deadline happen once, in `chatbot.core`, for every
answerer alike, so no backend can skip them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from chatbot.types import Message, Passage


@dataclass(frozen=True)
class AnswerRequest:
    question: str  # standalone, instructions removed, 今年/去年 resolved
    passages: list[Passage]
    history: list[Message] = field(default_factory=list)
    idf: Callable[[str], float] = lambda token: 1.0  # how rare a token is in the store
    terms: list[str] = field(default_factory=list)  # the search's expansions (everyday words, English)


@dataclass(frozen=True)
class Draft:
    """An answerer's finished answer, before the core checks it."""

    text: str
    refused: bool = False  # the answerer declined by its own structure (not a phrase list)
    reason: str = ""  # why: a key of the refusal messages (chatbot.question.rules.MESSAGES)


class Answerer(ABC):
    """Produces an answer from passages. `calls_model` answerers count against the
    process-wide cap on model calls and run under the core's deadline watchdog."""

    name: str
    model: str | None = None
    calls_model: bool = False

    @abstractmethod
    def answer(self, request: AnswerRequest) -> Iterator[str | Draft]:
        """Yield text pieces as they are produced, then one Draft. Raise BackendError on failure."""

    def rewrite(self, question: str, history: list[Message]) -> Iterator[str]:
        """A model's standalone rewrite of a follow-up, as pieces; answerers without a model have none."""
        return iter(())

    def close(self) -> None:
        """Release network clients."""
