"""The chatbot core: question (+history) → condense → retrieve → answer → verify.

UI-free. The CLI, the Streamlit app and the evaluation all call `Chatbot`.
`stream()` yields events as the answer is produced; `ask()` collects them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from chatbot.backends import Backend, get_backend
from chatbot.embedders import Embedder, get_embedder
from chatbot.errors import BackendError, InputError, StoreNotReadyError
from chatbot.extractive import extract, refusal_text
from chatbot.query import condense, normalize_question, resolve_relative_years
from chatbot.retrieval import Mode, Retriever
from chatbot.scope import other_city_message, out_of_scope
from chatbot.settings import Settings, get_settings
from chatbot.store import ingest_running
from chatbot.textutil import is_english
from chatbot.types import Answer, Message, Passage
from chatbot.verify import verify

logger = logging.getLogger(__name__)


@dataclass
class Event:
    """kind: "standalone" (the rewritten question), "passages", "token", "notice", "answer"."""

    kind: Literal["standalone", "passages", "token", "notice", "answer"]
    data: object


class Chatbot:
    def __init__(self, settings: Settings | None = None, *, embedder: Embedder | None = None, retriever: Retriever | None = None) -> None:
        self.settings = settings or get_settings()
        self.embedder = embedder or get_embedder(self.settings)
        self.retriever = retriever or Retriever(self.settings, self.embedder)
        self._backends: dict[tuple[str, str | None], Backend] = {}
        self._lock = threading.Lock()

    # --- validation -------------------------------------------------------
    def validate(self, question: object, k: int | None, history: list | None) -> tuple[str, int, list[Message]]:
        if not isinstance(question, str):
            raise InputError("The question must be text.")
        text = normalize_question(question)
        if not text:
            raise InputError("请输入一个问题。 (The question is empty.)")
        limit = self.settings.max_question_chars
        if len(text) > limit:
            raise InputError(
                f"问题太长（{len(text)} 字），请缩短到 {limit} 字以内。 (The question has {len(text)} characters; the limit is {limit}.)"
            )
        k = self.settings.top_k if k is None else k
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= self.settings.max_top_k:
            raise InputError(f"k must be a whole number from 1 to {self.settings.max_top_k}.")
        messages: list[Message] = []
        if history is not None and not isinstance(history, (list, tuple)):
            raise InputError('History must be a list of {"role": "user"|"assistant", "content": str} objects.')
        for item in history or []:
            try:
                message = item if isinstance(item, Message) else Message.model_validate(item)
            except Exception as exc:  # noqa: BLE001 - pydantic's error is for developers
                raise InputError(
                    'History must be a list of {"role": "user"|"assistant", "content": str} objects.'
                ) from exc
            messages.append(Message(role=message.role, content=normalize_question(message.content)[: limit * 4]))
        return text, k, messages[-2 * self.settings.max_history_turns :] if self.settings.max_history_turns else []

    def _base_year(self, question: str) -> int:
        """今年 in "常德今年…" means the year of 常德's report when the store holds one city's report(s)."""
        documents = self.retriever.documents
        if len(documents) > 1:
            from chatbot.routing import named_cities

            cities = named_cities(question, documents)
            if len(cities) == 1:
                years = [int(m["year"]) for m in documents.values() if m.get("city") == cities[0] and m.get("year")]
                if years:
                    return max(years)
        return self.settings.report_year

    def backend(self, name: str | None = None, model: str | None = None) -> Backend:
        key = (name or self.settings.backend, model)
        with self._lock:
            if key not in self._backends:
                self._backends[key] = get_backend(key[0], self.settings, model)
            return self._backends[key]

    def close(self) -> None:
        with self._lock:
            for backend in self._backends.values():
                backend.close()
            self._backends.clear()
        close_store = getattr(self.retriever.store, "close", None)
        if close_store is not None:
            close_store()

    # --- answering --------------------------------------------------------
    def retrieve(
        self, question: str, k: int, *, mode: Mode = "hybrid", where: dict | None = None, context: str | None = None
    ) -> list[Passage]:
        return self.retriever.search(question, k, mode=mode, where=where, context=context)

    def search(
        self, standalone: str, history: list[Message], k: int, *, mode: Mode = "hybrid", where: dict | None = None
    ) -> list[Passage]:
        """The passages for a standalone question within a conversation.

        The previous question is a BM25 hint at half weight: a follow-up the rules could not
        rewrite ("从中央和省里争取到多少？" after a question on science funding) still
        leans on its topic, and a question that names a new topic outweighs it.
        """
        previous = next((m.content for m in reversed(history) if m.role == "user"), None)
        return self.retrieve(standalone, k, mode=mode, where=where, context=previous)

    def stream(
        self,
        question: str,
        history: list | None = None,
        *,
        k: int | None = None,
        backend: str | None = None,
        model: str | None = None,
        mode: Mode = "hybrid",
        where: dict | None = None,
    ) -> Iterator[Event]:
        started = time.perf_counter()
        text, k, messages = self.validate(question, k, history)
        chosen = self.backend(backend, model)
        warnings: list[str] = []
        if ingest_running(self.settings.data_dir):
            warnings.append("An ingest is running; answers come from the last complete ingest.")
        standalone = condense(text, messages)
        if chosen.is_llm and messages:
            from chatbot.chain import condense_with_llm

            standalone, note = condense_with_llm(chosen, text, messages, fallback=standalone)
            if note:
                warnings.append(note)
        # 今年/去年 mean the report's year, not today; the user sees how they were read.
        standalone = resolve_relative_years(standalone, self._base_year(standalone))
        yield Event("standalone", standalone)
        if where is None:  # many reports: a question naming a city/year searches that report only
            from chatbot.routing import describe, route

            where = route(standalone, self.retriever.documents)
            if where:
                warnings.append(describe(where))
                yield Event("notice", warnings[-1])
        passages = self.search(standalone, messages, k, mode=mode, where=where)
        yield Event("passages", passages)

        answer_text, refused, fallback = "", False, False
        scope = out_of_scope(standalone, self.retriever.documents, passages)
        if scope:
            refused = True
            if scope == "other_city":
                answer_text = other_city_message(standalone, self.retriever.documents, passages, is_english(standalone))
            else:
                answer_text = refusal_text(standalone, scope)
            yield Event("token", answer_text)
        if not scope and chosen.is_llm:
            from chatbot.chain import generate

            pieces: list[str] = []
            try:
                for piece in generate(chosen, standalone, passages, messages, self.settings):
                    pieces.append(piece)
                    yield Event("token", piece)
                answer_text = "".join(pieces).strip()
                if not answer_text:
                    raise BackendError(chosen.name, "The model returned an empty answer.")
            except BackendError as exc:
                logger.warning("backend %s failed: %s", chosen.name, exc)
                warnings.append(f"{exc} Showing the offline extractive answer instead.")
                yield Event("notice", warnings[-1])
                fallback = True
        if not scope and (fallback or not chosen.is_llm):
            extraction = extract(standalone, passages, self.retriever.idf, self.retriever.expansion_terms(standalone))
            answer_text, refused = extraction.text, extraction.refused
            if not fallback:
                yield Event("token", answer_text)

        result = verify(answer_text, passages)
        if chosen.is_llm and not fallback and not scope:
            refused = _is_refusal(result.answer)
            if result.injected:
                extraction = extract(standalone, passages, self.retriever.idf, self.retriever.expansion_terms(standalone))
                warnings.extend(result.warnings)
                result = verify(extraction.text, passages)
                refused, fallback = extraction.refused, True
                warnings.append("Showing the offline extractive answer instead.")
                yield Event("notice", warnings[-1])
        warnings.extend(w for w in result.warnings if w not in warnings)
        answer = Answer(
            question=text,
            standalone_question=standalone,
            answer=_cap(result.answer or refusal_text(standalone, "not_covered"), self.settings.max_answer_chars, warnings),
            refused=refused,
            backend=chosen.name,
            model=chosen.model,
            fallback=fallback,
            citations=result.citations,
            sentences=result.sentences,
            contexts=passages,
            warnings=warnings,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
        yield Event("answer", answer)

    def ask(self, question: str, history: list | None = None, **kwargs: object) -> Answer:
        for event in self.stream(question, history, **kwargs):  # type: ignore[arg-type]
            if event.kind == "answer":
                return event.data  # type: ignore[return-value]
        raise RuntimeError("the answer stream ended without an answer")  # pragma: no cover


_REFUSAL_MARKERS = ("没有找到", "没有提到", "未提及", "没有涉及", "没有给出", "无法回答", "does not cover", "does not mention", "not covered", "no information")


def _is_refusal(text: str) -> bool:
    return any(marker in text for marker in _REFUSAL_MARKERS) and "[" not in text


def _cap(text: str, limit: int, warnings: list[str]) -> str:
    if len(text) <= limit:
        return text
    warnings.append(f"The answer was cut at {limit} characters.")
    cut = text[:limit]
    # end on a sentence, and never inside a citation marker such as "[1"
    boundary = max(cut.rfind(mark) for mark in "。！？；.!?")
    if boundary >= limit // 2:
        cut = cut[: boundary + 1]
    elif "[" in cut[-4:]:
        cut = cut[: cut.rfind("[")]
    return cut + "…"


def open_chatbot(settings: Settings | None = None, *, auto_ingest: bool = True, progress: bool = False) -> Chatbot:
    """A ready Chatbot; on a fresh install the seeds are ingested first."""
    settings = settings or get_settings()
    embedder = get_embedder(settings)
    try:
        return Chatbot(settings, embedder=embedder)
    except StoreNotReadyError:
        if not auto_ingest or not settings.seeds_dir.is_dir():
            raise
        from ingest.pipeline import ingest

        logger.warning("no store yet: ingesting %s", settings.seeds_dir)
        ingest([settings.seeds_dir], settings, progress=progress, embedder=embedder)
        return Chatbot(settings, embedder=embedder)
