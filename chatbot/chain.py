"""The LangChain part: prompts from prompts/, condense and answer as runnables, streamed.

Passages go into the prompt numbered [1]..[k] as data. Sentences that read
like instructions to a model are replaced by a placeholder before the model
sees them; the answer is still checked for them afterwards (chatbot.verify).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from functools import lru_cache

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder

from chatbot.backends.base import LLMBackend
from chatbot.errors import BackendError, BackendUnavailableError
from chatbot.query import looks_like_injection
from chatbot.settings import PROJECT_ROOT, Settings
from chatbot.textutil import split_sentences
from chatbot.types import Message, Passage

logger = logging.getLogger(__name__)
PROMPTS = PROJECT_ROOT / "prompts"


@lru_cache(maxsize=8)
def load_prompt(name: str) -> str:
    return (PROMPTS / name).read_text(encoding="utf-8")


def format_passages(passages: list[Passage]) -> str:
    blocks = []
    for n, p in enumerate(passages, start=1):
        text = "".join(
            "[已移除疑似指令文本 / removed instruction-like text]" if looks_like_injection(p.text[s:e]) else p.text[s:e]
            for s, e in split_sentences(p.text)
        )
        page = f"，第{p.page}版" if p.page else ""
        section = " › ".join(
            "[已移除疑似指令文本]" if looks_like_injection(part) else part for part in p.section.split(" › ")
        )
        blocks.append(f"[{n}] ({section}{page})\n{text}")
    return "\n\n".join(blocks)


def _history(messages: list[Message]) -> list[tuple[str, str]]:
    return [("human" if m.role == "user" else "ai", m.content) for m in messages]


def _run(backend: LLMBackend, runnable, inputs: dict) -> Iterator[str]:
    started = False
    deadline = time.monotonic() + backend.settings.request_timeout
    stream = runnable.stream(inputs)
    try:
        for piece in stream:
            if piece:
                started = True
                yield piece
            if time.monotonic() > deadline:
                _abandon(backend, stream)
                raise BackendUnavailableError(
                    backend.name,
                    f"The answer took longer than {backend.settings.request_timeout:g} s.",
                    fix="Raise CHATBOT_REQUEST_TIMEOUT or use a faster model.",
                )
    except BackendError:
        raise
    except Exception as exc:  # noqa: BLE001 - each backend translates its client's errors
        raise backend.translate(exc, started=started) from exc


def _abandon(backend: LLMBackend, stream) -> None:
    """Stop a stream now: closing the client drops the connection, so the stream's cleanup
    fails fast instead of reading the rest of the model's output."""
    backend.close()
    try:
        stream.close()
    except Exception:  # noqa: BLE001 - the connection is gone on purpose
        logger.debug("abandoned stream of %s closed with an error", backend.name)


def generate(backend: LLMBackend, question: str, passages: list[Passage], history: list[Message], settings: Settings) -> Iterator[str]:
    title = passages[0].title if passages else "政府工作报告"
    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", load_prompt("answer_system.md")),
            MessagesPlaceholder("history"),
            ("human", load_prompt("answer_user.md")),
        ]
    )
    runnable = prompt | backend.chat_model() | StrOutputParser()
    yield from _run(backend, runnable, {"title": title, "history": _history(history), "passages": format_passages(passages), "question": question})


def stream_messages(backend: LLMBackend, messages: list[dict[str, str]]) -> Iterator[str]:
    runnable = backend.chat_model() | StrOutputParser()
    yield from _run(backend, runnable, [(m["role"], m["content"]) for m in messages])  # type: ignore[arg-type]


def condense_with_llm(backend: LLMBackend, question: str, history: list[Message], *, fallback: str) -> tuple[str, str | None]:
    """The model's standalone question, or the rule-based one if the model fails."""
    prompt = ChatPromptTemplate.from_template(load_prompt("condense.md"))
    runnable = prompt | backend.chat_model() | StrOutputParser()
    lines = "\n".join(f"{m.role}: {m.content}" for m in history)
    try:
        text = "".join(_run(backend, runnable, {"history": lines, "question": question})).strip()
    except BackendError as exc:
        return fallback, f"{exc} The question was rewritten without the model."
    text = text.splitlines()[0].strip() if text else ""
    if not text or len(text) > 4 * max(len(question), 50):
        return fallback, None
    return text, None
