"""The model answerer: prompts from prompts/, the LangChain chain, streamed through a backend.

Passages go into the prompt numbered [1]..[k] as data. Sentences that read like
instructions to a model are replaced by a placeholder before the model sees them;
the answer is still checked for them afterwards (chatbot.answer.verify). When the passages
do not answer, the prompt asks for one fixed line, `NO_ANSWER`: a refusal is then
recognised by that structure, not by guessing at the model's phrasing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import lru_cache

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder

from chatbot.answer.backends.base import LLMBackend
from chatbot.answer.contract import Answerer, AnswerRequest, Draft
from chatbot.answer.extractive import refusal_text
from chatbot.question.query import looks_like_injection
from chatbot.settings import PROJECT_ROOT
from chatbot.textutil import split_sentences
from chatbot.types import Message, Passage

logger = logging.getLogger(__name__)
PROMPTS = PROJECT_ROOT / "prompts"
REFUSAL_LINE = "NO_ANSWER"
_REMOVED = "[已移除疑似指令文本 / removed instruction-like text]"


@lru_cache(maxsize=8)
def load_prompt(name: str) -> str:
    return (PROMPTS / name).read_text(encoding="utf-8")


def format_passages(passages: list[Passage]) -> str:
    blocks = []
    for n, p in enumerate(passages, start=1):
        text = "".join(_REMOVED if looks_like_injection(p.text[s:e]) else p.text[s:e] for s, e in split_sentences(p.text))
        page = f"，第{p.page}版" if p.page else ""
        section = " › ".join("[已移除疑似指令文本]" if looks_like_injection(part) else part for part in p.section.split(" › "))
        blocks.append(f"[{n}] ({section}{page})\n{text}")
    return "\n\n".join(blocks)


def _history(messages: list[Message]) -> list[tuple[str, str]]:
    return [("human" if m.role == "user" else "ai", m.content) for m in messages]


def is_refusal_line(text: str) -> bool:
    """The model answered with the prompt's refusal line (alone, or first, bracketed or not)."""
    first = text.strip().splitlines()[0].strip(" `*[]()【】。.:：") if text.strip() else ""
    return first.upper().startswith(REFUSAL_LINE)


class LLMAnswerer(Answerer):
    """Answers through a chat model; the core checks every sentence it writes."""

    calls_model = True

    def __init__(self, backend: LLMBackend) -> None:
        self.backend = backend
        self.name = backend.name
        self.model = backend.model

    def answer(self, request: AnswerRequest) -> Iterator[str | Draft]:
        title = request.passages[0].title if request.passages else "政府工作报告"
        prompt = ChatPromptTemplate.from_messages(
            [("system", load_prompt("answer_system.md")), MessagesPlaceholder("history"), ("human", load_prompt("answer_user.md"))]
        )
        runnable = prompt | self.backend.chat_model() | StrOutputParser()
        inputs = {
            "title": title,
            "refusal_line": REFUSAL_LINE,
            "history": _history(request.history),
            "passages": format_passages(request.passages),
            "question": request.question,
        }
        pieces: list[str] = []
        for piece in self.backend.run(runnable, inputs):
            pieces.append(piece)
            yield piece
        text = "".join(pieces).strip()
        if is_refusal_line(text):
            yield Draft(refusal_text(request.question, "not_covered"), refused=True, reason="model_declined")
        else:
            yield Draft(text)

    def rewrite(self, question: str, history: list[Message]) -> Iterator[str]:
        prompt = ChatPromptTemplate.from_template(load_prompt("condense.md"))
        runnable = prompt | self.backend.chat_model() | StrOutputParser()
        lines = "\n".join(f"{m.role}: {m.content}" for m in history)
        yield from self.backend.run(runnable, {"history": lines, "question": question})

    def close(self) -> None:
        self.backend.close()
